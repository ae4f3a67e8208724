"""An in-process TokenRepository (unit tests): the same port, dicts instead of tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from token_service.domain.ledger import Approval, Stats, SupplyEvent, Transfer


class InMemoryTokenRepository:
    def __init__(self) -> None:
        self.balance: dict[str, int] = {}
        self.transfers: dict[tuple[str, int], Transfer] = {}
        self.approvals: dict[tuple[str, int], Approval] = {}
        self.supply_events: dict[tuple[str, int], SupplyEvent] = {}
        self._stats = Stats()

    async def balances(self, addresses: Sequence[str]) -> dict[str, int]:
        return {a: self.balance[a] for a in addresses if a in self.balance}

    async def save_balances(self, balances: dict[str, int], block: int) -> None:
        self.balance.update(balances)

    async def add(
        self,
        transfers: Sequence[Transfer],
        approvals: Sequence[Approval],
        supply_events: Sequence[SupplyEvent],
    ) -> None:
        for t in transfers:
            key = (t.tx_hash, t.log_index)
            if key in self.transfers:
                raise KeyError(f"duplicate transfer {key}")
            self.transfers[key] = t
        self.approvals.update({(a.tx_hash, a.log_index): a for a in approvals})
        self.supply_events.update({(s.tx_hash, s.log_index): s for s in supply_events})

    async def stats(self) -> Stats:
        return replace(self._stats)

    async def save_stats(self, stats: Stats) -> None:
        self._stats = replace(stats)

    async def transfers_above(self, block: int) -> list[Transfer]:
        return [t for t in self.transfers.values() if t.block_number > block]

    async def delete_above(self, block: int) -> None:
        for table in (self.transfers, self.approvals, self.supply_events):
            for key in [k for k, v in table.items() if v.block_number > block]:
                del table[key]
