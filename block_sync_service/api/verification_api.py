"""VerificationService over gRPC (hosted by the block sync process, which owns the chain
client; its own service so clients and health checks can tell it apart)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import grpc

from block_sync_service.application.verification import MethodError, TxVerifier
from block_sync_service.domain.errors import ChainUnavailable
from block_sync_service.domain.verification import Verdict
from block_sync_service.infrastructure.signatures import (
    ChainCaller,
    SignatureInputError,
    signable,
    verify_signature,
)
from common import validation
from common.grpc_errors import abort, invalid
from common.jsonrpc import RpcError, RpcTransportError
from novapb.verification.v1 import verification_pb2 as pb
from novapb.verification.v1 import verification_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["VerificationService"].full_name
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})+$")
MAX_CONFIRMATIONS = 1_000_000


def _optional_address(value: str, field: str) -> str | None:
    return validation.address(value, field) if value else None


def _value(value: str) -> int | None:
    if not value:
        return None
    if not validation.is_decimal(value) or len(value) > 78 or int(value) >= 2**256:
        raise validation.InvalidInput("value", f"not a uint256 in decimal: {value!r}")
    return int(value)


def _confirmations(value: int) -> int:
    if value > MAX_CONFIRMATIONS:
        raise validation.InvalidInput(
            "min_confirmations", f"must be <= {MAX_CONFIRMATIONS}, got {value}"
        )
    return value


def signature_bytes(value: str) -> bytes:
    if not _HEX.match(value or ""):
        raise validation.InvalidInput("signature", f"not 0x-hex bytes: {value!r}")
    raw = bytes.fromhex(value[2:])
    if len(raw) > 4096:
        raise validation.InvalidInput("signature", f"{len(raw)} bytes is too long")
    return raw


def _pb(v: Verdict) -> pb.TxVerdict:
    return pb.TxVerdict(
        verdict=v.verdict,
        reasons=v.reasons,
        block_number=v.block_number,
        block_hash=v.block_hash,
        confirmations=v.confirmations,
        log_index=v.log_index,
        mismatches=[
            pb.Mismatch(field=m.field, expected=m.expected, actual=m.actual) for m in v.mismatches
        ],
        final=v.final,
    )


class VerificationServicer(pb_grpc.VerificationServiceServicer):
    def __init__(self, verifier: TxVerifier, chain: ChainCaller) -> None:
        self.verifier = verifier
        self.chain = chain

    async def _run(self, context: Any, work: Any) -> Any:
        try:
            return await work()
        except (validation.InvalidInput, MethodError, SignatureInputError) as exc:
            await invalid(context, str(exc))
        except (ChainUnavailable, RpcError, RpcTransportError) as exc:  # the node: 503, named
            await abort(context, grpc.StatusCode.UNAVAILABLE, f"chain unreachable: {exc}")

    async def VerifyTransfer(self, request: pb.VerifyTransferRequest, context: Any) -> pb.TxVerdict:
        async def work() -> pb.TxVerdict:
            tx = validation.tx_hash(request.tx_hash, "tx_hash")
            sender = _optional_address(getattr(request, "from"), "from")
            recipient = _optional_address(request.to, "to")
            value = _value(request.value)
            conf = _confirmations(request.min_confirmations)
            return _pb(await self.verifier.transfer(tx, sender, recipient, value, conf))

        return await self._run(context, work)  # type: ignore[no-any-return]

    async def VerifyContractCall(
        self, request: pb.VerifyContractCallRequest, context: Any
    ) -> pb.TxVerdict:
        async def work() -> pb.TxVerdict:
            tx = validation.tx_hash(request.tx_hash, "tx_hash")
            contract = validation.address(request.contract, "contract")
            conf = _confirmations(request.min_confirmations)
            try:
                verdict = await self.verifier.contract_call(
                    tx, contract, request.method or None, conf
                )
            except MethodError as exc:
                raise validation.InvalidInput("method", str(exc)) from exc
            return _pb(verdict)

        return await self._run(context, work)  # type: ignore[no-any-return]

    async def VerifySender(self, request: pb.VerifySenderRequest, context: Any) -> pb.TxVerdict:
        async def work() -> pb.TxVerdict:
            tx = validation.tx_hash(request.tx_hash, "tx_hash")
            expected = validation.address(request.expected_address, "expected_address")
            conf = _confirmations(request.min_confirmations)
            return _pb(await self.verifier.sender(tx, expected, conf))

        return await self._run(context, work)  # type: ignore[no-any-return]

    async def VerifyMessageSignature(
        self, request: pb.VerifyMessageSignatureRequest, context: Any
    ) -> pb.SignatureVerdict:
        async def work() -> pb.SignatureVerdict:
            address = validation.address(request.address, "address")
            sig = signature_bytes(request.signature)
            kind = request.WhichOneof("payload")
            s, method = signable(
                message=request.message if kind == "message" else None,
                message_hex=request.message_hex if kind == "message_hex" else None,
                typed_data_json=request.typed_data_json if kind == "typed_data_json" else None,
            )
            r = await verify_signature(self.chain, address, s, method, sig)
            return pb.SignatureVerdict(
                valid=r.valid, method=r.method, recovered=r.recovered, reason=r.reason
            )

        return await self._run(context, work)  # type: ignore[no-any-return]


def register(servicer: VerificationServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_VerificationServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
