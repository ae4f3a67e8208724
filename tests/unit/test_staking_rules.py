"""Staking rules: rewards table-driven and property-based, claims, lifecycle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staking_service.domain.staking import (
    HOUR,
    Stake,
    StakingRuleError,
    claim,
    claimed_through,
    rewards_owed,
    unstake,
)

T0 = 1_700_000_000


def stake(amount: int = 1000, last: int = T0, sid: int = 1) -> Stake:
    return Stake(sid, "0xUser", amount, T0, last, 10, "0xtx")


@pytest.mark.parametrize(
    ("amount", "rate", "elapsed", "expected"),
    [
        (1000, 1, 0, 0),  # zero at start
        (1000, 1, HOUR - 1, 0),  # only whole hours count
        (1000, 1, HOUR, 10),  # 1000 * 1 * 1 / 100
        (1000, 1, 5 * HOUR + 59, 50),
        (999, 1, HOUR, 9),  # integer division, like the contract
        (10**27, 3, 24 * HOUR, 10**27 * 3 * 24 // 100),  # big amounts stay exact
        (1000, 0, 10 * HOUR, 0),
    ],
)
def test_rewards_table(amount: int, rate: int, elapsed: int, expected: int) -> None:
    assert rewards_owed(stake(amount), rate, T0 + elapsed) == expected


@given(st.integers(1, 10**30), st.integers(0, 50), st.integers(0, 10**7), st.integers(0, 10**7))
def test_rewards_are_monotone_in_time(amount: int, rate: int, a: int, b: int) -> None:
    s = stake(amount)
    early, late = sorted((a, b))
    assert rewards_owed(s, rate, T0 + early) <= rewards_owed(s, rate, T0 + late)
    assert isinstance(rewards_owed(s, rate, T0 + late), int)


def test_rewards_before_the_last_claim_and_after_unstake_are_zero() -> None:
    assert rewards_owed(stake(), 1, T0 - 10 * HOUR) == 0
    s = stake()
    unstake(s, T0 + 10 * HOUR, 20)
    assert rewards_owed(s, 1, T0 + 20 * HOUR) == 0


def test_claim_moves_only_whole_hours_of_active_stakes() -> None:
    a, b, gone = stake(sid=1), stake(last=T0 + 1800, sid=2), stake(sid=3)
    unstake(gone, T0, 11)
    moved = claim([a, b, gone], T0 + 2 * HOUR + 100)
    assert moved == {1: T0, 2: T0 + 1800}
    assert a.last_claim_time == T0 + 2 * HOUR  # the partial hour keeps accruing
    assert b.last_claim_time == T0 + 1800 + HOUR
    assert gone.last_claim_time == T0
    assert claim([a], T0 + 2 * HOUR + 200) == {}  # nothing whole to pay: nothing moves


def test_unstake_twice_is_refused() -> None:
    s = stake()
    unstake(s, T0 + 5, 12)
    assert (s.status, s.end_time, s.unstaked_block) == ("unstaked", T0 + 5, 12)
    with pytest.raises(StakingRuleError, match="already unstaked"):
        unstake(s, T0 + 6, 13)


@given(
    st.integers(0, 10 * HOUR),  # stake start, after T0
    st.lists(st.integers(0, 50 * HOUR), max_size=12),  # claim times after T0
    st.one_of(st.none(), st.integers(0, 60 * HOUR)),  # unstake time after T0, if any
)
def test_last_claim_time_follows_from_the_users_latest_claim(
    start: int, claims: list[int], end: int | None
) -> None:
    """Applying every claim by the contract's rule (unstaking claims first) leaves exactly
    the time claimed_through derives from the latest claim alone."""
    s = stake(last=T0 + start)
    s.start_time = T0 + start
    ended = None if end is None else T0 + max(end, start)
    times = sorted(T0 + c for c in claims)
    for t in times:  # the user's claims: those before the stake or after its end move nothing
        if t >= s.start_time and (ended is None or t < ended):
            claim([s], t)
    if ended is not None:
        claim([s], ended)  # unstake claims first
        unstake(s, ended, 99)
    latest = max([0, *times, *([ended] if ended is not None else [])])
    assert claimed_through(s.start_time, s.end_time, s.active, latest) == s.last_claim_time
