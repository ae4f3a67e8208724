"""The token ledger: balances move only by Transfer (a mint is a Transfer from the zero address,
a burn a Transfer to it); Mint/Burn events are recorded, never counted a second time. Total
supply = minted - burned. Holders = addresses with a balance > 0. Times are block timestamps.

Allowances: ``approve`` and ``permit`` set one with an Approval event; ``transferFrom`` and
``burnFrom`` spend it with none (OpenZeppelin 5), always beside a Transfer of the amount from the
owner. So the last Approval's value is still ``allowance()`` unless such a Transfer came after it
(:func:`allowance_is_exact`); when one did, only ``allowance()`` through eth_call knows what is
left, as the events do not say which spender moved the tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
UNLIMITED = 2**256 - 1  # an allowance OpenZeppelin 5 never spends down


class NegativeBalance(ValueError):
    """Applying the events would make a balance negative: the index is inconsistent."""


@dataclass(frozen=True, slots=True)
class Transfer:
    tx_hash: str
    log_index: int
    block_hash: str
    block_number: int
    tx_index: int
    from_address: str
    to_address: str
    value: int
    timestamp: int

    @property
    def is_mint(self) -> bool:
        return self.from_address == ZERO_ADDRESS

    @property
    def is_burn(self) -> bool:
        return self.to_address == ZERO_ADDRESS


@dataclass(frozen=True, slots=True)
class Approval:
    tx_hash: str
    log_index: int
    block_number: int
    owner: str
    spender: str
    value: int
    timestamp: int


def allowance_is_exact(last_approval: int, owner_sent_since: bool) -> bool:
    """Whether the value of a pair's last Approval is still its ``allowance()``: nothing can
    have been spent from it unless the owner sent a Transfer of more than 0 since, and an
    allowance of 0 cannot be spent, one of 2^256-1 is never spent down."""
    return not owner_sent_since or last_approval in (0, UNLIMITED)


@dataclass(frozen=True, slots=True)
class IndexedAllowance:
    """A pair's last Approval as the index reads it at its head."""

    value: int  # of the pair's last Approval (0 without one)
    block: int  # the indexed head it is read at
    approved_at: int  # the block of that Approval, 0 without one
    exact: bool  # still allowance() at ``block``: no Transfer from the owner can have spent it


@dataclass(frozen=True, slots=True)
class SupplyEvent:
    """A Mint or Burn event: recorded for history, not applied to balances."""

    tx_hash: str
    log_index: int
    kind: str  # "mint" | "burn"
    account: str
    amount: int
    block_number: int
    timestamp: int


@dataclass(slots=True)
class Stats:
    minted: int = 0
    burned: int = 0
    holders: int = 0
    last_block: int = 0
    transfers: int = 0  # how many Transfer events are applied

    @property
    def total_supply(self) -> int:
        return self.minted - self.burned


def balance_deltas(transfers: Iterable[Transfer], sign: int = 1) -> dict[str, int]:
    """Net balance change per address (``sign=-1`` undoes the transfers)."""
    deltas: dict[str, int] = {}
    for t in transfers:
        if not t.is_mint:
            deltas[t.from_address] = deltas.get(t.from_address, 0) - sign * t.value
        if not t.is_burn:
            deltas[t.to_address] = deltas.get(t.to_address, 0) + sign * t.value
    return deltas


def supply_change(transfers: Iterable[Transfer], sign: int = 1) -> tuple[int, int]:
    """(minted, burned) change carried by the transfers."""
    minted = burned = 0
    for t in transfers:
        if t.is_mint:
            minted += sign * t.value
        if t.is_burn:
            burned += sign * t.value
    return minted, burned


def apply_deltas(
    balances: Mapping[str, int], deltas: Mapping[str, int]
) -> tuple[dict[str, int], int]:
    """New balances of the touched addresses and the change in the holder count."""
    new: dict[str, int] = {}
    holders = 0
    for address, delta in deltas.items():
        before = balances.get(address, 0)
        after = before + delta
        if after < 0:
            raise NegativeBalance(f"balance of {address} would be {after} (was {before})")
        new[address] = after
        holders += (after > 0) - (before > 0)
    return new, holders


def apply_transfers(
    stats: Stats, balances: Mapping[str, int], transfers: list[Transfer], sign: int = 1
) -> dict[str, int]:
    """Move balances and supply for ``transfers`` (sign=-1 reverts them); updates ``stats``."""
    new, holder_delta = apply_deltas(balances, balance_deltas(transfers, sign))
    minted, burned = supply_change(transfers, sign)
    stats.minted += minted
    stats.burned += burned
    stats.holders += holder_delta
    stats.transfers += sign * len(transfers)
    if stats.transfers < 0:
        raise NegativeBalance(f"transfer count would be {stats.transfers}")
    if stats.minted < 0 or stats.burned < 0 or stats.total_supply < 0:
        raise NegativeBalance(
            f"supply would be negative: minted {stats.minted}, burned {stats.burned}"
        )
    return new
