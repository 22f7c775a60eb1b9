"""Retention as an asset: personal data older than the configured periods is erased after loads.

The periods come from FOOTFALL_RETENTION_DAYS and FOOTFALL_QUARANTINE_RETENTION_DAYS through the
`retention_periods` resource; unset, nothing is erased (the demo keeps everything). What is
erased and how is the engine's business: footfall_platform/operations/retention.py and
docs/operations.md.
Each materialization records, in the UI and in ops.retention_log, what it erased and the cutoffs.
"""

import dagster as dg

from assets.raw import raw_key
from footfall_platform.operations.retention import RetentionPolicy, enforce_retention
from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.settings import Settings
from footfall_platform.warehouse.inspect import markdown_table


class RetentionPeriods(dg.ConfigurableResource):
    """How long personal data and quarantined rows are kept, in days (None: forever)."""

    retention_days: int | None = None
    quarantine_retention_days: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "RetentionPeriods":
        return cls(
            retention_days=settings.retention_days,
            quarantine_retention_days=settings.quarantine_retention_days,
        )

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(self.retention_days, self.quarantine_retention_days)


RETENTION_KEY = dg.AssetKey(["ops", "retention"])


@dg.asset(
    key=RETENTION_KEY,
    group_name="ingest",
    kinds={"duckdb"},
    pool=WRITER_POOL,
    deps=[raw_key("members"), raw_key("transactions"), dg.AssetKey(["ops", "quarantine"])],
    owners=["team:data"],
    tags={"layer": "ops"},
    description="Erases personal data older than FOOTFALL_RETENTION_DAYS: deletes inactive "
    "members' profiles from raw.members, removes member_key from older till lines "
    "(raw.transactions, marts.fct_baskets); deletes ops.quarantine rows older than "
    "FOOTFALL_QUARANTINE_RETENTION_DAYS. Off unless configured. Every erasure is counted per "
    "source file in ops.retention_log, so the ingest ledger still adds up.",
)
def retention_asset(
    warehouse: FootfallWarehouse, retention_periods: RetentionPeriods
) -> dg.MaterializeResult:
    policy = retention_periods.policy()
    with warehouse.connect() as con:
        result = enforce_retention(con, policy)
        logged = con.execute("SELECT count(*) FROM ops.retention_log").fetchone()[0]
    rows = [(table, action, n) for (table, action), n in sorted(result.rows.items())]
    cutoffs = {
        "personal_cutoff": result.personal_cutoff,
        "quarantine_cutoff": result.quarantine_cutoff,
    }
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(logged),
            "retention_days": policy.personal_days or "off",
            "quarantine_retention_days": policy.quarantine_days or "off",
            **{k: dg.MetadataValue.text(v.isoformat() if v else "off") for k, v in cutoffs.items()},
            **{f"{action}/{table}": dg.MetadataValue.int(n) for table, action, n in rows},
            "erased": dg.MetadataValue.md(
                markdown_table(["table", "action", "rows"], rows) if rows else "nothing"
            ),
        }
    )
