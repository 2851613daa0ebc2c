"""JOOR target: the Bulk Connection API (client, canonical->connection mapping, limits)."""
