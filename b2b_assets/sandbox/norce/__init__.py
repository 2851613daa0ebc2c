"""Norce Commerce Connect sandbox (seed 003 and the notes' Norce section).

- `schema`: the Connect customer types as data (fields, limits, enums, header enums).
- `payload`: the X-StormConnect-Header, the body (JSON array, back-to-back objects or XML), record checks.
- `data`: how a finished job changes companies, customers, relations and accounts.
- `sandbox`: tokens, imports as jobs, Job/Get and Job/GetLog, faults, admin read-back.
"""

from b2b_assets.sandbox.norce.sandbox import NorceSandbox

__all__ = ["NorceSandbox"]
