"""The consumer's duplicate rule over (fork generation, block, log index): re-published and
replayed records are dropped, a replayed revert marker never rewinds the state, and a new
fork's records apply."""

from __future__ import annotations

from common import events
from common.consumer import SqlConsumer
from common.inprocess import InMemoryEventBus
from common.metrics import Metrics, isolated_registry


def ev(gen: int, block: int, log: int) -> events.EventEnvelope:
    return events.EventEnvelope(
        version=1,
        generation=gen,
        event=events.ContractEvent(event="Transfer", block_number=block, log_index=log),
    )


def rev(gen: int, to: int) -> events.EventEnvelope:
    return events.EventEnvelope(version=1, generation=gen, revert=events.RevertMarker(to_block=to))


def progress(gen: int, block: int) -> events.EventEnvelope:
    return events.EventEnvelope(
        version=1, generation=gen, progress=events.Progress(block_number=block)
    )


def ids(envs: list[events.EventEnvelope]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for e in envs:
        if e.WhichOneof("body") == "revert":
            out.append(("revert", e.generation, e.revert.to_block))
        elif e.WhichOneof("body") == "progress":
            out.append(("progress", e.generation, e.progress.block_number))
        else:
            out.append((e.generation, e.event.block_number, e.event.log_index))
    return out


def test_replays_and_old_reverts_are_dropped_new_forks_apply() -> None:
    consumer = SqlConsumer(InMemoryEventBus(), None, "g", "t", None)
    stream = [ev(0, 1, 0), ev(0, 2, 0), ev(0, 3, 0), rev(1, 1), ev(1, 2, 0), progress(1, 2)]
    fresh, mark = consumer._dedupe(stream, (0, -1, -1))
    assert ids(fresh) == [
        (0, 1, 0),
        (0, 2, 0),
        (0, 3, 0),
        ("revert", 1, 1),
        (1, 2, 0),
        ("progress", 1, 2),  # to the handler: the domain's head moves with it
    ]
    assert mark == (1, 2, 2**62)
    # a replay of everything: old-fork events (block 3 was orphaned), the old revert, and
    # what is applied already: nothing of it applies, nothing rewinds
    fresh, mark = consumer._dedupe([*stream, ev(0, 3, 0), progress(1, 1)], mark)
    assert fresh == [] and mark == (1, 2, 2**62)
    # the syncer re-publishing after a crash (same generation) and then new records
    fresh, mark = consumer._dedupe([ev(1, 2, 0), ev(1, 3, 0), rev(2, 2), ev(2, 3, 1)], mark)
    assert ids(fresh) == [(1, 3, 0), ("revert", 2, 2), (2, 3, 1)]
    assert mark == (2, 3, 1)


def test_applied_duplicates_and_reverts_are_counted() -> None:
    """Status and metrics count what a batch applied (events, not revert markers), what it
    dropped as duplicates, and the reverts it applied."""
    registry = isolated_registry()
    consumer = SqlConsumer(
        InMemoryEventBus(), None, "g", "t", None, metrics=Metrics("probe", registry)
    )
    stream = [ev(0, 1, 0), ev(0, 2, 0), rev(1, 1), ev(1, 2, 0), progress(1, 2), ev(0, 1, 0)]
    _, mark = consumer._dedupe(stream, (0, -1, -1))
    consumer._dedupe([ev(1, 2, 0), ev(1, 3, 0)], mark)  # one re-published, one new
    assert (consumer.status.applied, consumer.status.duplicates) == (4, 2)
    assert consumer.status.reverts == 1
    assert registry.get_sample_value("nova_probe_events_applied_total") == 4
    assert registry.get_sample_value("nova_probe_events_duplicate_total") == 2
