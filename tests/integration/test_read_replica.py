"""The query side on a real MariaDB replica (NOVA_DATABASE_READ_URL): two private servers, the
second replicating from the first. The token service reads from the replica while it has
applied what the consumer committed, from the primary while the replica lags or is down, and
a lagging replica's value never reaches the client or the cache, also across a reorg."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from common.db import migrate
from common.inprocess import InMemoryEventBus
from common.metrics import isolated_registry
from common.validation import checksum
from nova import stack
from novapb.token.v1 import token_pb2 as pb
from novapb.token.v1 import token_pb2_grpc as pb_grpc
from tests.chain_helpers import channel_to, running, started, wait_for
from tests.envelopes import event, revert
from tests.faults import REPLICA_OPTIONS, SOURCE_OPTIONS, PrivateMariaDB
from tests.names import cache_prefix
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.domain.ledger import ZERO_ADDRESS
from token_service.settings import TokenSettings

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
A, B = checksum(f"{0xA1:040x}"), checksum(f"{0xB2:040x}")  # as the block sync publishes them


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateMariaDB, ...]]:
    """(source, replica): row-based binlog on the source, GTID replication from its start."""
    root: Path = tmp_path_factory.mktemp("replication")
    source = PrivateMariaDB(root / "source", stack.free_port(), SOURCE_OPTIONS)
    replica = PrivateMariaDB(root / "replica", stack.free_port(), REPLICA_OPTIONS)
    try:
        for server in (source, replica):
            server.start()
        for name, server in (("source", source), ("replica", replica)):
            stack.wait_until(server.ready, f"private MariaDB ({name})", 60, server.proc)
        replica.replicate_from(source)
        yield source, replica
    finally:
        for server in (replica, source):
            server.stop()


def _transfer(
    block: int, frm: str, to: str, value: int, generation: int = 0
) -> tuple[bytes, bytes]:
    env = event(TOKEN, "Transfer", block, 0, **{"from": frm, "to": to, "value": value})
    env.generation = generation  # reverts the block sync has published before it
    return TOKEN.encode(), env.SerializeToString()


async def test_reads_use_the_replica_only_while_it_is_fresh(
    replicated: tuple[PrivateMariaDB, PrivateMariaDB],
    endpoints: stack.Endpoints,
    caplog: pytest.LogCaptureFixture,
) -> None:
    source, replica = replicated
    db = f"nova_test_replica_{uuid.uuid4().hex[:8]}"
    source.execute(f"CREATE DATABASE {db}")
    primary_url = f"{source.url}/{db}"
    migrate(primary_url)
    settings = TokenSettings(
        database_url=primary_url,
        database_read_url=f"{replica.url}/{db}",
        redis_url=endpoints.redis_url,
        cache_prefix=cache_prefix(),
        cache_ttl_s=600,  # a stale value cached now would still be served at the end
    )
    bus = InMemoryEventBus()
    async with contextlib.AsyncExitStack() as down:
        app = await started(down, token_bootstrap(settings, bus=bus, registry=isolated_registry()))
        assert app.reads is not None and app.consumer is not None
        reads, consumer = app.reads, app.consumer
        stub = pb_grpc.TokenServiceStub(await channel_to(down, app))
        running(down, app.run)

        async def balance(address: str) -> int:
            reply = await stub.GetBalance(pb.GetBalanceRequest(address=address))
            return int(reply.balance)

        def applied(block: int, generation: int = 0) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:  # committed, and its cache entries dropped (then only)
                done = consumer.committed is not None and consumer.committed[:2] == (
                    generation,
                    block,
                )
                return done and consumer.status.last_block == block

            return check

        # 1. the replica has caught up: it serves the reads
        await bus.publish(app.topic, [_transfer(1, ZERO_ADDRESS, A, 100)])
        await wait_for(applied(1), "the mint to be applied", 30)

        async def served_by_replica() -> bool:
            before = reads.served["replica"]
            async with reads.connect():
                pass
            return reads.served["replica"] > before

        await wait_for(served_by_replica, "the replica to catch up and serve a read", 30)
        assert await balance(A) == 100  # a miss, loaded from the replica, now cached
        assert reads.served["replica"] >= 2

        # 2. replication stops: the replica lags, so reads go to the primary (and, as it
        # lags for lag_warn_s, a warning says so)
        reads.lag_warn_s = 0.0
        caplog.set_level(logging.INFO, logger="common.read_replica")
        replica.execute("STOP SLAVE SQL_THREAD")
        await bus.publish(app.topic, [_transfer(2, A, B, 30)])
        await wait_for(applied(2), "the transfer to be applied", 30)
        lagging, primary = reads.fallbacks["lagging"], reads.served["primary"]
        assert await balance(A) == 70  # the replica still says 100
        assert await balance(B) == 30  # the replica has no row for B
        assert reads.fallbacks["lagging"] >= lagging + 2
        assert reads.served["primary"] >= primary + 2
        assert replica.execute(
            f"SELECT balance FROM {db}.token_balances WHERE address = '{A}'",  # noqa: S608
        ) == [(100,)], "the replica was meant to lag here"
        behind = [r for r in caplog.records if "replica behind" in r.getMessage()]
        assert behind and behind[0].levelno == logging.WARNING
        assert behind[0].fields["replica_mark"][1] == 1  # type: ignore[attr-defined]
        assert behind[0].fields["committed_mark"][1] == 2  # type: ignore[attr-defined]

        # 3. replication resumes: once caught up, the replica serves again; nothing stale cached
        replica.execute("START SLAVE SQL_THREAD")
        await wait_for(served_by_replica, "the replica to serve again after catching up", 30)
        assert (await balance(A), await balance(B)) == (70, 30)
        assert any("replica caught up" in r.getMessage() for r in caplog.records)
        reads.lag_warn_s = 30.0

        # 4. a reorg while the replica lags: its mark is at a higher block than the primary's
        # (block 2 against 1) but of the fork generation before the revert, so it still lags
        replica.execute("STOP SLAVE SQL_THREAD")
        reorg = revert(1)
        reorg.generation = 1
        await bus.publish(app.topic, [(TOKEN.encode(), reorg.SerializeToString())])
        await wait_for(applied(1, generation=1), "the revert to be applied", 30)
        lagging = reads.fallbacks["lagging"]
        assert (await balance(A), await balance(B)) == (100, 0)
        assert reads.fallbacks["lagging"] >= lagging + 2
        replica.execute("START SLAVE SQL_THREAD")
        await wait_for(served_by_replica, "the replica to serve again after the reorg", 30)
        assert (await balance(A), await balance(B)) == (100, 0)

        # 5. the replica goes down: reads still answer, from the primary
        replica.crash()
        await bus.publish(app.topic, [_transfer(2, A, B, 5, generation=1)])
        await wait_for(applied(2, generation=1), "the new fork's transfer to be applied", 30)
        down_before = reads.fallbacks["unavailable"]
        assert (await balance(A), await balance(B)) == (95, 5)
        assert reads.fallbacks["unavailable"] == down_before + 1  # then skipped for retry_s
        replica.start()
        await asyncio.to_thread(stack.wait_until, replica.ready, "replica restarted", 60)
    source.execute(f"DROP DATABASE {db}")


class SilentServer:
    """Accepts TCP connections and never answers (a hung replica, or one behind a proxy that
    lost its upstream): a MySQL client waits for the server's greeting forever."""

    def __init__(self) -> None:
        self.connections: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections.append(writer)

        self.server = await asyncio.start_server(hold, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def drop_all(self) -> None:
        for writer in self.connections:
            writer.close()

    async def stop(self) -> None:
        self.drop_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


async def test_a_replica_that_never_answers_costs_one_bounded_wait(
    mysql_url: str, endpoints: stack.Endpoints
) -> None:
    migrate(mysql_url)
    silent = SilentServer()
    port = await silent.start()
    settings = TokenSettings(
        database_url=mysql_url,
        database_read_url=f"mysql+aiomysql://root@127.0.0.1:{port}/nova",
        redis_url=endpoints.redis_url,
        cache_prefix=cache_prefix(),
    )
    bus = InMemoryEventBus()
    async with contextlib.AsyncExitStack() as down:
        down.push_async_callback(silent.stop)
        app = await started(down, token_bootstrap(settings, bus=bus, registry=isolated_registry()))
        assert app.reads is not None and app.consumer is not None
        reads, consumer = app.reads, app.consumer
        stub = pb_grpc.TokenServiceStub(await channel_to(down, app))
        running(down, app.run)
        await bus.publish(app.topic, [_transfer(1, ZERO_ADDRESS, A, 100)])

        async def applied() -> bool:
            return consumer.status.last_block == 1

        await wait_for(applied, "the mint to be applied", 30)

        async def balance(address: str) -> int:  # a hung read fails on the deadline
            reply = await stub.GetBalance(pb.GetBalanceRequest(address=address), timeout=15)
            return int(reply.balance)

        # the first read waits for the check (1 s), then reads the primary; the check is left
        # waiting, and while it waits the replica is not asked again
        assert await balance(A) == 100
        assert await balance(B) == 0
        assert reads.fallbacks["unavailable"] == 1 and reads.served["primary"] >= 2
        assert len(silent.connections) == 1, "one waiting connection at the most"

        # the server goes away (a restart): the waiting check fails, and the replica is tried
        # again on a read after retry_s
        reads.retry_s = 0
        silent.drop_all()

        async def check_settled() -> bool:
            return not reads.waiting

        await wait_for(check_settled, "the waiting check to fail", 30)
        assert await balance(f"0x{0xC3:040x}") == 0
        assert len(silent.connections) == 2
        assert reads.fallbacks["unavailable"] == 2
