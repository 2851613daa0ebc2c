"""Dagster wiring for the erp area."""
