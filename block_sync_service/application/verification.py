"""Verify transactions against the chain: gather the facts (receipt, transaction, canonical hash
at its height, head), let the domain rules decide, remember what was seen (so a tx whose block
was orphaned reads ``reorged``, not ``not_found``) and cache final verdicts (they never change).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any, Protocol

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from block_sync_service.domain.verification import (
    CACHEABLE,
    TransferLog,
    TxFacts,
    Verdict,
    verify_contract_call,
    verify_sender,
    verify_transfer,
)

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
_SELECTOR = re.compile(r"^0x[0-9a-fA-F]{8}$")
_SIGNATURE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\([A-Za-z0-9_,\[\]() ]*\)$")


class MethodError(ValueError):
    pass


class ChainCaller(Protocol):
    async def call(self, method: str, *params: Any) -> Any: ...


def selector(method: str) -> str:
    """``0xa9059cbb`` or ``transfer(address,uint256)`` -> ``0xa9059cbb``."""
    if _SELECTOR.match(method):
        return method.lower()
    if _SIGNATURE.match(method):
        return "0x" + keccak(text=method.replace(" ", ""))[:4].hex()
    raise MethodError(
        f"not a 4-byte selector (0x + 8 hex) or a signature like transfer(address,uint256): "
        f"{method!r}"
    )


class _Lru(OrderedDict[str, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class TxVerifier:
    def __init__(
        self, chain: ChainCaller, token: str, final_depth: int, cache_size: int = 10_000
    ) -> None:
        self.chain = chain
        self.token = token.lower()
        self.final_depth = final_depth
        self.seen = _Lru(cache_size)  # tx hash -> (block number, block hash)
        self.final = _Lru(cache_size)  # request key -> final Verdict
        self.cache_hits = 0

    async def facts(self, tx_hash: str) -> TxFacts:
        receipt = await self.chain.call("eth_getTransactionReceipt", tx_hash)
        head = int(await self.chain.call("eth_blockNumber"), 16)
        if receipt is None or not receipt.get("blockHash"):
            seen = self.seen.get(tx_hash)
            if seen is None:
                return TxFacts(head=head, found=False)
            canonical = await self._hash_at(seen[0])
            if canonical == seen[1]:  # the node forgot it without a reorg: say what it says
                return TxFacts(head=head, found=False)
            return TxFacts(
                head=head,
                found=True,
                block_number=seen[0],
                block_hash=seen[1],
                canonical_hash=canonical,
            )
        number, block_hash = int(receipt["blockNumber"], 16), receipt["blockHash"]
        tx = await self.chain.call("eth_getTransactionByHash", tx_hash) or {}
        canonical = await self._hash_at(number)
        if canonical == block_hash:
            self.seen.put(tx_hash, (number, block_hash))
        transfers = []
        for lg in receipt.get("logs", []):
            topics = lg.get("topics", [])
            if (
                lg.get("address", "").lower() == self.token
                and len(topics) == 3
                and topics[0] == TRANSFER_TOPIC
            ):
                transfers.append(
                    TransferLog(
                        int(lg["logIndex"], 16),
                        to_checksum_address("0x" + topics[1][-40:]),
                        to_checksum_address("0x" + topics[2][-40:]),
                        int(lg["data"], 16) if lg.get("data", "0x") != "0x" else 0,
                    )
                )
        created = receipt.get("contractAddress")
        return TxFacts(
            head=head,
            found=True,
            block_number=number,
            block_hash=block_hash,
            canonical_hash=canonical,
            status=int(receipt.get("status", "0x1"), 16),
            sender=to_checksum_address(receipt["from"]),
            to=to_checksum_address(receipt["to"]) if receipt.get("to") else None,
            created=to_checksum_address(created) if created else None,
            input=tx.get("input", "0x"),
            transfers=tuple(transfers),
        )

    async def _hash_at(self, number: int) -> str | None:
        block = await self.chain.call("eth_getBlockByNumber", hex(number), False)
        return None if block is None else str(block["hash"])

    async def _cached(self, key: str, tx_hash: str, decide: Any) -> Verdict:
        hit = self.final.get(key)
        if hit is not None:
            self.cache_hits += 1
            return hit  # type: ignore[no-any-return]
        verdict: Verdict = decide(await self.facts(tx_hash))
        if verdict.final and verdict.verdict in CACHEABLE:
            self.final.put(key, verdict)
        return verdict

    async def transfer(
        self,
        tx_hash: str,
        sender: str | None,
        recipient: str | None,
        value: int | None,
        min_confirmations: int,
    ) -> Verdict:
        key = f"transfer:{tx_hash}:{sender}:{recipient}:{value}:{min_confirmations}"
        return await self._cached(
            key,
            tx_hash,
            lambda f: verify_transfer(
                f,
                sender=sender,
                recipient=recipient,
                value=value,
                min_confirmations=min_confirmations,
                final_depth=self.final_depth,
            ),
        )

    async def contract_call(
        self, tx_hash: str, contract: str, method: str | None, min_confirmations: int
    ) -> Verdict:
        sel = selector(method) if method else None
        key = f"call:{tx_hash}:{contract}:{sel}:{min_confirmations}"
        return await self._cached(
            key,
            tx_hash,
            lambda f: verify_contract_call(
                f,
                contract=contract,
                selector=sel,
                min_confirmations=min_confirmations,
                final_depth=self.final_depth,
            ),
        )

    async def sender(self, tx_hash: str, expected: str, min_confirmations: int) -> Verdict:
        key = f"sender:{tx_hash}:{expected}:{min_confirmations}"
        return await self._cached(
            key,
            tx_hash,
            lambda f: verify_sender(
                f,
                expected=expected,
                min_confirmations=min_confirmations,
                final_depth=self.final_depth,
            ),
        )
