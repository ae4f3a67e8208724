"""Allowances as the chain has them: the index's answer while it can know the value
(:func:`~token_service.domain.ledger.allowance_is_exact`), else ``allowance()`` asked of the
chain, for every such spender of a page in one call; without a chain, or while it fails, the
index's value, said inexact."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from common.logging import get_logger
from token_service.domain.ledger import IndexedAllowance

log = get_logger(__name__)

# allowance(owner, spender) of each spender at the chain's head, and that head
OnChainAllowances = Callable[[str, Sequence[str]], Awaitable[tuple[list[int], int]]]


@dataclass(frozen=True, slots=True)
class Allowance:
    value: int
    block: int  # the block it is read at: the indexed head, or the chain's
    source: str  # "indexed" or "chain"
    exact: bool  # the value is allowance() at ``block``
    approved_at: int  # the block of the pair's last indexed Approval, 0 without one


async def current(
    owner: str,
    indexed: Sequence[tuple[str, IndexedAllowance]],
    chain: OnChainAllowances | None,
) -> list[Allowance]:
    """Each (spender, indexed allowance) of ``owner`` answered as the chain has it."""
    spenders = [spender for spender, a in indexed if not a.exact]
    asked: dict[str, int] = {}
    head = 0
    if spenders and chain is not None:
        try:
            values, head = await chain(owner, spenders)
            asked = dict(zip(spenders, values, strict=True))
        except Exception as exc:  # noqa: BLE001 - answer the index's values, said inexact
            log.warning("allowance: chain unreachable, answering the index", error=str(exc))
    return [
        Allowance(asked[spender], head, "chain", True, a.approved_at)
        if spender in asked
        else Allowance(a.value, a.block, "indexed", a.exact, a.approved_at)
        for spender, a in indexed
    ]
