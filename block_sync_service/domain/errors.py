"""What can go wrong while following a chain, as the pipeline needs to tell it apart."""

from __future__ import annotations


class RangeTooLarge(Exception):
    """The node refused an eth_getLogs range (too many results, range limit, timeout)."""

    def __init__(self, message: str, hint: int | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class ChainUnavailable(Exception):
    """Every RPC URL failed, after retries."""


class ChainMismatch(Exception):
    """The node answered something inconsistent (a reorg raced the request): retry the unit."""


class Fenced(Exception):
    """Another syncer took over (its epoch is newer): this one must stop writing."""


class DecodeError(Exception):
    """A tracked log does not decode by its contract's ABI: sync stops with an alarm."""


class StoreUnavailable(Exception):
    """The database could not be reached or failed mid-transaction: retry the unit."""


class RewindRefused(Exception):
    """An operator's rewind that would not be safe or does nothing: the message says why and
    where to rewind instead."""
