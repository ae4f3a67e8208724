"""A consumer that meets a record it cannot apply stops, and its service stays up: it answers
from the index as it is (consistent, no longer moving), its gRPC health is NOT_SERVING, and
IndexStatus says why. Real SQLite, the in-process bus, the service's real gRPC server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.db import migrate
from common.inprocess import InMemoryCache, InMemoryEventBus
from common.metrics import isolated_registry
from novapb.index.v1 import index_pb2, index_pb2_grpc
from novapb.token.v1 import token_pb2, token_pb2_grpc
from tests import envelopes
from tests.chain_helpers import wait_for
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.settings import TokenSettings

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
HOLDER = "0x" + "11" * 20
ZERO = "0x" + "00" * 20


async def test_a_stopped_consumer_leaves_its_service_answering_and_saying_why(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'token.sqlite'}"
    migrate(db_url)
    bus = InMemoryEventBus()
    app = token_bootstrap(
        TokenSettings(database_url=db_url, grpc_port=0),
        bus=bus,
        cache=InMemoryCache(),
        registry=isolated_registry(),
    )
    await app.start()
    stop = asyncio.Event()
    running = None
    try:
        port = await app.serve_grpc()
        mint = envelopes.event(TOKEN, "Transfer", 5, 0, **{"from": ZERO, "to": HOLDER, "value": 7})
        await bus.publish(app.topic, [(b"k", mint.SerializeToString())])
        running = asyncio.create_task(app.run(stop))
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            status = index_pb2_grpc.IndexStatusServiceStub(channel)

            async def applied() -> bool:
                reply = await status.GetIndexStatus(index_pb2.GetIndexStatusRequest())
                return reply.running and reply.applied_through == 5

            await wait_for(applied, "the mint applied", 20)
            await bus.publish(app.topic, [(b"k", b"\xffnot proto")])

            async def stopped() -> bool:
                reply = await status.GetIndexStatus(index_pb2.GetIndexStatusRequest())
                return not reply.running and reply.error != ""

            await wait_for(stopped, "the consumer to stop", 20)
            reply = await status.GetIndexStatus(index_pb2.GetIndexStatusRequest())
            assert reply.domain == "token" and reply.applied_through == 5
            assert "undecodable record" in reply.error and reply.events_applied == 1
            token = token_pb2_grpc.TokenServiceStub(channel)
            balance = await token.GetBalance(token_pb2.GetBalanceRequest(address=HOLDER))
            assert (balance.balance, balance.block_number) == ("7", 5)
            health = health_pb2_grpc.HealthStub(channel)
            for name in ("", "token.v1.TokenService"):
                check = await health.Check(health_pb2.HealthCheckRequest(service=name))
                assert check.status == health_pb2.HealthCheckResponse.NOT_SERVING, name
            assert not running.done()  # the process is not gone: it waits for its stop
        stop.set()
        await asyncio.wait_for(running, 10)
    finally:
        stop.set()
        if running is not None and not running.done():
            running.cancel()
        await app.close()
