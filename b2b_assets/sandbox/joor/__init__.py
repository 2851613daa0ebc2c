"""The JOOR Bulk Connection API sandbox (seed 002)."""

from b2b_assets.sandbox.joor.sandbox import JoorSandbox

__all__ = ["JoorSandbox"]
