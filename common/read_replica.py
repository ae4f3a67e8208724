"""The query side's connections: a MySQL/MariaDB read replica when it is fresh enough, else the
primary (``NOVA_DATABASE_READ_URL``).

Fresh enough = the replica has applied everything this process's consumer has committed: its
``consumer_marks`` row, read first in the connection's transaction, is at or past the mark the
consumer last committed. Replication applies a primary transaction whole, and the mark moves in
the same transaction as the rows it covers, so every read in that connection sees at least that
state. A read therefore never serves, or caches, a value older than the primary held when the
consumer invalidated the cache: the cache-aside's guarantee, with a replica behind it. (Also
under parallel replication: every batch of a group updates the same mark row, so a replica
applies a group's batches in their order.)

A lagging replica costs one primary-key read before the read goes to the primary (and a
warning once it has lagged for ``lag_warn_s``, repeated every ``lag_warn_s``); a replica
that cannot be reached is skipped for ``retry_s`` (one warning, then the primary), and one that
does not answer within ``check_timeout_s`` too, for as long as that check waits (it is left to
finish, never cancelled: at most one connection waits on a hung replica). A replica that stops
answering in the middle of a query holds that query, as the primary would. Reads served and
fallbacks are counted (``nova_<service>_reads_total{served_by}``,
``nova_<service>_replica_fallbacks_total{reason}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.consumer import Mark, read_mark
from common.logging import get_logger
from common.metrics import Metrics

log = get_logger(__name__)


class Reads(Protocol):
    """What a service's views read through: an engine, or a :class:`ReadSide`."""

    def connect(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]: ...


class ReadSide:
    """Connections for reads: the replica when it has caught up with ``required()`` (the mark
    this process's consumer last committed; None = not known yet, so the primary), else the
    primary. Without a replica, simply the primary's connections."""

    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine | None,
        *,
        group: str,
        topic: str,
        required: Callable[[], Mark | None],
        metrics: Metrics | None = None,
        retry_s: float = 5.0,
        check_timeout_s: float = 1.0,
        lag_warn_s: float = 30.0,
    ) -> None:
        self.primary, self.replica = primary, replica
        self.group, self.topic = group, topic
        self.required = required
        self.retry_s, self.check_timeout_s = retry_s, check_timeout_s
        self.lag_warn_s = lag_warn_s
        self._lagging_since: float | None = None  # no read found it fresh since then
        self._lag_warned_at: float | None = None
        self._skip_until = 0.0
        self._hung: asyncio.Future[tuple[AsyncConnection, Mark]] | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self.served = {"replica": 0, "primary": 0}
        self.fallbacks = {"lagging": 0, "unavailable": 0}
        self._m_served = self._m_fallbacks = None
        if metrics is not None and replica is not None:
            self._m_served = metrics.counter(
                "reads_total",
                "Query-side connections, by the database that served them",
                ("served_by",),
            )
            self._m_fallbacks = metrics.counter(
                "replica_fallbacks_total",
                "Reads sent to the primary because the replica lagged or could not be reached",
                ("reason",),
            )

    @property
    def waiting(self) -> bool:
        """Whether a check that took too long still waits for the replica's answer."""
        return self._hung is not None

    def connect(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        if self.replica is None:
            return self.primary.connect()
        return self._connect()

    @contextlib.asynccontextmanager
    async def _connect(self) -> AsyncIterator[AsyncConnection]:
        replica = await self._fresh_replica()
        if replica is None:
            self._served("primary")
            async with self.primary.connect() as conn:
                yield conn
            return
        self._served("replica")
        try:
            yield replica
        finally:
            await replica.close()

    async def _fresh_replica(self) -> AsyncConnection | None:
        if self.replica is None:
            return None
        required = self.required()
        if required is None or time.monotonic() < self._skip_until:
            return None
        if self._hung is not None:  # an earlier check still waits for the replica's answer
            return None
        # bounded: a replica that accepts connections but never answers (hung, or behind a
        # dead proxy) would hold every read. The check is not cancelled when it takes too
        # long (a connection cancelled in its handshake leaks its socket): it is left to
        # finish, and the replica is skipped until it does
        check = asyncio.ensure_future(self._replica_mark())
        try:
            done, _ = await asyncio.wait({check}, timeout=self.check_timeout_s)
        except asyncio.CancelledError:
            self._leave(check)
            raise
        if not done:
            self._leave(check)
            self._unavailable(TimeoutError(f"no answer in {self.check_timeout_s} s"))
            return None
        try:
            conn, applied = check.result()
        except (OperationalError, DBAPIError) as exc:
            self._unavailable(exc)
            return None
        if applied < required:
            await _close_quietly(conn)
            self._fallback("lagging")
            self._lagging(applied, required)
            return None
        if self._lagging_since is not None:
            if self._lag_warned_at is not None:
                log.info(
                    "read replica caught up; reads go to it again",
                    group=self.group,
                    behind_s=round(time.monotonic() - self._lagging_since, 1),
                )
            self._lagging_since = self._lag_warned_at = None
        return conn

    async def _replica_mark(self) -> tuple[AsyncConnection, Mark]:
        assert self.replica is not None
        conn = await self.replica.connect()
        try:
            return conn, await read_mark(conn, self.group, self.topic)
        except BaseException:
            await _close_quietly(conn)
            raise

    def _leave(self, check: asyncio.Future[tuple[AsyncConnection, Mark]]) -> None:
        """Let a slow check finish on its own; its connection, if it gets one, is closed."""
        self._hung = check

        def settled(done: asyncio.Future[tuple[AsyncConnection, Mark]]) -> None:
            if self._hung is done:
                self._hung = None
            if done.cancelled():
                return
            if done.exception() is not None:  # its failure: skipped for retry_s from now
                self._skip_until = time.monotonic() + self.retry_s
                return
            closing = asyncio.ensure_future(_close_quietly(done.result()[0]))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

        check.add_done_callback(settled)

    def _lagging(self, applied: Mark, required: Mark) -> None:
        """A warning when the replica has stayed behind for ``lag_warn_s`` (then once per
        ``lag_warn_s``): every read goes to the primary meanwhile."""
        now = time.monotonic()
        if self._lagging_since is None:
            self._lagging_since = now
        if now - self._lagging_since < self.lag_warn_s:
            return
        if self._lag_warned_at is not None and now - self._lag_warned_at < self.lag_warn_s:
            return
        self._lag_warned_at = now
        log.warning(
            "read replica behind the primary; reads go to the primary",
            group=self.group,
            behind_s=round(now - self._lagging_since, 1),
            replica_mark=list(applied),
            committed_mark=list(required),
        )

    def _unavailable(self, exc: Exception) -> None:
        self._skip_until = time.monotonic() + self.retry_s
        self._fallback("unavailable")
        log.warning(
            "read replica unavailable; reading from the primary",
            group=self.group,
            retry_in_s=self.retry_s,
            error=str(getattr(exc, "orig", exc))[:200] or type(exc).__name__,
        )

    def _served(self, by: str) -> None:
        self.served[by] += 1
        if self._m_served is not None:
            self._m_served.labels(by).inc()

    def _fallback(self, reason: str) -> None:
        self.fallbacks[reason] += 1
        if self._m_fallbacks is not None:
            self._m_fallbacks.labels(reason).inc()

    async def close(self) -> None:
        if self._hung is not None:
            self._hung.cancel()
        if self.replica is not None:
            await self.replica.dispose()


async def _close_quietly(conn: AsyncConnection) -> None:
    with contextlib.suppress(OperationalError, DBAPIError, OSError):
        await conn.close()
