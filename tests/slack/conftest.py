"""Fixtures for the Slack surface tests: a seeded FakeSlack and a running Baton wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import FakeSlack
from tests.slack.harness import Baton, running_baton, seed_workspace


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        seed_workspace(fake)
        yield fake
    assert not fake.internal_errors, fake.internal_errors


@pytest.fixture
def baton(db_url: str, tmp_path: Path, fake: FakeSlack) -> Iterator[Baton]:
    with running_baton(db_url, tmp_path, fake) as b:
        yield b
