"""Scenario tests of the pipeline stages, end to end over real HTTP to the bundled sandboxes."""
