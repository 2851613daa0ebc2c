"""Dagster wiring for operations: the sync-health view and the policies (owners, freshness, rejection thresholds)."""
