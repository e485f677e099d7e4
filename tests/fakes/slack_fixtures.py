"""Pytest fixtures for the fake Slack Web API.

Enable with ``pytest_plugins = ["tests.fakes.slack_fixtures"]`` in the root conftest or a test module, or import
the fixtures by name into a conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.slack_api import FakeSlack

__all__ = ["fake_slack", "fake_slack_factory"]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started :class:`FakeSlack` with default settings, stopped after the test."""
    with FakeSlack() as fake:
        yield fake
    assert not fake.internal_errors, f"the fake Slack server crashed: {fake.internal_errors!r}"


@pytest.fixture
def fake_slack_factory() -> Iterator[Callable[..., FakeSlack]]:
    """Build started fakes with custom settings: ``fake = fake_slack_factory(burst=1)``; all stopped after."""
    created: list[FakeSlack] = []

    def make(**kwargs: Any) -> FakeSlack:
        fake = FakeSlack(**kwargs).start()
        created.append(fake)
        return fake

    yield make
    for fake in created:
        fake.stop()
    for fake in created:
        assert not fake.internal_errors, f"the fake Slack server crashed: {fake.internal_errors!r}"
