"""Every table's suite, by layer. Later layers add their module here."""

from __future__ import annotations

from quality.suite import Suite
from quality.suites.marts import MARTS_SUITES
from quality.suites.ml import ML_SUITES
from quality.suites.ops import OPS_SUITES
from quality.suites.raw import RAW_SUITES
from quality.suites.video import VIDEO_SUITES

SUITES: list[Suite] = [*RAW_SUITES, *VIDEO_SUITES, *OPS_SUITES, *MARTS_SUITES, *ML_SUITES]


def suite_for(table: str) -> Suite:
    for suite in SUITES:
        if suite.table == table:
            return suite
    raise KeyError(f"no quality suite for {table}; add one in quality/suites/")
