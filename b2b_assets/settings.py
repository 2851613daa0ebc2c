"""Where things live, from environment variables with embedded defaults.

The defaults make `make sync` work on a fresh clone: SQLite under data/state
and the bundled sandboxes on 127.0.0.1. Nothing secret has a default here;
credentials are read by the resources through dg.EnvVar.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _path(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


def mapping_path() -> Path:
    return _path("B2B_MAPPING", REPO_ROOT / "data" / "mapping.yaml")


def state_dir() -> Path:
    return _path("B2B_STATE_DIR", REPO_ROOT / "data" / "state")


def staging_dir() -> Path:
    return state_dir() / "staging"


def reports_dir() -> Path:
    return _path("B2B_REPORTS_DIR", REPO_ROOT / "data" / "reports")


def batch_size() -> int:
    """Records per request to a target, unless a run's config says otherwise (B2B_BATCH_SIZE, default 500)."""
    return int(os.environ.get("B2B_BATCH_SIZE", "500"))


def default_hub_url() -> str:
    return f"sqlite:///{state_dir() / 'hub.sqlite'}"


SANDBOX_PORT = int(os.environ.get("B2B_SANDBOX_PORT", "18080"))
SANDBOX_URL = f"http://127.0.0.1:{SANDBOX_PORT}"
SANDBOX_FTP_PORT = int(os.environ.get("B2B_SANDBOX_FTP_PORT", "18021"))  # the JOOR Customer Sync FTP sandbox


def credentials_system_of_record() -> bool:
    """Seed 000: the export is the system of record for users' passwords, so targets that take them get them."""
    return os.environ.get("B2B_CREDENTIALS_SYSTEM_OF_RECORD", "").strip().lower() in ("1", "true", "yes")
