"""The one factory that turns a suite into a blocking Dagster asset check.

A failed ERROR rule makes the check fail with ERROR severity, which stops every downstream asset
in the same run (and, through `all_deps_blocking_checks_passed`, in later automated runs); WARN
rules fail with WARN severity and let downstream run. The metadata carries every rule's outcome
with up to 20 redacted examples and a link to the run's HTML report.
"""

from pathlib import Path

import dagster as dg

from footfall_platform.orchestration.resources import WRITER_POOL, FootfallWarehouse
from footfall_platform.warehouse.inspect import markdown_table
from quality.report import write_report
from quality.suite import Suite
from quality.suites import SUITES
from quality.validate import validate_suite

OUTCOME_COLUMNS = ["rule", "severity", "outcome", "observed", "unexpected", "examples", "why"]


def build_suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(list(suite.asset_key)),
        name=suite.check_name,
        blocking=True,
        pool=WRITER_POOL,  # reads the warehouse file, which a writer in another process locks
        description=f"Great Expectations contract of `{suite.table}` ({len(suite.rules)} rules, "
        f"quality/suites/): {suite.purpose}",
        metadata={"suite": suite.table, "rules": len(suite.rules)},
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: FootfallWarehouse
    ) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            outcome = validate_suite(con, suite)
        report = write_report(outcome, Path(warehouse.reports_path) / context.run.run_id)
        failed = outcome.blocking_failures + outcome.warnings
        for o in failed:
            context.log.warning(f"[{o.rule.severity.value}] {suite.table}: {o.rule.name}: "
                                f"observed {o.as_row()['observed']}")  # fmt: skip
        rows = [[o.as_row()[c] for c in OUTCOME_COLUMNS] for o in (failed or outcome.outcomes)]
        return dg.AssetCheckResult(
            passed=outcome.passed,
            severity=(
                dg.AssetCheckSeverity.ERROR
                if outcome.blocking_failures
                else dg.AssetCheckSeverity.WARN
            ),
            description=outcome.summary(),
            metadata={
                "rules": dg.MetadataValue.int(len(outcome.outcomes)),
                "errors": dg.MetadataValue.int(len(outcome.blocking_failures)),
                "warnings": dg.MetadataValue.int(len(outcome.warnings)),
                "seconds": dg.MetadataValue.float(round(outcome.seconds, 3)),
                ("failed_rules" if failed else "rules_passed"): dg.MetadataValue.md(
                    markdown_table(OUTCOME_COLUMNS, rows)
                ),
                "report": dg.MetadataValue.path(str(report)),
                "report_url": dg.MetadataValue.url(report.as_uri()),
            },
        )

    return _check


QUALITY_CHECKS = [build_suite_check(suite) for suite in SUITES]


def with_quality_kind(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Show the Great Expectations kind on every asset a suite validates, so the UI's catalogue
    says at a glance which tables have a contract (all of them, once every issue adds its suite)."""
    checked = {k.asset_key for check in QUALITY_CHECKS for k in check.check_keys}
    return [
        a.map_asset_specs(
            lambda spec: spec.merge_attributes(kinds={"great_expectations"})
            if spec.key in checked else spec
        )
        for a in assets
    ]  # fmt: skip
