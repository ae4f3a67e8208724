"""Verdict rules on transaction facts (pure): the order not_found > reorged > failed > mismatch
> pending > verified, the matching Transfer log, finality."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from block_sync_service.application.verification import MethodError, selector
from block_sync_service.domain.verification import (
    TransferLog,
    TxFacts,
    Verdict,
    verify_contract_call,
    verify_sender,
    verify_transfer,
)

A, B, C, T = (f"0x{i:040x}" for i in (0xA, 0xB, 0xC, 0x70))
H = "0x" + "11" * 32
BASE = TxFacts(
    head=110,
    found=True,
    block_number=100,
    block_hash=H,
    canonical_hash=H,
    sender=A,
    to=T,
    input="0xa9059cbb" + "00" * 64,
    transfers=(TransferLog(3, A, B, 50), TransferLog(7, A, C, 60)),
)


def _transfer(facts: TxFacts, **kw: Any) -> Verdict:
    args: dict[str, Any] = {
        "sender": None,
        "recipient": None,
        "value": None,
        "min_confirmations": 1,
        "final_depth": 64,
    }
    args.update(kw)
    return verify_transfer(facts, **args)


@pytest.mark.parametrize(
    ("facts", "kw", "verdict"),
    [
        (TxFacts(head=5, found=False), {}, "not_found"),
        (replace(BASE, canonical_hash="0x" + "22" * 32), {}, "reorged"),
        (replace(BASE, canonical_hash=None), {}, "reorged"),
        (replace(BASE, status=0), {"value": 1}, "failed"),
        (BASE, {"value": 1, "min_confirmations": 50}, "mismatch"),  # mismatch beats pending
        (BASE, {"value": 60, "min_confirmations": 12}, "pending"),
        (BASE, {"value": 60, "min_confirmations": 11}, "verified"),
        (replace(BASE, transfers=()), {}, "mismatch"),
    ],
)
def test_verdict_order(facts: TxFacts, kw: dict[str, object], verdict: str) -> None:
    assert _transfer(facts, **kw).verdict == verdict


def test_the_matching_log_and_the_closest_mismatch() -> None:
    v = _transfer(BASE, recipient=C.upper().replace("0X", "0x"), value=60)
    assert (v.verdict, v.log_index, v.confirmations) == ("verified", 7, 11)
    v = _transfer(BASE, sender=A, recipient=C, value=61)
    assert v.log_index == 7
    assert [(m.field, m.expected, m.actual) for m in v.mismatches] == [("value", "61", "60")]


def test_finality() -> None:
    assert not _transfer(BASE, final_depth=11).final
    assert _transfer(BASE, final_depth=10).final
    assert not _transfer(BASE, final_depth=0, min_confirmations=20).final


def test_contract_call_and_sender() -> None:
    ok = verify_contract_call(
        BASE, contract=T, selector="0xa9059cbb", min_confirmations=1, final_depth=64
    )
    assert ok.verdict == "verified"
    wrong = verify_contract_call(
        BASE, contract=B, selector="0x095ea7b3", min_confirmations=1, final_depth=64
    )
    assert [m.field for m in wrong.mismatches] == ["contract", "method"]
    deploy = replace(BASE, to=None, created=C, input="0x6080")
    assert (
        verify_contract_call(
            deploy, contract=C, selector=None, min_confirmations=1, final_depth=64
        ).verdict
        == "verified"
    )
    assert (
        verify_sender(
            BASE, expected=A.upper().replace("0X", "0x"), min_confirmations=1, final_depth=64
        ).verdict
        == "verified"
    )
    assert (
        verify_sender(BASE, expected=B, min_confirmations=1, final_depth=64).verdict == "mismatch"
    )


def test_selector() -> None:
    assert selector("transfer(address,uint256)") == "0xa9059cbb"
    assert selector("0xA9059CBB") == "0xa9059cbb"
    for bad in ("transfer", "0x123", "f(", "0xa9059cbbff"):
        with pytest.raises(MethodError):
            selector(bad)
