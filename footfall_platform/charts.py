"""Charts as PNG bytes, drawn off-screen, for asset metadata in the UI and for reports.

matplotlib's Agg canvas is used directly (no pyplot), so drawing never needs a display, never
touches pyplot's global figure registry from Dagster's worker threads, and a figure is freed as
soon as its bytes are written.
"""

from __future__ import annotations

import base64
import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float = 10.0, height: float = 4.5) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def markdown_image(png: bytes, alt: str = "chart") -> str:
    """Markdown that shows the PNG inline (what Dagster's ``MetadataValue.md`` renders)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"
