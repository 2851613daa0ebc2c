"""Fixtures: real sandboxes on loopback and a client for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b2b_assets.sandbox.serve import RunningSandboxes, start_sandboxes

from .clients import SquizzClient


@pytest.fixture
def sandboxes() -> Iterator[RunningSandboxes]:
    with start_sandboxes() as running:
        yield running


@pytest.fixture
def squizz(sandboxes: RunningSandboxes) -> SquizzClient:
    return SquizzClient(sandboxes.base_url)
