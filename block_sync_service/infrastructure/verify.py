"""Compare what the block sync stored with the chain: the rows GetLogs, GetBlock and
GetTransaction serve (and the archive and the consumers were fed from). Every tracked log from
the start block to one block, by position and content (block hash, address, topics, data,
transaction); the transactions that carry them, field by field; and the hash of every stored
block. And the raw log archive: its live logs are the chain's, and none of the chain's is
marked removed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from block_sync_service.domain.rules import Follow
from block_sync_service.infrastructure.store import SqlAlchemySyncStore
from common.drift import DriftReport
from common.validation import OutOfRange

if TYPE_CHECKING:  # only for annotations
    from common.jsonrpc import JsonRpcClient
    from common.ports import ArchivedLog, LogArchive

FIELDS = ("block hash", "address", "topics", "data", "transaction hash", "transaction index")
ARCHIVE_FIELDS = FIELDS[1:]  # the archive's key holds the block hash
TX_FIELDS = ("block", "block hash", "index", "from", "to", "value", "gas", "gas price", "input")


def _following(followed: dict[str, int]) -> str:
    """How the contracts an event named were followed, for a report."""
    if not followed:
        return ""
    each = ", ".join(f"{a} from block {b}" for a, b in followed.items())
    return f" (following {each})"


@dataclass
class SyncDrift(DriftReport):
    logs: int = 0  # the chain's tracked logs compared
    transactions: int = 0  # the chain's transactions carrying them
    blocks: int = 0  # stored blocks compared
    followed: dict[str, int] = field(default_factory=dict)  # named by the chain's events

    def compared(self) -> str:
        return (
            f"{self.logs} logs, {self.transactions} transactions and {self.blocks} blocks"
            + _following(self.followed)
        )


@dataclass
class ArchiveDrift(DriftReport):
    logs: int = 0  # the chain's tracked logs compared
    removed: int = 0  # archived logs marked removed (of orphaned blocks)
    followed: dict[str, int] = field(default_factory=dict)

    def compared(self) -> str:
        return f"{self.logs} logs and {self.removed} logs marked removed" + _following(
            self.followed
        )


def _chain_log(x: dict[str, Any]) -> tuple[Any, ...]:
    return (
        x["blockHash"].lower(),
        x["address"].lower(),
        tuple(t.lower() for t in x["topics"]),
        x["data"].lower(),
        x["transactionHash"].lower(),
        int(x["transactionIndex"], 16),
    )


def _stored_log(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["block_hash"].lower(),
        r["address"].lower(),
        tuple(r[f"topic{i}"].lower() for i in range(4) if r[f"topic{i}"]),
        r["data"].lower(),
        r["tx_hash"].lower(),
        int(r["tx_index"]),
    )


def _chain_tx(t: dict[str, Any]) -> tuple[Any, ...]:
    return (
        int(t["blockNumber"], 16),
        t["blockHash"].lower(),
        int(t["transactionIndex"], 16),
        t["from"].lower(),
        (t.get("to") or "").lower(),
        int(t["value"], 16),
        int(t["gas"], 16),
        int(t.get("gasPrice") or "0x0", 16),
        (t.get("input") or "0x").lower(),
    )


def _stored_tx(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        int(r["block_number"]),
        r["block_hash"].lower(),
        int(r["tx_index"]),
        r["from_address"].lower(),
        (r["to_address"] or "").lower(),
        int(r["value"]),
        int(r["gas"]),
        int(r["gas_price"]),
        "0x" + bytes(r["input"] or b"").hex(),
    )


def _differences(
    kind: str,
    chain: dict[Any, tuple[Any, ...]],
    stored: dict[Any, tuple[Any, ...]],
    fields: Sequence[str],
) -> list[str]:
    """A line per item missing on either side or differing (naming its first field)."""
    out = []
    for key in sorted(chain.keys() | stored.keys()):
        where = f"{kind} {':'.join(map(str, key)) if isinstance(key, tuple) else key}"
        if key not in stored:
            out.append(f"{where} is on the chain, not stored")
        elif key not in chain:
            out.append(f"{where} is stored, not on the chain")
        elif len(chain[key]) != len(stored[key]):
            out.append(f"{where}: the node did not return it")
        elif stored[key] != chain[key]:
            name, ours, theirs = next(
                (n, a, b) for n, a, b in zip(fields, stored[key], chain[key], strict=True) if a != b
            )
            out.append(f"{where}: {name} stored {ours}, chain {theirs}")
    return out


async def _chain_spans(
    rpc: JsonRpcClient,
    addresses: Sequence[str],
    first: int,
    last: int,
    span: int,
    follows: Sequence[Follow] = (),
    followed: dict[str, int] | None = None,
) -> AsyncIterator[tuple[int, int, list[dict[str, Any]]]]:
    """(low, high, the node's tracked logs of low..high) over ``first..last``, ``span`` blocks
    at a time, halved when the node refuses a range (too many results). A contract that a
    log of the chain names (``follows``) is tracked from that log's block on, as the sync
    does: the span it is named in is read again with it. ``followed`` gets them (address ->
    the block it is followed from)."""
    from common.jsonrpc import RpcError

    base = {a.lower() for a in addresses}
    followed = {} if followed is None else followed
    low = first
    while low <= last:
        high = min(last, low + span - 1)
        params = {
            "address": [*addresses, *followed],
            "fromBlock": hex(low),
            "toBlock": hex(high),
        }
        try:
            found: list[dict[str, Any]] = await rpc.call("eth_getLogs", params)
        except RpcError:
            if low == high:
                raise
            span = max(1, span // 2)
            continue
        named = {}
        for x in found:
            for rule in follows:
                n = rule.named_by(x["address"], x["topics"], x["data"])
                if n is not None and n not in base and n not in followed and n not in named:
                    named[n] = int(x["blockNumber"], 16)
        if named:
            followed.update(named)
            continue  # this span again, with them
        if followed:
            found = [
                x
                for x in found
                if followed.get(x["address"].lower(), 0) <= int(x["blockNumber"], 16)
            ]
        yield low, high, found
        low = high + 1


async def verify_archive(
    archive: LogArchive,
    rpc: JsonRpcClient,
    addresses: Sequence[str],
    first: int,
    block: int,
    span: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    follows: Sequence[Follow] = (),
) -> ArchiveDrift:
    """Drift between the raw log archive and the chain from ``first`` to ``block``: every
    tracked log of the chain is archived and live, with its content; every live archived log
    is the chain's (an orphaned one is marked removed). An archiver behind ``block`` shows as
    the chain's latest logs not archived. ``span`` and ``progress`` as for :func:`verify_sync`."""
    drift = ArchiveDrift(block)
    spans = _chain_spans(rpc, addresses, first, block, span, follows, drift.followed)
    async for low, high, found in spans:
        chain = {
            (int(x["blockNumber"], 16), int(x["logIndex"], 16), x["blockHash"].lower()): (
                _chain_log(x)[1:]
            )
            for x in found
        }
        live: dict[Any, tuple[Any, ...]] = {}
        for x in await archive.between(low, high):
            key = (x.block_number, x.log_index, x.block_hash.lower())
            if not x.removed:
                live[key] = _archived_log(x)
                continue
            drift.removed += 1
            if key in chain:  # reported here, not again as missing
                drift.drifts.append(
                    f"archived log {':'.join(map(str, key))} is marked removed; its block is"
                    " canonical"
                )
                live[key] = _archived_log(x)
        drift.logs += len(chain)
        drift.drifts += _differences("archived log", chain, live, ARCHIVE_FIELDS)
        if progress is not None:
            progress(high, block)
    return drift


def _archived_log(x: ArchivedLog) -> tuple[Any, ...]:
    return (
        x.address.lower(),
        tuple(t.lower() for t in x.topics),
        x.data.lower(),
        x.tx_hash.lower(),
        x.tx_index,
    )


async def verify_sync(
    store: SqlAlchemySyncStore,
    rpc: JsonRpcClient,
    addresses: Sequence[str],
    first: int,
    block: int | None = None,
    span: int = 2000,
    progress: Callable[[int, int], None] | None = None,
    follows: Sequence[Follow] = (),
) -> SyncDrift:
    """Drift between the stored logs and blocks and the chain's, from ``first`` to ``block``
    (default: the synced block). ``span`` blocks per eth_getLogs, halved when the node refuses
    a range (too many results); ``progress(done_through, last)`` after each. ``follows``: the
    contracts followed since a log named them (the sync's rules)."""
    state = await store.state()
    synced = state.synced_block if state is not None else first - 1
    at = synced if block is None else block
    if at > synced:
        raise OutOfRange(f"block {at} is above the last synced block {synced}")
    drift = SyncDrift(at)
    spans = _chain_spans(rpc, addresses, first, at, span, follows, drift.followed)
    async for low, high, found in spans:
        chain = {(int(x["blockNumber"], 16), int(x["logIndex"], 16)): _chain_log(x) for x in found}
        rows = (await store.get_logs([], low, high, limit=2**31 - 1)).rows
        stored = {(r["block_number"], r["log_index"]): _stored_log(r) for r in rows}
        drift.logs += len(chain)
        drift.drifts += _differences("log", chain, stored, FIELDS)
        # a transaction is stored for each that carries a tracked log, and only for those
        chain_txs = {x["transactionHash"].lower() for x in found}
        stored_txs = {r["hash"].lower(): r for r in await store.transactions_between(low, high)}
        txs = sorted(chain_txs & stored_txs.keys())
        fetched: dict[Any, tuple[Any, ...]] = {}
        for i in range(0, len(txs), 500):
            chunk = txs[i : i + 500]
            answers = await rpc.batch([("eth_getTransactionByHash", [h]) for h in chunk])
            fetched.update((h, _chain_tx(t)) for h, t in zip(chunk, answers, strict=True) if t)
        drift.transactions += len(chain_txs)
        drift.drifts += _differences(
            "transaction",
            {h: fetched.get(h, ()) for h in chain_txs},
            {h: _stored_tx(r) for h, r in stored_txs.items()},
            TX_FIELDS,
        )
        if progress is not None:
            progress(high, at)
    hashes = await store.block_hashes(first, at)
    numbers = sorted(hashes)
    for i in range(0, len(numbers), 500):
        chunk = numbers[i : i + 500]
        headers = await rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk])
        for number, header in zip(chunk, headers, strict=True):
            if header is None:
                drift.drifts.append(f"block {number} is stored, the chain has none")
            elif header["hash"].lower() != hashes[number].lower():
                drift.drifts.append(
                    f"block {number}: hash stored {hashes[number]}, chain {header['hash']}"
                )
    drift.blocks = len(numbers)
    return drift
