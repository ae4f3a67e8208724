"""Plain values for chain data. Numbers are Python ints; hashes and addresses 0x-hex strings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    gas_used: int = 0
    gas_limit: int = 0
    miner: str = "0x0000000000000000000000000000000000000000"
    size: int = 0


@dataclass(frozen=True, slots=True)
class RawLog:
    """A log as the node reported it. Identity: (block_hash, log_index)."""

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int

    @property
    def identity(self) -> tuple[str, int]:
        return (self.block_hash, self.log_index)


@dataclass(frozen=True, slots=True)
class ChainTransaction:
    hash: str
    block_number: int
    block_hash: str
    from_address: str
    to_address: str | None
    value: int
    gas: int
    gas_price: int
    input: bytes
    status: int
    tx_index: int


@dataclass(slots=True)
class BlockBatch:
    """Everything the pipeline learned about consecutive blocks ``first..last``.

    ``headers`` holds at least the last block and every block that carries a tracked log;
    in window mode it holds every block. ``addresses`` are those its logs were read for
    (lower case), when they include contracts followed since the start.
    """

    first: int
    last: int
    headers: dict[int, BlockHeader] = field(default_factory=dict)
    logs: list[RawLog] = field(default_factory=list)
    transactions: dict[str, ChainTransaction] = field(default_factory=dict)
    addresses: frozenset[str] = frozenset()

    @property
    def last_header(self) -> BlockHeader:
        return self.headers[self.last]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    number: int
    hash: str
    # the fork generation: how many reorgs the sync has reverted so far. Every published
    # record carries it, so a consumer can tell a replayed old record (an older generation)
    # from a new one, whatever its block number.
    generation: int = 0


@dataclass(frozen=True, slots=True)
class Reorg:
    ancestor: int  # highest block both forks share; state at this block stays
    orphaned: tuple[tuple[int, str], ...]  # (number, hash) of the stored blocks above it

    @property
    def depth(self) -> int:
        return len(self.orphaned)
