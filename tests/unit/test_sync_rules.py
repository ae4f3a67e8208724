"""Pure rules of the chain follower: reorg detection and adaptive log ranges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from block_sync_service.domain.rules import DeepReorgError, RangeSizer, find_reorg


def test_no_reorg_when_the_top_block_is_canonical() -> None:
    stored = {10: "a", 11: "b", 12: "c"}
    assert find_reorg(stored, {10: "a", 11: "b", 12: "c"}) is None


def test_walks_back_to_the_common_ancestor() -> None:
    stored = {10: "a", 11: "b", 12: "c", 13: "d"}
    reorg = find_reorg(stored, {10: "a", 11: "b", 12: "X", 13: "Y"})
    assert reorg is not None
    assert reorg.ancestor == 11
    assert reorg.orphaned == ((12, "c"), (13, "d"))
    assert reorg.depth == 2


def test_gaps_in_stored_blocks_compare_at_the_stored_heights() -> None:
    stored = {100: "a", 150: "b", 151: "c"}  # range mode stores only some blocks
    reorg = find_reorg(stored, {100: "a", 150: "B", 151: "C"})
    assert reorg is not None and reorg.ancestor == 100


def test_a_chain_that_got_shorter_orphans_the_missing_heights() -> None:
    reorg = find_reorg({5: "a", 6: "b", 7: "c"}, {5: "a"})
    assert reorg is not None and reorg.ancestor == 5 and reorg.depth == 2


def test_deeper_than_the_window_is_an_alarm() -> None:
    with pytest.raises(DeepReorgError, match="below the window"):
        find_reorg({5: "a", 6: "b"}, {5: "x", 6: "y"})


@given(st.integers(1, 64), st.integers(2, 40))
def test_reorg_depth_is_found_exactly(depth: int, extra: int) -> None:
    n = depth + extra
    stored = {i: f"h{i}" for i in range(n)}
    canonical = {i: (f"h{i}" if i < n - depth else f"new{i}") for i in range(n)}
    reorg = find_reorg(stored, canonical)
    assert reorg is not None
    assert reorg.depth == depth
    assert reorg.ancestor == n - depth - 1


def test_range_sizer_halves_uses_hints_and_grows_back() -> None:
    sizer = RangeSizer(size=1000, minimum=1, maximum=4000)
    assert sizer.shrink() == 500
    assert sizer.shrink(hint=100) == 100
    assert sizer.grow() == 100  # one success is not enough
    assert sizer.grow() == 200
    for _ in range(10):
        sizer.grow()
    assert sizer.size == 4000
    tiny = RangeSizer(size=1, minimum=1, maximum=10)
    assert tiny.shrink() == 1  # never below the minimum


def test_range_sizer_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="minimum"):
        RangeSizer(size=0)


def test_range_sizer_keeps_a_range_near_its_log_budget() -> None:
    sizer = RangeSizer(size=100, maximum=50_000)
    assert sizer.observe(100, 27_000, 5_000) == 18  # dense: shrink to the density
    assert sizer.observe(18, 4_860, 5_000) == 18  # near the budget: stay
    assert sizer.observe(18, 100, 5_000) == 18  # sparse: grow (after two successes)
    assert sizer.observe(18, 100, 5_000) == 36
    one = RangeSizer(size=1, maximum=10)
    assert one.observe(1, 99_999, 5_000) == 1  # one block is the floor, whatever it holds


@given(
    st.tuples(st.text(max_size=64), st.integers(1, 2**64)),
    st.tuples(st.text(max_size=64), st.integers(1, 2**64)),
)
def test_sync_lock_names_fit_and_tell_indexes_apart(a: tuple[str, int], b: tuple[str, int]) -> None:
    """One lock per chain *and database*, within GET_LOCK's 64 characters."""
    from block_sync_service.infrastructure.lock import MAX_NAME, sync_lock_name

    name_a, name_b = sync_lock_name(*a), sync_lock_name(*b)
    assert 0 < len(name_a) <= MAX_NAME
    assert name_a == sync_lock_name(*a)
    assert (name_a == name_b) == (a == b)
