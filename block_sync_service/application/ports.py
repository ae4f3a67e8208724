"""What the sync pipeline needs from the outside world, as small protocols."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol

from block_sync_service.domain.model import (
    BlockBatch,
    BlockHeader,
    ChainTransaction,
    Checkpoint,
    RawLog,
    Reorg,
)


class ChainReader(Protocol):
    async def head(self) -> int: ...

    async def tagged(self, tag: str) -> int:
        """The number of the node's block of ``tag`` (``safe``, ``finalized``)."""

    async def headers(self, numbers: Sequence[int]) -> dict[int, BlockHeader]: ...

    async def logs(self, first: int, last: int, addresses: Sequence[str]) -> list[RawLog]: ...

    async def logs_by_block_hash(
        self, hashes: Sequence[str], addresses: Sequence[str]
    ) -> list[list[RawLog]]: ...

    async def transactions(self, hashes: Sequence[str]) -> dict[str, ChainTransaction]: ...


class SyncStore(Protocol):
    async def open(self, start_block: int) -> tuple[Checkpoint, int]: ...

    async def window(self, lowest: int) -> dict[int, str]: ...

    async def stored_below(self, number: int, limit: int) -> list[tuple[int, str]]:
        """Stored blocks (number, hash) at or below ``number``, highest first, at most
        ``limit``."""

    async def commit(
        self,
        batch: BlockBatch,
        checkpoint: Checkpoint,
        epoch: int,
        head: int,
        after: Awaitable[None] | None = None,
    ) -> None:
        """Store the batch's rows and move the checkpoint, atomically. With ``after`` the rows
        may be written before it completes, but the checkpoint moves (and the transaction
        commits) only once it has; if it fails, nothing of this batch is stored."""

    async def revert(
        self, reorg: Reorg, epoch: int, now: int, generation: int, *, as_reorg: bool = True
    ) -> Checkpoint:
        """Delete what is above the ancestor; the checkpoint goes back to it, in
        ``generation``; recorded as the last reorg unless ``as_reorg`` is false (a rewind)."""

    async def begin_revert(self, to_block: int, epoch: int, generation: int) -> None:
        """Record a revert to ``to_block`` in the new ``generation`` before its marker is
        published; :meth:`revert` clears it (Fenced when ``epoch`` is no longer current)."""

    async def pending_revert(self) -> int | None:
        """The block of a revert begun and not completed (a crash in between), or None."""

    async def set_alarm(self, alarm: str | None) -> None: ...

    async def stored_logs(self, address: str, topic0: str) -> list[RawLog]:
        """The stored logs of ``address`` with that first topic, in chain order."""


class EventSink(Protocol):
    async def publish_batch(self, batch: BlockBatch, historical: bool, generation: int) -> int:
        """Publish the batch's events in chain order; return once durably acked."""

    async def publish_revert(self, reorg: Reorg, generation: int) -> None: ...

    def track(self, name: str, address: str) -> None:
        """Decode and route the logs of ``address`` as those of the contract ``name``."""


class HeadSignal(Protocol):
    async def wait(self, timeout_s: float) -> None:
        """Return when a new head was announced, or after the timeout."""
