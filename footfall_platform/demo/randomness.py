"""One independent random stream per part of the world.

Each component (and each store inside it) draws from its own stream keyed by the seed, so adding a
draw to one part never shifts the numbers of another: the bytes of a file only change when the
code that makes that file changes.
"""

from __future__ import annotations

import numpy as np

STORES = 1
CALENDAR = 2
CATALOGUE = 3
MEMBERS = 4
FOOTFALL = 5
SALES = 6
RFID = 7
BAD_INPUTS = 8
TASTES = 9  # members' tastes
TASTE_LINES = 10  # which lines follow the taste, per store


def rng_for(seed: int, component: int, *keys: int) -> np.random.Generator:
    """A generator for (seed, component, keys...): stable across runs and machines."""
    return np.random.default_rng(np.random.SeedSequence([seed, component, *keys]))
