"""The archiver over the in-process bus and archive: what the topics say, the archive keeps."""

from __future__ import annotations

import asyncio

from block_sync_service.application.archiver import Archiver
from common import events
from common.inprocess import InMemoryEventBus, InMemoryLogArchive
from tests import envelopes
from tests.chain_helpers import wait_for

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


class Offsets:
    def __init__(self) -> None:
        self.saved: dict[str, dict[int, int]] = {}
        self.blocks: dict[str, int] = {}

    async def load(self, topic: str) -> dict[int, int]:
        return dict(self.saved.get(topic, {}))

    async def save(self, topic: str, positions: dict[int, int], block: int = 0) -> None:
        self.saved.setdefault(topic, {}).update(positions)
        self.blocks[topic] = block

    async def through(self) -> dict[str, int]:
        return dict(self.blocks)


def _at(envelope: events.EventEnvelope, generation: int) -> events.EventEnvelope:
    copy = events.EventEnvelope()
    copy.CopyFrom(envelope)
    copy.generation = generation
    return copy


def _orphaning(envelope: events.EventEnvelope, generation: int) -> events.EventEnvelope:
    e = envelope.event
    marker = events.RevertMarker(to_block=e.block_number - 1, orphaned_hashes=[e.block_hash])
    return events.EventEnvelope(
        version=events.ENVELOPE_VERSION, chain_id=31337, revert=marker, generation=generation
    )


async def test_a_block_the_chain_returns_to_is_live_again_in_the_archive() -> None:
    """A -> B -> A at block 5: the sync publishes A's log, orphans it (generation 1),
    publishes B's, orphans that (2), and publishes A's again (2). Then A's first record and
    the marker that orphaned it are replayed (duplicate delivery). The archive keeps both
    forks' logs, and only A's is live."""
    a = envelopes.event(TOKEN, "Transfer", 5, 0, value=1)
    b = _at(envelopes.event(TOKEN, "Transfer", 5, 0, value=2), 1)
    b.event.block_hash = "0x" + "bb" * 32
    sequence = [a, _orphaning(a, 1), b, _orphaning(b, 2), _at(a, 2), a, _orphaning(a, 1)]
    bus, archive, offsets = InMemoryEventBus(), InMemoryLogArchive(), Offsets()
    await bus.create_topic("t")
    await bus.publish("t", [(b"k", x.SerializeToString()) for x in sequence])
    stop = asyncio.Event()
    running = asyncio.create_task(Archiver(bus, archive, offsets, ["t"]).run(stop))
    try:

        async def archived() -> bool:
            return offsets.saved.get("t") == {0: len(sequence)}

        await wait_for(archived, "every record archived", 10)
    finally:
        stop.set()
        await running
    stored = {(x.block_hash, x.removed) for x in await archive.find_by_block(5)}
    assert stored == {(a.event.block_hash, False), (b.event.block_hash, True)}


def _progress(generation: int, block: int) -> events.EventEnvelope:
    return envelopes.progress(block, generation)


async def test_archived_through_follows_progress_markers_and_survives_a_restart() -> None:
    """The block saved with the offsets: the last progress marker passed, lowered by a revert
    marker, never moved by a replayed marker of an older fork generation, and read back by an
    archiver that restarts (a batch without a marker keeps it)."""
    bus, archive, offsets = InMemoryEventBus(), InMemoryLogArchive(), Offsets()
    await bus.create_topic("t")
    sent = 0

    async def archive_through(batch: list[events.EventEnvelope], expected: int) -> None:
        nonlocal sent
        await bus.publish("t", [(b"k", x.SerializeToString()) for x in batch])
        sent += len(batch)

        async def saved() -> bool:
            return offsets.saved.get("t") == {0: sent}

        await wait_for(saved, f"{sent} records archived", 10)
        assert offsets.blocks["t"] == expected

    six = envelopes.event(TOKEN, "Transfer", 6, 0, value=1)
    for _ in range(2):  # the second archiver starts from what the first saved
        stop = asyncio.Event()
        running = asyncio.create_task(Archiver(bus, archive, offsets, ["t"]).run(stop))
        try:
            if not sent:
                await archive_through([envelopes.event(TOKEN, "Transfer", 5, 0, value=1)], 0)
                await archive_through([_progress(0, 5), six, _progress(0, 6)], 6)
                await archive_through([_orphaning(six, 1)], 5)
                await archive_through([_progress(0, 9)], 5)  # a replay from the orphaned fork
                await archive_through([_progress(1, 7)], 7)
            else:
                await archive_through([_at(envelopes.event(TOKEN, "Transfer", 8, 0), 1)], 7)
                await archive_through([_progress(1, 8)], 8)
        finally:
            stop.set()
            await running
