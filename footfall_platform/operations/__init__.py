"""Running Footfall day to day: install checks, the PII audit, retention, run logs, progress.

Engine code: no Dagster here. The CLI (`footfall doctor`, `footfall audit-pii`) and the thin
assets and sensors in assets/retention.py and footfall_platform/orchestration/run_summary.py call these modules.
"""
