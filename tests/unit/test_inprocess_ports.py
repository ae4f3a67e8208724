"""The in-process adapters pass the shared port contracts."""

from __future__ import annotations

import pytest

from common.inprocess import InMemoryCache, InMemoryEventBus, InMemoryLogArchive
from common.ports import PortError, RecordsGone
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


async def test_the_bus_drops_what_every_consumer_committed(monkeypatch) -> None:
    """The embedded mode runs for hours: a topic keeps only what some consumer may still read
    (from its committed offset on); offsets stay absolute."""
    monkeypatch.setattr(InMemoryEventBus, "TRIM_AT", 10)
    bus = InMemoryEventBus()
    await bus.create_topic("t")
    await bus.publish("t", [(b"k", str(i).encode()) for i in range(50)])
    fast, slow = await bus.consumer("t"), await bus.consumer("t")
    assert len(await fast.fetch(50, 0.01)) == 50
    assert len(await slow.fetch(20, 0.01)) == 20
    await fast.committed({0: 50})
    await slow.committed({0: 5})  # under TRIM_AT past the base: kept
    assert bus.retained("t") == (0, 50)
    await slow.committed({0: 20})  # the floor of both consumers
    assert bus.retained("t") == (20, 50)
    rest = await slow.fetch(100, 0.01)
    assert [r.offset for r in rest] == list(range(20, 50))
    assert [r.value for r in rest] == [str(i).encode() for i in range(20, 50)]
    await bus.publish("t", [(b"k", b"50")])
    assert (await fast.fetch(10, 0.01))[0].offset == 50
    assert (await slow.end_offsets()) == {0: 51}
    late = await bus.consumer("t")
    await late.seek(0, 3)
    with pytest.raises(RecordsGone, match="offset 3 was dropped"):
        await late.fetch(10, 0.01)
    await late.close()
    await slow.close()  # a closed consumer without a group no longer holds records back
    await fast.committed({0: 51})
    assert bus.retained("t") == (51, 51)


async def test_a_groups_commit_holds_records_for_its_next_consumer(monkeypatch) -> None:
    """A consumer that failed and comes back seeks to its group's committed offset: another
    group reading further must not drop what lies between."""
    monkeypatch.setattr(InMemoryEventBus, "TRIM_AT", 10)
    bus = InMemoryEventBus()
    await bus.create_topic("t")
    await bus.publish("t", [(b"k", str(i).encode()) for i in range(100)])
    lagging = await bus.consumer("t", group="token")
    ahead = await bus.consumer("t", group="archiver")
    await lagging.fetch(30, 0.01)
    await lagging.committed({0: 20})
    await lagging.close()  # fails; its group's next consumer resumes at 20
    await ahead.fetch(100, 0.01)
    await ahead.committed({0: 100})
    assert bus.retained("t") == (20, 100)
    again = await bus.consumer("t", group="token")
    await again.seek(0, 20)
    assert [r.offset for r in await again.fetch(100, 0.01)] == list(range(20, 100))
    await again.committed({0: 100})
    assert bus.retained("t") == (100, 100)


async def test_a_bounded_archive_keeps_the_latest_logs() -> None:
    from tests.contract.archive import _log

    archive = InMemoryLogArchive(max_logs=5)
    assert await archive.insert([_log(b, i) for b in (1, 2, 3) for i in range(3)]) == 9
    assert await archive.count() == 5
    assert await archive.find_by_block(1) == []
    assert [x.log_index for x in await archive.find_by_block(2)] == [1, 2]
    assert len(await archive.find_by_block(3)) == 3
    block3 = (await archive.find_by_block(3))[0].block_hash
    assert await archive.mark_removed([block3], 1) == 3


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
