"""One active syncer per chain: MySQL/MariaDB GET_LOCK on a dedicated connection.

The lock keeps a second replica waiting; the fencing epoch in sync_state (taken after the lock)
makes a syncer that lost its lock unable to move the checkpoint. SQLite (embedded mode, one
process) needs neither and uses :class:`NoLock`.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from common.logging import get_logger

log = get_logger(__name__)


class NoLock:
    async def acquire(self, stop: asyncio.Event | None = None, *, wait: bool = True) -> bool:
        return True

    async def release(self) -> None:
        return None


MAX_NAME = 64  # MySQL and MariaDB refuse longer GET_LOCK names


def sync_lock_name(database: str | None, chain_id: int) -> str:
    """The lock of one index: a chain *in one database*. GET_LOCK names are server-wide, so a
    name of the chain alone would keep the syncer of a second index of that chain on the same
    server (a rebuild beside the live one, a staging schema) waiting forever."""
    name = f"nova-sync:{chain_id}:{database or ''}"
    if len(name) <= MAX_NAME:
        return name
    return "nova-sync:" + hashlib.sha256(name.encode()).hexdigest()[:40]


class MySqlLock:
    def __init__(self, engine: AsyncEngine, name: str, *, retry_s: float = 2.0) -> None:
        if not 0 < len(name) <= MAX_NAME:
            raise ValueError(f"lock name must be 1-{MAX_NAME} characters, got {len(name)}")
        self.engine = engine
        self.name = name
        self.retry_s = retry_s
        self._conn: AsyncConnection | None = None
        self.attempts = 0

    async def acquire(self, stop: asyncio.Event | None = None, *, wait: bool = True) -> bool:
        """Wait for the lock (until ``stop``; without ``wait``, one try); True once held."""
        waited = False
        while stop is None or not stop.is_set():
            self.attempts += 1
            conn = await self.engine.connect()
            got: Any = (
                await conn.execute(text("SELECT GET_LOCK(:n, 1)"), {"n": self.name})
            ).scalar()
            if got == 1:
                self._conn = conn
                log.info("sync lock acquired", lock=self.name)
                return True
            await conn.close()
            if not wait:
                return False
            if not waited:
                log.info("another syncer holds the lock; waiting", lock=self.name)
                waited = True
            await asyncio.sleep(self.retry_s)
        return False

    async def release(self) -> None:
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": self.name})
            finally:
                await self._conn.close()
                self._conn = None
