"""Contracts of the model outputs in the ml schema: what CRM, BI and planners may rely on."""

from __future__ import annotations

from quality.rules import (
    WARN,
    Rule,
    between,
    columns_are,
    no_rows_where,
    not_null,
    one_of,
    unique,
)
from quality.suite import Suite

SHAPE_WHY = "Consumers (BI, CRM exports, the UI) read these columns by name and type."
COMPARISON_KPIS_WHY = "Each group, KPI and level appears once."


def _shape(columns: str) -> list[Rule]:
    """Columns written as 'name TYPE, name TYPE, ...' — one line per table reads like DDL."""
    pairs = [c.strip().rsplit(" ", 1) for c in columns.split(",")]
    return columns_are([(name, sql_type) for name, sql_type in pairs], why=SHAPE_WHY)


def _comparison(table: str, group: str) -> Suite:
    return Suite(
        table,
        tuple(table.split(".")),
        f"KPIs per {group} side by side with the whole, with corrected significance tests.",
        rules=(
            *_shape(f"{group} VARCHAR, kpi VARCHAR, level VARCHAR, unit VARCHAR, n BIGINT, "
                    "value DOUBLE, whole DOUBLE, rest DOUBLE, difference DOUBLE, "
                    "relative_difference DOUBLE, prob_superiority DOUBLE, test VARCHAR, "
                    "p_value DOUBLE, p_adjusted DOUBLE, significant BOOLEAN"),
            unique(group, "kpi", "level", why=COMPARISON_KPIS_WHY),
            between("p_value", 0, 1, why="A p-value is a probability."),
            between("p_adjusted", 0, 1, why="A corrected p-value is a probability."),
            no_rows_where("correction never lowers a p-value", "p_adjusted < p_value - 1e-12",
                          columns=("p_value", "p_adjusted"),
                          why="Multiple-testing correction can only raise p-values."),
            no_rows_where("a test exactly when a p-value", "(test IS NULL) <> (p_value IS NULL)",
                          columns=("test", "p_value"),
                          why="Every p-value names the test that produced it."),
        ),
    )  # fmt: skip


ML_SUITES = [
    Suite(
        "ml.customer_segments",
        ("ml", "customer_segments"),
        "Every member's segment: CRM targeting and the segment comparison read it.",
        rules=(
            *_shape("member_key VARCHAR, segment VARCHAR, segment_id INTEGER"),
            *not_null("member_key", "segment", "segment_id", why="Every member has a segment."),
            unique("member_key", why="A member is in exactly one segment."),
            no_rows_where("every customer is segmented", "true", dataset="unsegmented",
                          columns=("member_key",),
                          why="Every member of marts.dim_customer gets a segment."),
            unique("segment_id", dataset="names",
                   why="One name per segment id, so labels read the same in every report."),
        ),
        datasets={
            "unsegmented": "SELECT member_key FROM marts.dim_customer "
            "EXCEPT SELECT member_key FROM ml.customer_segments",
            "names": "SELECT DISTINCT segment_id, segment FROM ml.customer_segments",
        },
        private_columns=("member_key",),
    ),
    Suite(
        "ml.segment_profiles",
        ("ml", "segment_profiles"),
        "One row per segment: size, revenue share and centroid features.",
        rules=(
            *_shape("segment VARCHAR, segment_id INTEGER, size BIGINT, member_share DOUBLE, "
                    "revenue DOUBLE, revenue_share DOUBLE, mean_recency_days DOUBLE, "
                    "mean_frequency DOUBLE, mean_monetary DOUBLE, mean_avg_basket_value DOUBLE, "
                    "mean_tenure_days DOUBLE, mean_units DOUBLE, mean_return_rate DOUBLE, "
                    "mean_distinct_categories DOUBLE, mean_weekend_share DOUBLE"),
            unique("segment_id", why="One profile per segment."),
            between("size", 1, None, why="An empty segment is not a segment."),
            between("total_share", 0.999, 1.001, dataset="totals",
                    why="Member shares add up to everyone."),
            between("members", 0, 0, dataset="size_gap",
                    why="Segment sizes add up to the segmented members."),
        ),
        datasets={
            "totals": "SELECT sum(member_share) AS total_share FROM ml.segment_profiles",
            "size_gap": "SELECT abs((SELECT sum(size) FROM ml.segment_profiles) - "
            "(SELECT count(*) FROM ml.customer_segments)) AS members",
        },
    ),  # fmt: skip
    _comparison("ml.segment_comparison", "segment"),
    _comparison("ml.store_comparison", "store_id"),
    Suite(
        "ml.anomalies",
        ("ml", "anomalies"),
        "Unusual store-days and store-hours, and data-quality alarms, with expected vs actual.",
        rules=(
            *_shape("store_id VARCHAR, local_date DATE, local_hour INTEGER, grain VARCHAR, "
                    "metric VARCHAR, kind VARCHAR, check VARCHAR, subject VARCHAR, "
                    "expected DOUBLE, actual DOUBLE, score DOUBLE, detail VARCHAR"),
            unique("store_id", "local_date", "local_hour", "metric", "subject",
                   why="An alarm is raised once."),
            one_of("kind", ["drop", "outage", "spike"], why="The documented kinds of alarm."),
            one_of("check", ["camera_missing", "camera_zero_while_selling", "model",
                             "reader_silent"], why="The documented checks."),
            no_rows_where("hour only for hourly alarms", "(local_hour IS NULL) <> (grain = 'day')",
                          columns=("grain", "local_hour"),
                          why="Day alarms have no hour; hour alarms have one."),
            no_rows_where("spikes above, drops below expected",
                          "\"check\" = 'model' AND ((kind = 'spike' AND actual <= expected) OR "
                          "(kind = 'drop' AND actual >= expected))",
                          columns=("kind", "expected", "actual"),
                          why="A spike is more than expected, a drop less."),
            between("alarm_share", 0, 0.05, severity=WARN, dataset="alarm_rate",
                    why="Alarms on more than 5% of store-days are noise, not news."),
        ),
        datasets={"alarm_rate": """
            SELECT count(DISTINCT (store_id, local_date)) FILTER (WHERE "check" = 'model')
                   / greatest((SELECT count(*) FROM marts.fct_footfall_daily), 1) AS alarm_share
            FROM ml.anomalies
        """},
    ),  # fmt: skip
    Suite(
        "ml.association_rules",
        ("ml", "association_rules"),
        "Products bought together: antecedent -> consequent with support, confidence and lift.",
        rules=(
            *_shape("antecedent VARCHAR[], consequent VARCHAR[], antecedent_support DOUBLE, "
                    "consequent_support DOUBLE, support DOUBLE, confidence DOUBLE, lift DOUBLE, "
                    "leverage DOUBLE, conviction DOUBLE, count BIGINT"),
            unique("antecedent", "consequent", why="A rule is listed once."),
            between("support", 0, 1, why="Support is a share of baskets."),
            between("confidence", 0, 1, why="Confidence is a conditional probability."),
            between("lift", 0, None, why="Lift is a ratio of probabilities."),
            no_rows_where("antecedent and consequent disjoint",
                          "len(list_intersect(antecedent, consequent)) > 0",
                          columns=("antecedent", "consequent"),
                          why="A product cannot predict itself."),
        ),
    ),  # fmt: skip
    Suite(
        "ml.recommendations",
        ("ml", "recommendations"),
        "Top products per member (hybrid of ALS and content; popular items for cold starts).",
        rules=(
            *not_null("member_key", "rank", "sku", "score", "source",
                      why="A recommendation names a member, a rank, a product and a score."),
            unique("member_key", "sku", why="A product is recommended to a member once."),
            unique("member_key", "rank", why="One product per rank."),
            between("rank", 1, 20, why="Top 20 per member."),
            one_of("source", ["als", "content", "hybrid", "popular"],
                   why="Where each recommendation came from, as documented."),
            no_rows_where("scores are finite", "NOT isfinite(score)", columns=("score",),
                          why="A NaN or infinite score breaks every ranking downstream."),
            no_rows_where("ranks without gaps", "true", dataset="rank_gaps",
                          columns=("member_key",),
                          why="Ranks run 1..n with no gaps, so 'top 5' means five products."),
            no_rows_where("every SKU in the catalogue", "true", dataset="unknown_sku",
                          columns=("sku",), why="A CRM cannot send a product it cannot show."),
        ),
        datasets={
            "rank_gaps": "SELECT member_key, count(*) AS n, max(rank) AS top "
            "FROM ml.recommendations GROUP BY member_key HAVING max(rank) <> count(*)",
            "unknown_sku": "SELECT DISTINCT sku FROM ml.recommendations "
            "WHERE sku NOT IN (SELECT sku FROM marts.dim_product)",
        },
        private_columns=("member_key",),
    ),
    Suite(
        "ml.similar_products",
        ("ml", "similar_products"),
        "For every product, the most similar products by their text (TF-IDF cosine).",
        rules=(
            *not_null("sku", "rank", "similar_sku", "score", why="Every pair is complete."),
            unique("sku", "rank", why="One product per rank."),
            unique("sku", "similar_sku", why="A pair is listed once."),
            no_rows_where("a product is not similar to itself", "sku = similar_sku",
                          columns=("sku", "similar_sku"), why="Self-pairs waste a slot."),
            between("score", 0, 1, why="Cosine similarity of non-negative TF-IDF lies in [0, 1]."),
            no_rows_where("every SKU in the catalogue", "true", dataset="unknown_sku",
                          columns=("sku",), why="Similar products must exist in the catalogue."),
        ),
        datasets={"unknown_sku": "SELECT sku FROM ml.similar_products UNION "
                  "SELECT similar_sku FROM ml.similar_products EXCEPT "
                  "SELECT sku FROM marts.dim_product"},
    ),
    Suite(
        "ml.model_evaluation",
        ("ml", "model_evaluation"),
        "Validation figures of every model family (forecast, propensity, recommend).",
        rules=(
            *_shape("model_family VARCHAR, model VARCHAR, segment VARCHAR, metric VARCHAR, "
                    "value DOUBLE, evaluated_at TIMESTAMPTZ"),
            *not_null("model_family", "model", "segment", "metric", "evaluated_at",
                      why="A figure says which model, what about and which metric."),
            one_of("model_family", ["forecast", "propensity", "recommend"],
                   why="The model families that report here."),
            unique("model_family", "model", "segment", "metric",
                   why="One figure per model, segment and metric."),
            no_rows_where("values are finite", "value IS NOT NULL AND NOT isfinite(value)",
                          columns=("value",), why="A NaN figure hides a broken evaluation."),
        ),
    ),
    Suite(
        "ml.forecasts",
        ("ml", "forecasts"),
        "Daily footfall and net sales forecasts per store with 80% and 95% intervals.",
        rules=(
            *not_null("series_id", "target", "date", "model", "yhat", "lo80", "hi80", "lo95",
                      "hi95", "is_champion", why="A forecast needs its series, day and bounds."),
            unique("target", "series_id", "model", "date", why="One forecast per model and day."),
            one_of("target", ["footfall", "net_sales"], why="The forecast targets."),
            one_of("model", ["ensemble", "lightgbm", "prophet", "seasonal_naive"],
                   why="The documented models."),
            no_rows_where("intervals nest around the forecast",
                          "NOT (lo95 <= lo80 AND lo80 <= yhat AND yhat <= hi80 AND hi80 <= hi95)",
                          columns=("lo95", "lo80", "yhat", "hi80", "hi95"),
                          why="lo95 <= lo80 <= yhat <= hi80 <= hi95, or the bands mislead."),
            no_rows_where("footfall is never negative",
                          "target = 'footfall' AND (yhat < 0 OR lo95 < 0)",
                          columns=("yhat", "lo95"), why="People cannot leave before entering."),
            no_rows_where("one champion per series", "true", dataset="champions",
                          columns=("series_id",),
                          why="Planners read the champion; two or none is ambiguous."),
            no_rows_where("horizon complete", "true", dataset="horizon_gaps",
                          columns=("series_id",),
                          why="Every champion forecast covers consecutive days without gaps."),
        ),
        datasets={
            "champions": "SELECT target, series_id, count(DISTINCT model) AS champions "
            "FROM ml.forecasts WHERE is_champion GROUP BY ALL HAVING count(DISTINCT model) <> 1 "
            "UNION ALL SELECT target, series_id, 0 FROM ml.forecasts GROUP BY ALL "
            "HAVING NOT bool_or(is_champion)",
            "horizon_gaps": "SELECT target, series_id, model FROM ml.forecasts GROUP BY ALL "
            "HAVING max(date) - min(date) + 1 <> count(*)",
        },
    ),
    Suite(
        "ml.forecast_backtest",
        ("ml", "forecast_backtest"),
        "Rolling-origin backtest metrics per model, series and fold (fold 0 = pooled).",
        rules=(
            *not_null("target", "model", "series_id", "fold", "metric",
                      why="A metric names its model, series and fold."),
            unique("target", "model", "series_id", "fold", "metric",
                   why="One value per model, series, fold and metric."),
            no_rows_where("errors are never negative",
                          "metric IN ('wape', 'mape', 'mase') AND value < 0",
                          columns=("metric", "value"), why="Error measures are non-negative."),
            no_rows_where("coverage is a share",
                          "metric LIKE 'coverage%' AND (value < 0 OR value > 1)",
                          columns=("metric", "value"), why="Coverage is a share of days."),
        ),
    ),
    Suite(
        "ml.staffing_forecast",
        ("ml", "staffing_forecast"),
        "Expected entries per store and local hour for the next 7 days: the staffing plan.",
        rules=(
            *not_null("store_id", "date", "local_hour", "expected_entries",
                      why="A staffing row names its store, day and hour."),
            unique("store_id", "date", "local_hour", why="One row per store-hour."),
            between("local_hour", 0, 23, why="Hours of the local day."),
            between("expected_entries", 0, None, why="Footfall is never negative."),
            between("share_total", 0.999, 1.001, dataset="day_shares",
                    why="The hours of a day share out the whole daily forecast."),
        ),
        datasets={"day_shares": "SELECT store_id, date, sum(share) AS share_total "
                  "FROM ml.staffing_forecast GROUP BY ALL"},
    ),
    Suite(
        "ml.purchase_propensity",
        ("ml", "purchase_propensity"),
        "Per member, the probability of buying in the next 30 days.",
        rules=(
            *not_null("member_key", "probability", "decile", why="Every member is scored."),
            unique("member_key", why="One score per member."),
            between("probability", 0, 1, why="A probability."),
            between("decile", 1, 10, why="Deciles 1..10."),
            no_rows_where("every customer is scored", "true", dataset="unscored",
                          columns=("member_key",),
                          why="CRM campaigns select from every member of marts.dim_customer."),
        ),
        datasets={"unscored": "SELECT member_key FROM marts.dim_customer "
                  "EXCEPT SELECT member_key FROM ml.purchase_propensity"},
        private_columns=("member_key",),
    ),
]
