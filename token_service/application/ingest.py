"""Apply NovaToken events (and revert markers) to the token ledger, batch by batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from common import events
from token_service.domain.ledger import (
    Approval,
    Stats,
    SupplyEvent,
    Transfer,
    apply_transfers,
)

BALANCE_KEY = "token:balance:{}"
SUPPLY_KEY = "token:supply"
HOLDERS_KEY = "token:holders"
LAST_BLOCK_KEY = "token:last_block"  # the index's head: changes with every applied batch


class TokenRepository(Protocol):
    """The token aggregate's storage, bound to one transaction."""

    async def balances(self, addresses: Sequence[str]) -> dict[str, int]: ...

    async def save_balances(self, balances: dict[str, int], block: int) -> None: ...

    async def add(
        self,
        transfers: Sequence[Transfer],
        approvals: Sequence[Approval],
        supply_events: Sequence[SupplyEvent],
    ) -> None: ...

    async def stats(self) -> Stats: ...

    async def save_stats(self, stats: Stats) -> None: ...

    async def transfers_above(self, block: int) -> list[Transfer]: ...

    async def delete_above(self, block: int) -> None: ...


def decode(env: events.EventEnvelope) -> Transfer | Approval | SupplyEvent | None:
    """A token event as a domain value; None for events other services care about."""
    e = env.event
    arg = events.scalar_arg
    if e.event == "Transfer":
        return Transfer(
            e.tx_hash,
            e.log_index,
            e.block_hash,
            e.block_number,
            e.tx_index,
            arg(e, "from"),
            arg(e, "to"),
            int(arg(e, "value")),
            e.block_timestamp,
        )
    if e.event == "Approval":
        return Approval(
            e.tx_hash,
            e.log_index,
            e.block_number,
            arg(e, "owner"),
            arg(e, "spender"),
            int(arg(e, "value")),
            e.block_timestamp,
        )
    if e.event in ("Mint", "Burn"):
        account = arg(e, "to" if e.event == "Mint" else "from")
        return SupplyEvent(
            e.tx_hash,
            e.log_index,
            e.event.lower(),
            account,
            int(arg(e, "amount")),
            e.block_number,
            e.block_timestamp,
        )
    return None


async def apply_batch(repo: TokenRepository, envelopes: Sequence[events.EventEnvelope]) -> set[str]:
    """Apply events in order; a revert marker undoes everything above its block first, a
    progress marker moves the index's head (``last_block``) to its block. Returns the cache
    keys whose values changed."""
    keys: set[str] = set()
    transfers: list[Transfer] = []
    approvals: list[Approval] = []
    supply: list[SupplyEvent] = []
    last_block = through = -1

    async def flush() -> None:
        nonlocal transfers, approvals, supply, through
        if transfers or approvals or supply:
            await _apply(repo, transfers, approvals, supply, last_block, through, keys)
        elif through >= 0:
            await _advance(repo, through, keys)
        transfers, approvals, supply, through = [], [], [], -1

    for env in envelopes:
        body = env.WhichOneof("body")
        if body == "revert":
            await flush()
            await revert_to_block(repo, env.revert.to_block, keys)
            continue
        if body == "progress":
            through = max(through, env.progress.block_number)
            continue
        item = decode(env)
        last_block = max(last_block, env.event.block_number)
        if isinstance(item, Transfer):
            transfers.append(item)
        elif isinstance(item, Approval):
            approvals.append(item)
        elif isinstance(item, SupplyEvent):
            supply.append(item)
    await flush()
    return keys


async def _apply(
    repo: TokenRepository,
    transfers: list[Transfer],
    approvals: list[Approval],
    supply: list[SupplyEvent],
    block: int,
    through: int,
    keys: set[str],
) -> None:
    stats = await repo.stats()
    touched = sorted({t.from_address for t in transfers} | {t.to_address for t in transfers})
    current = await repo.balances(touched)
    new = apply_transfers(stats, current, transfers)
    stats.last_block = max(stats.last_block, block, through)
    await repo.add(transfers, approvals, supply)
    await repo.save_balances(new, block)
    await repo.save_stats(stats)
    keys.update(BALANCE_KEY.format(a) for a in new)
    keys.add(LAST_BLOCK_KEY)
    if transfers:
        keys.update((SUPPLY_KEY, HOLDERS_KEY))


async def _advance(repo: TokenRepository, block: int, keys: set[str]) -> None:
    """Applied through ``block`` with no token event since the last batch."""
    stats = await repo.stats()
    if block > stats.last_block:
        stats.last_block = block
        await repo.save_stats(stats)
        keys.add(LAST_BLOCK_KEY)


async def revert_to_block(repo: TokenRepository, block: int, keys: set[str]) -> None:
    """Undo every effect above ``block`` exactly: reverse the stored transfers, delete rows."""
    undone = await repo.transfers_above(block)
    stats = await repo.stats()
    touched = sorted({t.from_address for t in undone} | {t.to_address for t in undone})
    current = await repo.balances(touched)
    new = apply_transfers(stats, current, undone, sign=-1)
    stats.last_block = min(stats.last_block, block)
    await repo.delete_above(block)
    await repo.save_balances(new, block)
    await repo.save_stats(stats)
    keys.update(BALANCE_KEY.format(a) for a in new)
    keys.update((SUPPLY_KEY, HOLDERS_KEY, LAST_BLOCK_KEY))
