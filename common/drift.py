"""What a ``nova verify`` run found: the block it compared at, what it checked, each drift."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_LINES = 20  # drift lines printed; the count says how many there were


@dataclass
class DriftReport:
    """A verifier's report; a subclass counts what it checked and says so in :meth:`compared`.
    Each drift is one line naming the row and both values ("log 12:3 data: stored .. chain .."),
    ``DRIFT``-prefixed when printed."""

    block: int
    drifts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.drifts

    def compared(self) -> str:
        raise NotImplementedError

    def lines(self) -> list[str]:
        out = [f"block {self.block}: checked {self.compared()}"]
        out += [f"DRIFT {d}" for d in self.drifts[:MAX_LINES]]
        if len(self.drifts) > MAX_LINES:
            out.append(f"... and {len(self.drifts) - MAX_LINES} more")
        out.append("OK: no drift" if self.ok else f"{len(self.drifts)} drifts")
        return out
