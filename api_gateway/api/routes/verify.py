"""On-chain verification (VerificationService, hosted by the block sync process)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from api_gateway.api.deps import ClientsDep
from api_gateway.api.models import (
    ErrorModel,
    MismatchModel,
    SignatureVerdictModel,
    TxVerdictModel,
    VerifyContractCallBody,
    VerifySenderBody,
    VerifySignatureBody,
    VerifyTransferBody,
)
from common import validation
from novapb.verification.v1 import verification_pb2 as pb

router = APIRouter(
    prefix="/verify",
    tags=["verification"],
    responses={413: {"model": ErrorModel, "description": "The body is above 256 KiB"}},
)


def verdict_model(v: Any) -> TxVerdictModel:
    return TxVerdictModel(
        verdict=v.verdict,
        reasons=list(v.reasons),
        block_number=v.block_number,
        block_hash=v.block_hash,
        confirmations=v.confirmations,
        log_index=v.log_index if v.log_index >= 0 else None,
        mismatches=[
            MismatchModel(field=m.field, expected=m.expected, actual=m.actual) for m in v.mismatches
        ],
        final=v.final,
    )


@router.post("/transfer", response_model=TxVerdictModel)
async def verify_transfer(body: VerifyTransferBody, clients: ClientsDep) -> TxVerdictModel:
    """Did this transaction move ``value`` NOVA from ``from`` to ``to`` (each optional), and is
    it final? Verdicts: verified, pending, not_found, failed, mismatch, reorged."""
    request = pb.VerifyTransferRequest(
        tx_hash=validation.tx_hash(body.tx_hash, "tx_hash"),
        to=validation.address(body.to, "to") if body.to else "",
        value=body.value or "",
        min_confirmations=body.min_confirmations,
    )
    if body.from_address:
        setattr(request, "from", validation.address(body.from_address, "from"))
    return verdict_model(await clients.call("verification", "VerifyTransfer", request))


@router.post("/contract-call", response_model=TxVerdictModel)
async def verify_contract_call(body: VerifyContractCallBody, clients: ClientsDep) -> TxVerdictModel:
    request = pb.VerifyContractCallRequest(
        tx_hash=validation.tx_hash(body.tx_hash, "tx_hash"),
        contract=validation.address(body.contract, "contract"),
        method=body.method or "",
        min_confirmations=body.min_confirmations,
    )
    return verdict_model(await clients.call("verification", "VerifyContractCall", request))


@router.post("/sender", response_model=TxVerdictModel)
async def verify_sender(body: VerifySenderBody, clients: ClientsDep) -> TxVerdictModel:
    request = pb.VerifySenderRequest(
        tx_hash=validation.tx_hash(body.tx_hash, "tx_hash"),
        expected_address=validation.address(body.expected_address, "expected_address"),
        min_confirmations=body.min_confirmations,
    )
    return verdict_model(await clients.call("verification", "VerifySender", request))


@router.post("/signature", response_model=SignatureVerdictModel)
async def verify_signature(body: VerifySignatureBody, clients: ClientsDep) -> SignatureVerdictModel:
    """EIP-191 (``message`` or ``message_hex``) or EIP-712 (``typed_data``) signatures; for a
    contract wallet, ERC-1271 ``isValidSignature`` on chain."""
    given = [k for k in ("message", "message_hex", "typed_data") if getattr(body, k) is not None]
    if len(given) != 1:
        raise validation.InvalidInput(
            "message", "give exactly one of message, message_hex, typed_data"
        )
    request = pb.VerifyMessageSignatureRequest(
        address=validation.address(body.address, "address"), signature=body.signature
    )
    if body.typed_data is not None:
        request.typed_data_json = json.dumps(body.typed_data)
    elif body.message_hex is not None:
        request.message_hex = body.message_hex
    else:
        request.message = body.message or ""
    r = await clients.call("verification", "VerifyMessageSignature", request)
    return SignatureVerdictModel(
        valid=r.valid, method=r.method, recovered=r.recovered or None, reason=r.reason
    )
