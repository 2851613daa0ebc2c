"""The sync's stages as plain Python, called by the Dagster assets and tested without Dagster."""
