"""Compare the indexed token state with the chain at one block (replaces the seed's
StateVerifier and its tx.value comparison): every known address's balance against
``balanceOf``, the supply against ``totalSupply``, and every allowance the index answers as
exact against ``allowance()`` (eth_call at that block); and the counts the index keeps
(transfers: every page's total; holders) against its own rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from common.validation import OutOfRange
from token_service.infrastructure.sql import TokenViews

if TYPE_CHECKING:  # only for annotations: a consumer that never verifies does not load them
    from common.abi import ContractABI
    from common.jsonrpc import JsonRpcClient


@dataclass
class TokenDrift:
    block: int
    checked: int = 0
    balance_drift: dict[str, tuple[int, int]] = field(default_factory=dict)  # indexed, chain
    supply: tuple[int, int] = (0, 0)
    count_drift: list[str] = field(default_factory=list)  # kept transfer counts vs the rows
    allowances: int = 0  # pairs checked: those the index answers as exact
    allowances_spent: int = 0  # pairs it answers from the chain (the owner sent since)
    allowance_drift: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    @property
    def drifts(self) -> int:
        supply = self.supply[0] != self.supply[1]
        return len(self.balance_drift) + supply + len(self.count_drift) + len(self.allowance_drift)

    @property
    def ok(self) -> bool:
        return self.drifts == 0

    def lines(self) -> list[str]:
        out = [
            f"block {self.block}: checked {self.checked} addresses, {self.allowances} allowances"
            f" (and {self.allowances_spent} the chain answers: owner sent since the Approval)"
        ]
        for address, (indexed, chain) in sorted(self.balance_drift.items()):
            out.append(
                f"DRIFT balance {address}: indexed {indexed} chain {chain} (diff {indexed - chain})"
            )
        if self.supply[0] != self.supply[1]:
            out.append(f"DRIFT supply: indexed {self.supply[0]} chain {self.supply[1]}")
        for (owner, spender), (indexed, chain) in sorted(self.allowance_drift.items()):
            out.append(f"DRIFT allowance {owner} -> {spender}: indexed {indexed} chain {chain}")
        out += [f"DRIFT {line}" for line in self.count_drift]
        summary = f"{len(self.balance_drift)} balance drifts"
        if self.allowance_drift:
            summary += f", {len(self.allowance_drift)} allowance drifts"
        if self.count_drift:
            summary += ", kept counts differ from the rows"
        out.append("OK: no drift" if self.ok else summary)
        return out


async def verify_token(
    views: TokenViews, rpc: JsonRpcClient, token: str, abi: ContractABI, block: int | None = None
) -> TokenDrift:
    """Drift between index and chain at ``block`` (default: the last indexed block)."""
    from common.jsonrpc import view_calls

    stats = await views.stats()
    at = stats.last_block if block is None else block
    if at > stats.last_block:
        raise OutOfRange(f"block {at} is above the last indexed block {stats.last_block}")
    indexed = await views.balances_at(at)
    later_supply = await _supply_at(views, at)
    addresses = sorted(indexed)
    drift = TokenDrift(block=at, checked=len(addresses))
    chain = await view_calls(rpc, token, abi, [("balanceOf", (a,)) for a in addresses], at)
    for address, balance in zip(addresses, chain, strict=True):
        if balance != indexed[address]:
            drift.balance_drift[address] = (indexed[address], balance)
    raw = await rpc.call("eth_call", {"to": token, "data": abi.encode_call("totalSupply")}, hex(at))
    drift.supply = (later_supply, int(abi.decode_result("totalSupply", raw)))
    drift.count_drift = await views.count_drift()
    pairs = await views.allowances_at(at)
    exact = [(o, s, a.value) for o, s, a in pairs if a.exact]
    drift.allowances, drift.allowances_spent = len(exact), len(pairs) - len(exact)
    chain = await view_calls(rpc, token, abi, [("allowance", (o, s)) for o, s, _ in exact], at)
    for (owner, spender, value), allowed in zip(exact, chain, strict=True):
        if allowed != value:
            drift.allowance_drift[(owner, spender)] = (value, allowed)
    return drift


async def _supply_at(views: TokenViews, block: int) -> int:
    """Indexed supply at ``block``: the current supply minus what later transfers minted/burned."""
    from token_service.domain.ledger import supply_change

    stats = await views.stats()
    later = await views.transfers_above(block)
    minted, burned = supply_change(later)
    return (stats.minted - minted) - (stats.burned - burned)
