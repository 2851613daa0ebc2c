"""Dagster wiring for the squizz area."""
