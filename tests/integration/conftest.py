"""The real stack, started once per test session; each test gets its own topics,
consumer group and database (the ``hub`` fixture), so tests never see each other's data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sinergi.config import Settings
from tests.conftest import base_env
from tests.integration.hub import Hub, drop_hub, make_hub

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(stack_settings: Settings) -> Iterator[Hub]:
    the_hub = make_hub(base_env())
    yield the_hub
    drop_hub(the_hub)
