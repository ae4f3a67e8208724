"""Verdicts on a transaction, from what the chain says about it (pure rules, no I/O).

The seed's TransactionVerifier compared ``tx.value`` (always 0 for a token transfer: the amount
is in the Transfer log), recovered a "signer" from the tx hash bytes and knew no confirmations.
Here a verdict is decided in this order, the first that applies wins:

    not_found  the node has no receipt (and we never saw the tx in a block)
    reorged    the tx's block (as the receipt says, or as we saw it before) is no longer the
               canonical block at its height
    failed     the tx reverted (receipt status 0)
    mismatch   it did something else than claimed (each differing field: expected vs actual)
    pending    fewer confirmations than asked (confirmations = head - block + 1)
    verified

A verdict is ``final`` when the tx is deeper than the reorg window: it cannot change any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERIFIED = "verified"
PENDING = "pending"
NOT_FOUND = "not_found"
FAILED = "failed"
MISMATCH = "mismatch"
REORGED = "reorged"
CACHEABLE = frozenset({VERIFIED, FAILED, MISMATCH})


@dataclass(frozen=True, slots=True)
class TransferLog:
    log_index: int
    sender: str  # EIP-55
    recipient: str
    value: int


@dataclass(frozen=True, slots=True)
class TxFacts:
    """What the chain says about one transaction, gathered by the application layer."""

    head: int
    found: bool
    block_number: int = 0
    block_hash: str = ""
    canonical_hash: str | None = None  # the hash at block_number now (None: height not mined)
    status: int = 1
    sender: str = ""
    to: str | None = None
    created: str | None = None  # contract address, for a deployment
    input: str = "0x"
    transfers: tuple[TransferLog, ...] = ()  # the token's Transfer logs in the receipt


@dataclass(slots=True)
class Mismatch:
    field: str
    expected: str
    actual: str


@dataclass(slots=True)
class Verdict:
    verdict: str
    reasons: list[str] = field(default_factory=list)
    block_number: int = 0
    block_hash: str = ""
    confirmations: int = 0
    log_index: int = -1
    mismatches: list[Mismatch] = field(default_factory=list)
    final: bool = False


def _lower(address: str | None) -> str:
    return (address or "").lower()


def _inclusion(facts: TxFacts, final_depth: int) -> Verdict:
    """not_found / reorged / failed, else a provisional ``verified`` with the block and the
    confirmations filled in."""
    if not facts.found:
        return Verdict(NOT_FOUND, ["the node has no receipt for this transaction"])
    v = Verdict(
        VERIFIED,
        block_number=facts.block_number,
        block_hash=facts.block_hash,
        confirmations=max(0, facts.head - facts.block_number + 1),
    )
    if facts.canonical_hash != facts.block_hash:
        v.verdict = REORGED
        v.confirmations = 0
        now = facts.canonical_hash or "no block yet"
        v.reasons.append(
            f"block {facts.block_number} {facts.block_hash} is no longer canonical (now {now})"
        )
        return v
    v.final = v.confirmations > final_depth
    if facts.status != 1:
        v.verdict = FAILED
        v.reasons.append("the transaction reverted (receipt status 0)")
    return v


def _conclude(v: Verdict, min_confirmations: int) -> Verdict:
    if v.mismatches:
        v.verdict = MISMATCH
        v.reasons.extend(
            f"{m.field}: expected {m.expected}, actual {m.actual}" for m in v.mismatches
        )
    elif v.confirmations < max(1, min_confirmations):
        v.verdict = PENDING
        v.final = False
        v.reasons.append(f"{v.confirmations} confirmations, {min_confirmations} asked")
    return v


def verify_transfer(
    facts: TxFacts,
    *,
    sender: str | None,
    recipient: str | None,
    value: int | None,
    min_confirmations: int,
    final_depth: int,
) -> Verdict:
    """A token Transfer log matching every given field; with several, the first that matches
    (its log index is reported). None matching: the closest one's differences."""
    v = _inclusion(facts, final_depth)
    if v.verdict != VERIFIED:
        return v

    def diff(t: TransferLog) -> list[Mismatch]:
        out = []
        if sender is not None and _lower(sender) != _lower(t.sender):
            out.append(Mismatch("from", sender, t.sender))
        if recipient is not None and _lower(recipient) != _lower(t.recipient):
            out.append(Mismatch("to", recipient, t.recipient))
        if value is not None and value != t.value:
            out.append(Mismatch("value", str(value), str(t.value)))
        return out

    if not facts.transfers:
        v.mismatches.append(Mismatch("transfer", "a NovaToken Transfer log", "none"))
        return _conclude(v, min_confirmations)
    diffs = [(len(d), i, t, d) for i, (t, d) in enumerate((t, diff(t)) for t in facts.transfers)]
    _, _, best, mismatches = min(diffs, key=lambda x: (x[0], x[1]))
    v.log_index = best.log_index
    v.mismatches = mismatches
    return _conclude(v, min_confirmations)


def verify_contract_call(
    facts: TxFacts,
    *,
    contract: str,
    selector: str | None,
    min_confirmations: int,
    final_depth: int,
) -> Verdict:
    """``to`` is the contract (or the tx created it) and the calldata starts with ``selector``
    (0x + 8 hex, lower case)."""
    v = _inclusion(facts, final_depth)
    if v.verdict != VERIFIED:
        return v
    target = facts.to if facts.to else facts.created
    if _lower(target) != _lower(contract):
        v.mismatches.append(Mismatch("contract", contract, target or "none"))
    if selector is not None and facts.to:  # a deployment has no selector
        actual = facts.input[:10].lower() if len(facts.input) >= 10 else facts.input
        if actual != selector:
            v.mismatches.append(Mismatch("method", selector, actual))
    return _conclude(v, min_confirmations)


def verify_sender(
    facts: TxFacts, *, expected: str, min_confirmations: int, final_depth: int
) -> Verdict:
    v = _inclusion(facts, final_depth)
    if v.verdict != VERIFIED:
        return v
    if _lower(facts.sender) != _lower(expected):
        v.mismatches.append(Mismatch("from", expected, facts.sender))
    return _conclude(v, min_confirmations)
