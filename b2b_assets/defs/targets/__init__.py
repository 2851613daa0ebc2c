"""Dagster wiring for every outbound target, built from the targets registry."""
