"""The JOOR Customer Sync FTP sandbox: a pyftpdlib server with JOOR's intake (seed 001)."""

from b2b_assets.sandbox.joor_ftp.server import JoorFtpSandbox

__all__ = ["JoorFtpSandbox"]
