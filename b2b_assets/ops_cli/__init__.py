"""What `b2b-sync` shows an operator beyond the sync itself: status, one record's story, retries, failures.

Plain Python over the store and Dagster's run results; `cli.py` only wires the subcommands to these.
"""
