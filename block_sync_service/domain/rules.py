"""Pure rules of following a chain: where two forks meet, how big a log range may be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from block_sync_service.domain.model import Reorg


class DeepReorgError(Exception):
    """The chain diverged below every stored block of the window: never continue silently."""


def find_reorg(stored: Mapping[int, str], canonical: Mapping[int, str]) -> Reorg | None:
    """Compare stored block hashes with the chain's current ones (same heights).

    Returns None when the highest stored block is still canonical; otherwise the highest
    common block and the orphaned stored blocks above it. Raises DeepReorgError when no stored
    block matches (the fork point is below the window).
    """
    if not stored:
        return None
    heights = sorted(stored, reverse=True)
    if canonical.get(heights[0]) == stored[heights[0]]:
        return None
    orphaned: list[tuple[int, str]] = []
    for n in heights:
        if canonical.get(n) == stored[n]:
            return Reorg(ancestor=n, orphaned=tuple(reversed(orphaned)))
        orphaned.append((n, stored[n]))
    raise DeepReorgError(
        f"reorg below the window: none of the {len(stored)} stored blocks "
        f"{heights[-1]}..{heights[0]} is canonical any more"
    )


@dataclass
class RangeSizer:
    """Adaptive eth_getLogs range: halve on "too large"/timeouts, grow back on success."""

    size: int = 2_000
    minimum: int = 1
    maximum: int = 50_000
    grow_after: int = 2  # successes in a row before growing

    def __post_init__(self) -> None:
        if not 1 <= self.minimum <= self.size <= self.maximum:
            raise ValueError(f"need 1 <= minimum <= size <= maximum, got {self}")
        self._streak = 0

    def shrink(self, hint: int | None = None) -> int:
        """After a rejected range. ``hint`` = a size the provider said it accepts."""
        self._streak = 0
        new = max(self.minimum, self.size // 2)
        if hint is not None and self.minimum <= hint < self.size:
            new = hint
        self.size = new
        return self.size

    def grow(self) -> int:
        self._streak += 1
        if self._streak >= self.grow_after:
            self._streak = 0
            self.size = min(self.maximum, self.size * 2)
        return self.size

    def observe(self, blocks: int, logs: int, max_logs: int) -> int:
        """After an accepted range of ``blocks`` blocks holding ``logs`` logs: keep a range's
        logs near ``max_logs`` (what a unit holds in memory), else grow."""
        if logs > max_logs and blocks > 1:
            self._streak = 0
            self.size = max(self.minimum, min(self.size, blocks * max_logs // logs))
            return self.size
        if logs * 2 > max_logs:  # dense enough already: doubling would overshoot
            self._streak = 0
            return self.size
        return self.grow()


@dataclass(frozen=True, slots=True)
class Follow:
    """Contracts that an event of a tracked contract names, followed from that event's block
    on: NovaGovernor's ``TimelockChange(oldTimelock, newTimelock)`` names the timelock its
    proposals are queued on from then (``updateTimelock``), whose direct executions and
    cancellations change their state with no governor event."""

    emitter: str  # the tracked contract, lower case
    topic0: str  # the event's signature hash, lower case
    name: str  # what the named contract is (its ABI and domain), e.g. "NovaTimelock"
    word: int  # the 32-byte word of the event's data that holds the named address

    def named_by(self, address: str, topics: Sequence[str], data: str) -> str | None:
        """The address this log names (lower case), or None: another event, or the zero
        address."""
        if not topics or topics[0].lower() != self.topic0 or address.lower() != self.emitter:
            return None
        start = 2 + 64 * self.word + 24
        named = data[start : start + 40].lower()
        if len(named) != 40 or int(named, 16) == 0:
            return None
        return "0x" + named
