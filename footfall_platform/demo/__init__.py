"""The demo world: a deterministic landing zone of a store chain with planted, documented truths.

`generate_world(out, scale=...)` writes `out/landing/<source>/...` following the landing-zone
contract (plus deliberately bad inputs) and `out/truth.json` with everything that was planted.
"""

from .world import SCALES, Scale, generate_world

__all__ = ["SCALES", "Scale", "generate_world"]
