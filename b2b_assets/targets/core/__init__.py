"""Target-independent outbound core: plan against the sync ledger, send in batches, record outcomes.

Every target (SQUIZZ, JOOR, Norce) hands the core a frame of mapped payload
records and a sender; the core decides what to send and what to hold, isolates
the records a target rejects, and writes the ledger only after the target
confirmed.
"""
