"""The block sync's sink: records per topic, in chain order, however a batch is sliced; the
token's delegation events on the governance topic only."""

from __future__ import annotations

import pytest

from block_sync_service.bootstrap import load_abi
from block_sync_service.domain.errors import DecodeError
from block_sync_service.domain.model import BlockBatch, BlockHeader, RawLog
from block_sync_service.infrastructure import events as sink_module
from block_sync_service.infrastructure.events import BusEventSink, EventRouter, TrackedContract
from common import events
from common.inprocess import InMemoryEventBus

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
ZERO = "0x" + "00" * 32


def _word(n: int) -> str:
    return "0x" + n.to_bytes(32, "big").hex()


def _log(i: int, n_logs: int, headers: dict[int, BlockHeader]) -> RawLog:
    """Log i of a batch: every fifth a DelegateVotesChanged, every third a mint, else a
    transfer."""
    abi = load_abi("NovaToken")
    block = 1 + i // (n_logs // 2 + 1)
    if i % 5 == 4:
        topics: tuple[str, ...] = (abi.events["DelegateVotesChanged"].topic0, _word(0xC0 + i % 3))
        data = _word(i) + _word(i + 1)[2:]
    else:
        from_ = ZERO if i % 3 == 0 else _word(0xA0 + i % 5)
        topics = (abi.events["Transfer"].topic0, from_, _word(0xB0 + i % 7))
        data = _word(10**18 + i)
    return RawLog(TOKEN, topics, data, block, headers[block].hash, f"0x{i:064x}", i, i)


def _batch(n_logs: int) -> BlockBatch:
    headers = {
        b: BlockHeader(b, f"0x{b:064x}", f"0x{b - 1:064x}", 1_700_000_000 + b) for b in (1, 2)
    }
    logs = [_log(i, n_logs, headers) for i in range(n_logs)]
    return BlockBatch(1, 2, headers=headers, logs=logs)


async def _published(slice_size: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[bytes]]:
    monkeypatch.setattr(sink_module, "ROUTE_SLICE", slice_size)
    bus = InMemoryEventBus()
    router = EventRouter(31337, [TrackedContract("NovaToken", TOKEN, load_abi("NovaToken"))], "t.")
    sink = BusEventSink(bus, router)
    await sink.ensure_topics()
    published = await sink.publish_batch(_batch(100), historical=True, generation=0)
    out = {}
    for topic in router.topics.values():
        consumer = await bus.consumer(topic)
        out[topic] = [r.value for r in await consumer.fetch(1_000, 0.01)]
    assert published == sum(len(v) for v in out.values())
    return out


async def test_a_batch_routed_in_slices_publishes_what_one_pass_does(monkeypatch) -> None:
    """The sink routes a batch in slices (the event loop serves the commit in flight between
    them): every record, in chain order, on the same topics as routing it whole."""
    whole = await _published(10_000, monkeypatch)
    sliced = await _published(7, monkeypatch)
    assert sliced == whole
    for topic, values in whole.items():  # every topic ends with the unit's progress marker
        last = events.EventEnvelope.FromString(values[-1])
        assert last.WhichOneof("body") == "progress", topic
        assert (last.progress.block_number, last.progress.historical) == (2, True)
        assert last.progress.block_timestamp == 1_700_000_002
    token = [events.EventEnvelope.FromString(v) for v in whole["t.token"][:-1]]
    assert [e.event.log_index for e in token] == [i for i in range(100) if i % 5 != 4]
    governance = [events.EventEnvelope.FromString(v) for v in whole["t.governance"]]
    got = [e.event.log_index for e in governance if e.WhichOneof("body") == "event"]
    # delegation is the governance domain's only; mints and burns go there too (supply)
    assert got == [i for i in range(100) if i % 5 == 4 or i % 3 == 0]


def test_a_followed_contract_is_routed_as_the_contract_it_is() -> None:
    """A timelock followed since the governor named it: its logs decode with the timelock's
    ABI and go to the governance topic, with its own address; an unknown address is refused."""
    timelock = load_abi("NovaTimelock")
    router = EventRouter(
        31337,
        [TrackedContract("NovaToken", TOKEN, load_abi("NovaToken"))],
        "t.",
        {"NovaTimelock": timelock},
    )
    named = "0x" + "7b" * 20
    header = BlockHeader(5, "0x" + "05" * 32, "0x" + "04" * 32, 1_700_000_005)
    op = "0x" + "ee" * 32
    log = RawLog(
        named,
        (timelock.events["Cancelled"].topic0, op),
        "0x",
        5,
        header.hash,
        "0x" + "ab" * 32,
        0,
        3,
    )
    with pytest.raises(DecodeError, match="untracked"):
        router.route([log], {5: header}, historical=False)
    router.track("NovaTimelock", named)
    routed = router.route([log], {5: header}, historical=False)
    assert list(routed) == ["t.governance"]
    (env,) = [events.EventEnvelope.FromString(v) for _, v in routed["t.governance"]]
    assert env.event.event == "Cancelled" and env.event.contract.lower() == named
    assert events.arg_values(env.event)["id"] == op
