"""Dagster glue: resources, sensors, schedules and jobs. The engine never imports this package."""
