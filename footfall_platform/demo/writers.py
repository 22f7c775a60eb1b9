"""Writing the landing zone the way a careful sender does, and keeping count.

Every file is written under a `.tmp` name and renamed when complete (the contract ignores `.tmp`
files), so a loader watching the folder never sees half a file. Gzip output uses a fixed mtime
so a seed gives identical bytes on every run. Rows written per file are recorded for truth.json.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import polars as pl


class Landing:
    """The `landing/` folder being filled, with a ledger of what was written."""

    def __init__(self, out: Path) -> None:
        self.root = out / "landing"
        self.files: dict[str, dict] = {}

    def _put(self, rel: str, data: bytes, *, source: str, rows: int, fmt: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self.files[rel] = {"source": source, "format": fmt, "rows": rows, "bytes": len(data)}

    def csv(
        self,
        rel: str,
        frame: pl.DataFrame,
        *,
        source: str,
        crlf_bom: bool = False,
        float_precision: int | None = 2,
    ) -> None:
        """A CSV file; `.csv.gz` names are gzip-compressed."""
        buf = io.BytesIO()
        frame.write_csv(
            buf,
            include_bom=crlf_bom,
            line_terminator="\r\n" if crlf_bom else "\n",
            float_precision=float_precision,
        )
        data = buf.getvalue()
        fmt = "csv"
        if rel.endswith(".gz"):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            fmt = "csv.gz"
        self._put(rel, data, source=source, rows=frame.height, fmt=fmt)

    def parquet(self, rel: str, frame: pl.DataFrame, *, source: str) -> None:
        """A Parquet file (statistics off: fewer bytes that could vary between writers)."""
        buf = io.BytesIO()
        frame.write_parquet(buf, compression="zstd", statistics=False)
        self._put(rel, buf.getvalue(), source=source, rows=frame.height, fmt="parquet")

    def raw(self, rel: str, data: bytes, *, source: str, rows: int) -> None:
        """Bytes written as they are (the deliberately bad inputs)."""
        fmt = "csv.gz" if rel.endswith(".gz") else rel.rsplit(".", 1)[-1]
        self._put(rel, data, source=source, rows=rows, fmt=fmt)

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()
