"""IndexStatusService: each consumer service's own account of its index (how far it has
applied the chain, whether its consumer runs), served beside the service on its gRPC port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from common.consumer import SqlConsumer
from novapb.index.v1 import index_pb2 as pb
from novapb.index.v1 import index_pb2_grpc as pb_grpc

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["IndexStatusService"].full_name


class IndexStatusServicer(pb_grpc.IndexStatusServiceServicer):
    def __init__(self, domain: str, consumer: SqlConsumer) -> None:
        self.domain = domain
        self.consumer = consumer

    async def GetIndexStatus(
        self, request: pb.GetIndexStatusRequest, context: Any
    ) -> pb.GetIndexStatusResponse:
        status = self.consumer.status
        committed = self.consumer.committed  # None until the stored position is read
        return pb.GetIndexStatusResponse(
            domain=self.domain,
            applied_through=max(0, committed[1]) if committed is not None else 0,
            running=status.running,
            events_applied=status.applied,
            duplicates_dropped=status.duplicates,
            reverts_applied=status.reverts,
            error=status.error,
        )


def register(servicer: IndexStatusServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_IndexStatusServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
