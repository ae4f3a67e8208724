"""The progress bar of `nova backfill`."""

from __future__ import annotations

import sys
import time

from block_sync_service.application.sync import SyncObserver, SyncStatus
from block_sync_service.domain.model import BlockBatch


class BackfillProgress(SyncObserver):
    """A progress bar on stderr: blocks done, events, rate and ETA."""

    def __init__(self, first: int, last: int) -> None:
        self.first, self.last = first, last
        self.started = time.monotonic()
        self.events = 0
        self._shown = 0.0

    def on_unit(self, status: SyncStatus, batch: BlockBatch, published: int) -> None:
        self.events += published
        now = time.monotonic()
        if now - self._shown < 0.5 and status.synced < self.last:
            return
        self._shown = now
        total = max(1, self.last - self.first + 1)
        done = max(0, min(total, status.synced - self.first + 1))
        elapsed = max(1e-6, now - self.started)
        rate = self.events / elapsed
        eta = (total - done) * elapsed / done if done else 0.0
        width = 30
        bar = "#" * (width * done // total) + "-" * (width - width * done // total)
        end = "\r" if sys.stderr.isatty() else "\n"
        print(
            f"[{bar}] blocks {done}/{total} events {self.events} {rate:,.0f} ev/s ETA {eta:,.0f}s",
            end=end,
            file=sys.stderr,
            flush=True,
        )
