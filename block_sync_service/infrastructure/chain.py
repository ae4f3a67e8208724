"""The chain over Ethereum JSON-RPC: several URLs with failover, a request-rate cap, timeouts,
retries with jittered backoff, 429 Retry-After, and classification of "range too large"
errors whatever the provider's wording."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from block_sync_service.domain.errors import ChainMismatch, ChainUnavailable, RangeTooLarge
from block_sync_service.domain.model import BlockHeader, ChainTransaction, RawLog
from common.abi import checksum as to_checksum_address
from common.jsonrpc import (
    JsonRpcClient,
    RpcError,
    RpcHttpError,
    RpcTimeout,
    RpcTransportError,
)
from common.logging import get_logger
from common.metrics import Metrics

log = get_logger(__name__)
T = TypeVar("T")

# Wordings providers use when an eth_getLogs range is too big (geth, erigon, Alchemy, Infura,
# QuickNode, Ankr, anvil, Cloudflare...). Matched case-insensitively.
_RANGE_WORDS = re.compile(
    r"too many|too large|exceed|limit|range|more than \d+ (results|logs)|"
    r"query returned more than|response size|block range|max.*blocks|10000 results|timeout",
    re.IGNORECASE,
)
_HINT = re.compile(r"\[(0x[0-9a-fA-F]+),\s*(0x[0-9a-fA-F]+)\]")
_UNKNOWN_BLOCK = re.compile(r"unknown block|block not found|header not found", re.I)


class RateLimiter:
    """At most ``rate`` requests per second on average (token bucket, burst = rate)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._tokens = rate
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class JsonRpcChainClient:
    def __init__(
        self,
        urls: Sequence[str],
        *,
        timeout_s: float = 20.0,
        max_attempts: int = 6,
        rate_limit: float = 0.0,
        metrics: Metrics | None = None,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 10.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self._clients = [JsonRpcClient(u, timeout_s=timeout_s) for u in urls]
        self._current = 0
        self._max_attempts = max_attempts
        self._limiter = RateLimiter(rate_limit)
        self._backoff_base = backoff_base_s
        self._backoff_max = backoff_max_s
        self._rng = random.Random()
        self._calls = self._errors = None
        if metrics is not None:
            self._calls = metrics.counter("rpc_calls_total", "JSON-RPC calls", ("method",))
            self._errors = metrics.counter(
                "rpc_errors_total", "JSON-RPC failures", ("method", "kind")
            )

    @property
    def url(self) -> str:
        return self._clients[self._current].url

    async def close(self) -> None:
        for c in self._clients:
            await c.close()

    # ------------------------------------------------------------------ core retry loop

    async def _with_retries(
        self, method: str, op: Callable[[JsonRpcClient], Awaitable[T]], *, range_call: bool = False
    ) -> T:
        last: Exception | None = None
        for attempt in range(self._max_attempts):
            client = self._clients[self._current]
            await self._limiter.acquire()
            if self._calls is not None:
                self._calls.labels(method).inc()
            try:
                return await op(client)
            except RpcError as exc:
                if range_call and _RANGE_WORDS.search(exc.message):
                    self._count(method, "range")
                    raise RangeTooLarge(exc.message, _parse_hint(exc.message)) from exc
                if exc.code in (-32005, 429) or "rate" in exc.message.lower():
                    self._count(method, "rate_limited")
                    last = exc
                    await self._sleep(attempt, None)
                    continue
                self._count(method, "rpc_error")
                raise
            except RpcTimeout as exc:
                self._count(method, "timeout")
                if range_call:
                    raise RangeTooLarge(str(exc)) from exc
                last = exc
                self._failover(exc)
            except RpcHttpError as exc:
                if exc.status == 429:
                    self._count(method, "rate_limited")
                    last = exc
                    await self._sleep(attempt, exc.retry_after)
                    continue
                if exc.status == 413 and range_call:
                    raise RangeTooLarge(str(exc)) from exc
                self._count(method, f"http_{exc.status}")
                last = exc
                self._failover(exc)
            except RpcTransportError as exc:
                self._count(method, "transport")
                last = exc
                self._failover(exc)
            await self._sleep(attempt, None)
        raise ChainUnavailable(f"{method} failed {self._max_attempts} times; last error: {last}")

    def _count(self, method: str, kind: str) -> None:
        if self._errors is not None:
            self._errors.labels(method, kind).inc()

    def _failover(self, exc: Exception) -> None:
        if len(self._clients) > 1:
            old = self.url
            self._current = (self._current + 1) % len(self._clients)
            log.warning("rpc failover", from_url=old, to_url=self.url, error=str(exc)[:200])

    async def _sleep(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(self._backoff_max, max(0.0, retry_after))
        else:
            delay = min(self._backoff_max, self._backoff_base * 2**attempt)
            delay = delay * (0.5 + self._rng.random())  # jitter
        await asyncio.sleep(delay)

    async def call(self, method: str, *params: Any) -> Any:
        return await self._with_retries(method, lambda c: c.call(method, *params))

    async def batch(self, method: str, calls: Sequence[Sequence[Any]]) -> list[Any]:
        """One JSON-RPC batch of the same method (chunks of 200 calls)."""
        out: list[Any] = []
        for i in range(0, len(calls), 200):
            chunk: list[tuple[str, list[Any]]] = [(method, list(p)) for p in calls[i : i + 200]]

            async def send(c: JsonRpcClient, ch: list[tuple[str, list[Any]]] = chunk) -> list[Any]:
                return await c.batch(ch)

            out.extend(await self._with_retries(method, send))
        return out

    # ------------------------------------------------------------------ chain reads

    async def chain_id(self) -> int:
        return int(await self.call("eth_chainId"), 16)

    async def head(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def tagged(self, tag: str) -> int:
        block = await self.call("eth_getBlockByNumber", tag, False)
        if block is None:  # e.g. no block finalized yet
            raise ChainUnavailable(f"the node has no '{tag}' block")
        return int(block["number"], 16)

    async def code_at(self, address: str) -> str:
        return str(await self.call("eth_getCode", address, "latest"))

    async def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]:
        blocks = await self.batch("eth_getBlockByNumber", [[hex(n), False] for n in numbers])
        out = {}
        for n, b in zip(numbers, blocks, strict=True):
            if b is None:
                raise ChainMismatch(f"block {n} is not (yet) on the chain")
            out[n] = _header(b)
        return out

    async def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[RawLog]:
        params = {"fromBlock": hex(first), "toBlock": hex(last), "address": list(addresses)}
        raw = await self._with_retries(
            "eth_getLogs", lambda c: c.call("eth_getLogs", params), range_call=True
        )
        return [_log(x) for x in raw]

    async def logs_by_block_hash(
        self, hashes: Sequence[str], addresses: Sequence[str]
    ) -> list[list[RawLog]]:
        try:
            replies = await self.batch(
                "eth_getLogs", [[{"blockHash": h, "address": list(addresses)}] for h in hashes]
            )
        except RpcError as exc:
            # EIP-234: a blockHash the node does not know (any more) is an error, not an empty
            # list: the block was reorged away between reading its header and its logs
            if _UNKNOWN_BLOCK.search(exc.message):
                raise ChainMismatch(f"a block vanished while reading its logs: {exc}") from exc
            raise
        return [[_log(x) for x in reply] for reply in replies]

    async def transactions(self, hashes: Sequence[str]) -> dict[str, ChainTransaction]:
        """The transactions that emitted tracked logs. No receipts: a transaction that emitted
        a log succeeded (a reverted one leaves no logs), so its status is 1, and a mined
        transaction's ``gasPrice`` is the price it paid (geth: the effective price)."""
        out: dict[str, ChainTransaction] = {}
        for i in range(0, len(hashes), 200):  # parsed chunk by chunk: the raw dicts are big
            chunk = hashes[i : i + 200]
            txs = await self.batch("eth_getTransactionByHash", [[h] for h in chunk])
            self._parse_transactions(chunk, txs, out)
        return out

    @staticmethod
    def _parse_transactions(
        hashes: Sequence[str], txs: list[Any], out: dict[str, ChainTransaction]
    ) -> None:
        for h, tx in zip(hashes, txs, strict=True):
            if tx is None or tx.get("blockHash") is None:
                raise ChainMismatch(f"transaction {h} vanished (reorg in progress)")
            out[h] = ChainTransaction(
                hash=h,
                block_number=int(tx["blockNumber"], 16),
                block_hash=tx["blockHash"],
                from_address=to_checksum_address(tx["from"]),
                to_address=to_checksum_address(tx["to"]) if tx.get("to") else None,
                value=int(tx["value"], 16),
                gas=int(tx["gas"], 16),
                gas_price=int(tx.get("gasPrice") or "0x0", 16),
                input=bytes.fromhex((tx.get("input") or "0x")[2:]),
                status=1,
                tx_index=int(tx["transactionIndex"], 16),
            )

    async def eth_call(self, to: str, data: str, block: int | str = "latest") -> str:
        tag = hex(block) if isinstance(block, int) else block
        return str(await self.call("eth_call", {"to": to, "data": data}, tag))


def _parse_hint(message: str) -> int | None:
    m = _HINT.search(message)
    if not m:
        return None
    return int(m.group(2), 16) - int(m.group(1), 16) + 1


def _header(b: dict[str, Any]) -> BlockHeader:
    return BlockHeader(
        number=int(b["number"], 16),
        hash=b["hash"],
        parent_hash=b["parentHash"],
        timestamp=int(b["timestamp"], 16),
        gas_used=int(b.get("gasUsed") or "0x0", 16),
        gas_limit=int(b.get("gasLimit") or "0x0", 16),
        miner=to_checksum_address(b.get("miner") or "0x" + "00" * 20),
        size=int(b.get("size") or "0x0", 16),
    )


def _log(x: dict[str, Any]) -> RawLog:
    return RawLog(
        address=to_checksum_address(x["address"]),
        topics=tuple(x["topics"]),
        data=x["data"],
        block_number=int(x["blockNumber"], 16),
        block_hash=x["blockHash"],
        tx_hash=x["transactionHash"],
        tx_index=int(x["transactionIndex"], 16),
        log_index=int(x["logIndex"], 16),
    )
