"""Event envelopes as the block sync publishes them, for tests of the consumers' code."""

from __future__ import annotations

from common import events


def event(
    contract: str, name: str, block: int, log_index: int, **args: object
) -> events.EventEnvelope:
    """A decoded event of ``contract`` at (block, log index); its block hash, transaction hash
    and timestamp follow from the position."""
    return events.EventEnvelope(
        version=events.ENVELOPE_VERSION,
        chain_id=31337,
        event=events.ContractEvent(
            contract=contract,
            event=name,
            block_number=block,
            block_hash=f"0x{block:064x}",
            tx_hash=f"0x{block:032x}{log_index:032x}",
            log_index=log_index,
            block_timestamp=1_000 + block,
            args=events.encode_args(args),
        ),
    )


def revert(block: int) -> events.EventEnvelope:
    """A revert marker: everything above ``block`` is orphaned."""
    return events.EventEnvelope(
        version=events.ENVELOPE_VERSION, chain_id=31337, revert=events.RevertMarker(to_block=block)
    )


def progress(block: int, generation: int = 0) -> events.EventEnvelope:
    """A progress marker: every event through ``block`` is published (its timestamp as
    :func:`event` gives the block's)."""
    return events.EventEnvelope(
        version=events.ENVELOPE_VERSION,
        chain_id=31337,
        generation=generation,
        progress=events.Progress(
            block_number=block, block_hash=f"0x{block:064x}", block_timestamp=1_000 + block
        ),
    )
