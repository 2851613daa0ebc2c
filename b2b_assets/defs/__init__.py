"""Dagster wiring only: assets, checks, resources, jobs, schedules and sensors, one folder per area."""
