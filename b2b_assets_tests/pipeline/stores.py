"""A store and a one-file mapping for the pipeline tests, on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from b2b_assets.sources import parse_mapping
from b2b_assets.store import Store


def one_file_store(request: pytest.FixtureRequest, tmp_path: Path, entity: str, file: str) -> Iterator[tuple]:
    """(store, mapping, tmp_path) for one entity read from `inbox/<file>`, on the database `request.param`
    names ("sqlite" or "postgres"): the body of a test module's parametrized `env` fixture."""
    url = f"sqlite:///{tmp_path}/hub.sqlite" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    store = Store(url)
    store.create_all()
    mapping = parse_mapping({"inbox": "inbox", "sources": {entity: {"file": file}}}, base_dir=tmp_path)
    (tmp_path / "inbox").mkdir()
    try:
        yield store, mapping, tmp_path
    finally:
        store.dispose()
