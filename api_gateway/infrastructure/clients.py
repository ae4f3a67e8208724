"""One grpc.aio channel per downstream service, calls with deadlines, health checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api_gateway.api.errors import from_grpc
from novapb.block_sync.v1 import block_sync_pb2_grpc
from novapb.governance.v1 import governance_pb2_grpc
from novapb.index.v1 import index_pb2, index_pb2_grpc
from novapb.staking.v1 import staking_pb2_grpc
from novapb.token.v1 import token_pb2_grpc
from novapb.verification.v1 import verification_pb2_grpc


@dataclass
class Downstream:
    name: str
    address: str
    channel: grpc.aio.Channel
    stub: Any
    health: health_pb2_grpc.HealthStub
    index: Any  # IndexStatusService, on the consumer services' ports


INDEXED = ("token", "staking", "governance")  # the services that keep an index
# the largest answer taken from a service: gRPC's default (4 MiB) refused a page of 1,000
# proposals or logs once they carried ~4 KB of description or data each, which real DAOs' do
MAX_ANSWER_BYTES = 64 * 1024 * 1024


class Clients:
    def __init__(
        self, addresses: dict[str, str], deadline_s: float, immutable_depth: int = 128
    ) -> None:
        self.immutable_depth = immutable_depth
        self.token_address: str | None = None
        self.token_info: dict[str, Any] = {}
        stubs = {
            "block_sync": block_sync_pb2_grpc.BlockSyncServiceStub,
            "token": token_pb2_grpc.TokenServiceStub,
            "staking": staking_pb2_grpc.StakingServiceStub,
            "governance": governance_pb2_grpc.GovernanceServiceStub,
            "verification": verification_pb2_grpc.VerificationServiceStub,
        }
        self.deadline_s = deadline_s
        self.services: dict[str, Downstream] = {}
        for name, address in addresses.items():
            channel = grpc.aio.insecure_channel(
                address, options=[("grpc.max_receive_message_length", MAX_ANSWER_BYTES)]
            )
            self.services[name] = Downstream(
                name,
                address,
                channel,
                stubs[name](channel),  # type: ignore[no-untyped-call]
                health_pb2_grpc.HealthStub(channel),
                index_pb2_grpc.IndexStatusServiceStub(channel)  # type: ignore[no-untyped-call]
                if name in INDEXED
                else None,
            )

    async def call(self, service: str, method: str, request: Any) -> Any:
        """``stub.method(request)`` with the deadline; gRPC errors become ApiError."""
        stub = self.services[service].stub
        try:
            return await getattr(stub, method)(request, timeout=self.deadline_s)
        except grpc.aio.AioRpcError as exc:
            raise from_grpc(exc, service) from exc

    async def load_token_info(self) -> None:
        """Name/symbol/decimals/address for the Etherscan subset (best effort at start)."""
        from novapb.token.v1 import token_pb2

        try:
            r = await self.call("token", "GetTokenInfo", token_pb2.GetTokenInfoRequest())
        except Exception:  # noqa: BLE001 - the token service may start later; retried lazily
            return
        self.token_address = r.address or None
        self.token_info = {"name": r.name, "symbol": r.symbol, "decimals": r.decimals}

    async def index_status(self, service: str) -> tuple[Any | None, str]:
        """A consumer service's account of its index, or None and the gRPC status name when
        it cannot be reached (best effort: a status page still answers)."""
        try:
            reply = await self.services[service].index.GetIndexStatus(
                index_pb2.GetIndexStatusRequest(), timeout=min(1.0, self.deadline_s)
            )
        except grpc.aio.AioRpcError as exc:
            return None, exc.code().name
        return reply, ""

    async def healthy(self, service: str) -> tuple[bool, str]:
        try:
            reply = await self.services[service].health.Check(
                health_pb2.HealthCheckRequest(service=""), timeout=min(1.0, self.deadline_s)
            )
        except grpc.aio.AioRpcError as exc:
            return False, exc.code().name
        ok = reply.status == health_pb2.HealthCheckResponse.SERVING
        return ok, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    async def close(self) -> None:
        for d in self.services.values():
            await d.channel.close(None)
