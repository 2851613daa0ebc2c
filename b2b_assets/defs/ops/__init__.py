"""Dagster wiring for the ops area."""
