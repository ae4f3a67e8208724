"""The seams shared by the services: event bus, cache and raw log archive.

Each port has an in-process adapter (:mod:`common.inprocess`, used by the embedded mode and as a
fake in unit tests) and a real one (:mod:`common.infrastructure`). One shared contract test per
port (``tests/contract``) runs against both.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class PortError(Exception):
    """A backend behind a port failed; the message says which and why."""


class RecordsGone(PortError):
    """Records a consumer has not read are no longer on the bus: deleted by the broker's
    retention, or lost with its log. Skipping to what is left would lose events silently, so
    the consumer stops; the chain has to be republished from the consumer's position."""


class CacheUnavailable(PortError):
    """The cache could not answer in time. Callers fall through to the database."""


# --------------------------------------------------------------------------- event bus


@dataclass(frozen=True, slots=True)
class BusRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class BusConsumer(Protocol):
    """Reads one topic's partitions from explicit offsets (the consumer stores its own offsets)."""

    async def partitions(self) -> list[int]: ...

    async def seek(self, partition: int, offset: int) -> None:
        """Next fetch from ``partition`` starts at ``offset`` (0 = the beginning)."""

    async def fetch(self, max_records: int, timeout_s: float) -> list[BusRecord]:
        """Up to ``max_records`` records, in offset order per partition; [] after the timeout.
        RecordsGone when the position is no longer on the bus (never a silent skip)."""

    async def end_offsets(self) -> dict[int, int]:
        """Per partition, the offset the next published record will get.

        For lag reporting only: tansu under-reports it after multi-record batches (it answers the
        last batch's base offset + 1), so no correctness decision may depend on it.
        """

    async def committed(self, offsets: Mapping[int, int]) -> None:
        """The consumer (its group) stored these next offsets with what it applied and will not
        seek below them again. Kafka keeps records by its retention (nothing to do); the
        in-process bus drops what every group reading a topic has committed."""

    async def close(self) -> None: ...


class EventBus(Protocol):
    async def create_topic(self, topic: str, partitions: int = 1) -> None:
        """Create ``topic`` if it does not exist (idempotent)."""

    async def publish(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> None:
        """Publish (key, value) pairs in order. Returns once every record is durably acked."""

    async def consumer(self, topic: str, group: str | None = None) -> BusConsumer:
        """A consumer of every partition of ``topic``, positioned at the beginning. ``group``
        names who reads: on a bus that drops what was read, what a group committed holds
        the rest for its next consumer (a restart after a failure seeks back to it)."""

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- cache


class Cache(Protocol):
    """A byte cache with TTLs. Errors raise :class:`CacheUnavailable`, never hang."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def delete(self, *keys: str) -> None:
        """Drop ``keys`` and announce it to every :meth:`watch` (see :class:`Invalidation`)."""

    async def clear(self, domain: str) -> None:
        """Drop every key of ``domain`` (``domain:...``), announced like a delete: for a
        writer that cannot know which of its deletes were lost (it restarted)."""

    def watch(self) -> AsyncGenerator[Invalidation, None]:
        """The invalidations from now on, for caches downstream of this one (the gateway's
        response cache). The first item is a resync (``domains`` None); then one item per
        ``delete``. Raises :class:`CacheUnavailable` when the feed is lost: announcements may
        have been missed, so the caller drops what it cached and watches again."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Invalidation:
    """One ``delete`` as its watchers see it: ``version`` counts the deletes of this cache
    (consecutive unless an announcement was missed), ``domains`` are the key prefixes before
    the first ``:`` of the deleted keys (``token``, ``staking``, ...). ``domains`` None is a
    resync: everything before ``version`` is to be taken as changed."""

    version: int
    domains: frozenset[str] | None


def key_domains(keys: Sequence[str]) -> frozenset[str]:
    return frozenset(k.partition(":")[0] for k in keys)


# --------------------------------------------------------------------------- log archive


@dataclass(frozen=True, slots=True)
class ArchivedLog:
    """A raw log as the chain reported it. Identity: (block_hash, log_index)."""

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    removed: bool = False
    # the fork generation of the record that last set ``removed``: its event's when stored or
    # live again, its revert marker's when marked removed (a replayed older record changes
    # nothing)
    generation: int = 0

    @property
    def key(self) -> str:
        return f"{self.block_hash}:{self.log_index}"


class LogArchive(Protocol):
    async def ensure_indexes(self) -> None: ...

    async def insert(self, logs: Sequence[ArchivedLog]) -> int:
        """Store logs; an already stored identity keeps what it holds, except that one marked
        ``removed`` at an older generation than the new record's is live again (the chain went
        back to its block: the sync publishes only canonical logs). Returns how many were new."""

    async def mark_removed(self, block_hashes: Sequence[str], generation: int) -> int:
        """Mark the live logs of these (orphaned) blocks ``removed``, those stored at an older
        generation than the revert marker's (``generation``). Returns how many changed."""

    async def find_by_block(self, block_number: int) -> list[ArchivedLog]: ...

    async def find_by_address(
        self, address: str, from_block: int, to_block: int
    ) -> list[ArchivedLog]: ...

    async def between(self, from_block: int, to_block: int) -> list[ArchivedLog]:
        """Every archived log of the blocks ``from_block..to_block``, removed ones too."""

    async def count(self, filters: Mapping[str, object] | None = None) -> int: ...

    async def close(self) -> None: ...
