"""Store fixtures: every store test runs against SQLite and a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b2b_assets.store import Store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[Store]:  # noqa: ANN001
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/state/hub.sqlite"
    else:
        url = request.getfixturevalue("postgres_url")
    s = Store(url)
    s.create_all()
    try:
        yield s
    finally:
        s.dispose()
