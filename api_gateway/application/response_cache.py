"""The gateway's response cache: whole answers of the routes that depend on one service's
index only, kept until that index changes.

Correctness rests on the services' cache invalidations (``common.ports.Cache.watch``), not on
time: every committed batch of the token index deletes its cached keys, the delete is
announced, and an announcement for a domain retires every answer of that domain. So:
- an answer is only stored while the feed is live, and only if no announcement for its
  domain (and no resync) arrived while it was being computed: an answer read before a commit
  can never outlive the commit's announcement;
- a lost feed, or a gap in the announcements' numbering, drops everything; nothing is stored
  until the feed is back;
- ``ttl_s`` bounds what no announcement can cover (a service that died between its commit and
  its announcement): answers never outlive it, as the services' own cache entries outlive
  theirs. The default equals the ``max-age`` the routes already send to HTTP caches.
- size: least recently used answers go first beyond ``max_bytes``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from common.ports import Invalidation


@dataclass(frozen=True, slots=True)
class Answer:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    route: str  # the route template, for metrics


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the store looked like when an answer began to be computed."""

    session: int
    epochs: dict[str, int]


@dataclass(frozen=True, slots=True)
class _Entry:
    answer: Answer
    domain: str
    session: int
    epoch: int
    expires: float
    size: int


class ResponseStore:
    def __init__(
        self, ttl_s: float, max_bytes: int, clock: Callable[[], float], max_answer: int = 65_536
    ) -> None:
        if ttl_s <= 0 or max_bytes <= 0:
            raise ValueError("ttl_s and max_bytes must be > 0")
        self.ttl_s = ttl_s
        self.max_bytes = max_bytes
        self.max_answer = max_answer
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._live = False
        self._session = 0  # a new one on every resync and loss: older answers are void
        self._version = 0  # of the last announcement applied
        self._epochs: dict[str, int] = {}

    @property
    def live(self) -> bool:
        return self._live

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    # ----------------------------------------------------------------- the feed

    def apply(self, change: Invalidation) -> None:
        if change.domains is None:  # (re)subscribed: nothing older can be trusted
            self._reset(live=True)
        elif not self._live:
            return
        elif change.version != self._version + 1:  # missed announcements (or a reset counter)
            self._reset(live=True)
        else:
            for domain in change.domains:
                self._epochs[domain] = self._epochs.get(domain, 0) + 1
        self._version = change.version

    def lost(self) -> None:
        """The feed is gone: drop everything, store nothing until it is back."""
        self._reset(live=False)

    def _reset(self, live: bool) -> None:
        self._live = live
        self._session += 1
        self._epochs.clear()
        self._entries.clear()
        self._bytes = 0

    # ----------------------------------------------------------------- answers

    def get(self, key: str) -> Answer | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if (
            entry.session != self._session
            or entry.epoch != self._epochs.get(entry.domain, 0)
            or self._clock() >= entry.expires
        ):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry.answer

    def begin(self) -> Ticket | None:
        """Before computing an answer: None when nothing may be stored now."""
        if not self._live:
            return None
        return Ticket(self._session, dict(self._epochs))

    def put(self, key: str, domain: str, ticket: Ticket, answer: Answer) -> bool:
        """Store ``answer`` unless the domain changed since ``ticket`` (or it is too big)."""
        epoch = self._epochs.get(domain, 0)
        if (
            not self._live
            or ticket.session != self._session
            or ticket.epochs.get(domain, 0) != epoch
        ):
            return False
        size = len(answer.body) + len(key) + sum(len(k) + len(v) for k, v in answer.headers)
        if size > self.max_answer:
            return False
        if key in self._entries:
            self._drop(key)
        self._entries[key] = _Entry(
            answer, domain, self._session, epoch, self._clock() + self.ttl_s, size
        )
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
        return True

    def _drop(self, key: str) -> None:
        self._bytes -= self._entries.pop(key).size
