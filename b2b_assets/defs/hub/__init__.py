"""Dagster wiring for the hub area."""
