"""Dagster wiring for the joor area."""
