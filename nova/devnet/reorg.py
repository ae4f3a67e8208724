"""Force a reorg on anvil (``anvil_reorg``) whose new blocks differ from the orphaned ones."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from common.jsonrpc import JsonRpcClient
from nova.devnet import artifacts
from nova.devnet.deploy import TOKEN, Manifest
from nova.devnet.simulate import holder_addresses


@dataclass(frozen=True)
class ReorgResult:
    depth: int
    first_orphaned: int
    head: int
    orphaned_hashes: list[str]
    new_hashes: list[str]


class ReorgError(RuntimeError):
    pass


async def force_reorg(
    rpc: JsonRpcClient, manifest: Manifest, depth: int, *, seed: int = 0
) -> ReorgResult:
    """Replace the last ``depth`` blocks with new ones that each carry a different NOVA mint
    (so the new fork has other events, not just other hashes). The orphaned blocks'
    transactions are dropped by anvil."""
    if depth < 1:
        raise ReorgError(f"depth must be >= 1, got {depth}")
    head = int(await rpc.call("eth_blockNumber"), 16)
    if depth > head - manifest.start_block:
        raise ReorgError(
            f"depth {depth} would orphan the deployment (head {head}, "
            f"contracts from block {manifest.start_block})"
        )
    first = head - depth + 1
    before = await _hashes(rpc, first, head)
    rng = random.Random(seed * 1_000_003 + head)
    token = manifest.address("NovaToken")
    tok = artifacts.load("NovaToken").abi
    holders = holder_addresses(seed or 1, 8)
    pairs: list[list[Any]] = []
    for offset in range(depth):
        amount = rng.randint(1, 1000) * TOKEN + rng.randint(0, 10**6)
        tx = {
            "from": manifest.deployer,
            "to": token,
            "data": tok.encode_call("mint", rng.choice(holders), amount),
            "gas": hex(200_000),
        }
        pairs.append([tx, offset])
    await rpc.call("anvil_reorg", depth, pairs)
    new_head = int(await rpc.call("eth_blockNumber"), 16)
    after = await _hashes(rpc, first, min(head, new_head))
    if any(a == b for a, b in zip(before, after, strict=False)):
        raise ReorgError("anvil_reorg left some block hashes unchanged")
    return ReorgResult(depth, first, new_head, before, after)


async def _hashes(rpc: JsonRpcClient, first: int, last: int) -> list[str]:
    blocks = await rpc.batch(
        [("eth_getBlockByNumber", [hex(n), False]) for n in range(first, last + 1)]
    )
    return [b["hash"] for b in blocks]
