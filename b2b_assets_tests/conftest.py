"""Shared fixtures.

PostgreSQL is real (DESIGN.md principle 4): `scripts/postgres.sh start` installs
and starts a throwaway cluster once (idempotent and race-safe, so pytest-xdist
workers may all call it), and every test that asks for `postgres_url` gets a
database of its own, dropped afterwards. Set B2B_TEST_POSTGRES_URL to use an
existing server instead (its user needs CREATEDB).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import shutil

import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled sample export (inbox and mapping) that B2B_MAPPING points at; returns its inbox."""
    shutil.copytree(REPO / "data" / "inbox", tmp_path / "inbox")
    shutil.copy(REPO / "data" / "mapping.yaml", tmp_path / "mapping.yaml")
    monkeypatch.setenv("B2B_MAPPING", str(tmp_path / "mapping.yaml"))
    return tmp_path / "inbox"


def _psycopg2(url: str) -> sa.URL:
    parsed = sa.make_url(url)
    return parsed.set(drivername="postgresql+psycopg2") if parsed.drivername in ("postgresql", "postgres") else parsed


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of the test PostgreSQL server's `b2b` database (started once per session)."""
    if os.environ.get("B2B_TEST_POSTGRES_URL"):
        return os.environ["B2B_TEST_POSTGRES_URL"]
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "postgres.sh"), "start"],
        cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/postgres.sh start failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """URL (bare `postgresql://`) of a fresh, empty database for this test only."""
    server = sa.make_url(postgres_server_url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(_psycopg2(postgres_server_url), isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


BROWSER_ARTIFACTS = REPO / "test-artifacts" / "browser"
_session_started = 0.0


def pytest_sessionstart(session) -> None:
    global _session_started
    _session_started = time.time()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the browser test (ops/test_browser.py) left this session's screenshots."""
    if BROWSER_ARTIFACTS.is_dir() and any(p.stat().st_mtime >= _session_started for p in BROWSER_ARTIFACTS.iterdir()):
        terminalreporter.write_line(f"browser screenshots: {BROWSER_ARTIFACTS}")
