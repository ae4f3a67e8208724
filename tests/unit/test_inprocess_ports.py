"""The in-process adapters pass the shared port contracts."""

from __future__ import annotations

import pytest

from common.inprocess import InMemoryCache, InMemoryEventBus, InMemoryLogArchive
from common.ports import PortError
from tests.contract.archive import LogArchiveContract
from tests.contract.bus import EventBusContract
from tests.contract.cache import CacheContract


class TestInMemoryEventBus(EventBusContract):
    @pytest.fixture
    async def bus(self):
        return InMemoryEventBus()

    async def test_unknown_topic_is_refused(self) -> None:
        bus = InMemoryEventBus()
        with pytest.raises(PortError, match="unknown topic"):
            await bus.publish("nope", [(b"k", b"v")])


class TestInMemoryCache(CacheContract):
    @pytest.fixture
    async def cache(self):
        self.now = 0.0
        return InMemoryCache(clock=lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TestInMemoryLogArchive(LogArchiveContract):
    @pytest.fixture
    async def archive(self):
        return InMemoryLogArchive()
