"""The log archive contract: every adapter of ``common.ports.LogArchive`` passes these."""

from __future__ import annotations

from dataclasses import replace

import pytest

from common.ports import ArchivedLog, LogArchive

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def _log(
    block: int, index: int, address: str = TOKEN, block_hash: str | None = None
) -> ArchivedLog:
    return ArchivedLog(
        address=address,
        topics=("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",),
        data="0x" + f"{block * 1000 + index:064x}",
        block_number=block,
        block_hash=block_hash or f"0x{block:064x}",
        tx_hash=f"0x{block * 1000 + index:064x}",
        tx_index=0,
        log_index=index,
    )


class LogArchiveContract:
    @pytest.fixture
    async def archive(self):  # pragma: no cover - overridden
        raise NotImplementedError

    async def test_insert_and_find(self, archive: LogArchive) -> None:
        await archive.ensure_indexes()
        logs = [_log(b, i) for b in (1, 2, 3) for i in range(3)] + [_log(2, 9, OTHER)]
        assert await archive.insert(logs) == 10
        block2 = await archive.find_by_block(2)
        assert [(x.address, x.log_index) for x in block2] == [
            (TOKEN.lower(), 0),
            (TOKEN.lower(), 1),
            (TOKEN.lower(), 2),
            (OTHER.lower(), 9),
        ]
        assert block2[0].data == logs[3].data
        assert block2[0].topics == logs[3].topics
        ranged = await archive.find_by_address(TOKEN, 2, 3)
        assert [(x.block_number, x.log_index) for x in ranged] == [
            (2, 0),
            (2, 1),
            (2, 2),
            (3, 0),
            (3, 1),
            (3, 2),
        ]
        assert await archive.find_by_address(OTHER.lower(), 0, 10) == [
            x for x in block2 if x.log_index == 9
        ]

    async def test_replayed_logs_are_stored_once(self, archive: LogArchive) -> None:
        logs = [_log(5, i) for i in range(4)]
        assert await archive.insert(logs[:2]) == 2
        assert await archive.insert(logs) == 2
        assert await archive.count() == 4

    async def test_orphaned_blocks_are_marked_removed_not_deleted(
        self, archive: LogArchive
    ) -> None:
        canonical = [_log(7, i) for i in range(2)]
        orphan = [_log(8, i, block_hash="0x" + "ab" * 32) for i in range(3)]
        await archive.insert(canonical + orphan)
        assert await archive.mark_removed(["0x" + "ab" * 32], 1) == 3
        assert await archive.mark_removed(["0x" + "ab" * 32], 1) == 0
        block8 = await archive.find_by_block(8)
        assert len(block8) == 3
        assert all(x.removed for x in block8)
        assert not any(x.removed for x in await archive.find_by_block(7))
        assert await archive.count({"removed": True}) == 3
        # the new fork's logs at the same height live beside the removed ones
        await archive.insert([_log(8, 0, block_hash="0x" + "cd" * 32)])
        assert await archive.count({"block_number": 8}) == 4

    async def test_a_block_canonical_again_has_its_logs_live_again(
        self, archive: LogArchive
    ) -> None:
        """A -> B -> A: the chain went back to a block it had left; the sync publishes its
        logs again (a newer fork generation), and the archive must not keep them marked
        removed. Records replayed from older generations change nothing."""
        a1, b2 = "0x" + "a1" * 32, "0x" + "b2" * 32
        first = [_log(9, i, block_hash=a1) for i in range(3)]
        other = [replace(_log(9, 0, block_hash=b2), generation=1)]
        await archive.insert(first)  # generation 0
        assert await archive.mark_removed([a1], 1) == 3
        assert await archive.insert(first) == 0  # a replay of generation 0: still removed
        assert await archive.count({"removed": True}) == 3
        await archive.insert(other)
        assert await archive.mark_removed([b2], 2) == 1
        again = [replace(x, generation=2) for x in first[:2]]
        assert await archive.insert(again) == 0  # stored before: not new, but live again
        block9 = {(x.block_hash, x.log_index): x.removed for x in await archive.find_by_block(9)}
        assert block9 == {(a1, 0): False, (a1, 1): False, (a1, 2): True, (b2, 0): True}
        # the revert marker that orphaned A, replayed: A's logs stay live
        assert await archive.mark_removed([a1], 1) == 0
        assert await archive.insert(other) == 0  # B replayed: still removed
        assert await archive.count({"removed": True}) == 2

    async def test_between_lists_a_block_range_removed_logs_too(self, archive: LogArchive) -> None:
        await archive.insert([_log(b, i) for b in (20, 21, 22, 23) for i in range(2)])
        await archive.insert([_log(22, 0, OTHER, block_hash="0x" + "ef" * 32)])
        await archive.mark_removed(["0x" + "ef" * 32], 1)
        got = await archive.between(21, 22)
        assert [(x.block_number, x.log_index) for x in got] == [
            (21, 0),
            (21, 1),
            (22, 0),
            (22, 0),
            (22, 1),
        ]
        assert sorted((x.block_number, x.log_index, x.removed) for x in got)[2:4] == [
            (22, 0, False),
            (22, 0, True),
        ]
        assert await archive.between(24, 30) == []
