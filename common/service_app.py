"""What the token, staking and governance processes share: the engine, the consumer of the
service's domain topic, its gRPC server, an RPC client made on first use, and the order in which
all of that starts and stops. Each service's composition root adds its views and servicer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from common import events
from common.cache_aside import CacheAside
from common.consumer import ConsumerStopped, Handler, SqlConsumer
from common.db import create_engine, snapshot_reads
from common.grpc_server import RunningServer, serve
from common.logging import get_logger
from common.metrics import Metrics
from common.ports import EventBus
from common.read_replica import ReadSide

if TYPE_CHECKING:
    from grpc import aio

    from common.jsonrpc import JsonRpcClient

log = get_logger(__name__)


class ServiceSettings(Protocol):
    @property
    def database_url(self) -> str: ...
    @property
    def kafka_topic_prefix(self) -> str: ...
    @property
    def grpc_host(self) -> str: ...
    @property
    def grpc_port(self) -> int: ...
    @property
    def database_read_url(self) -> str | None: ...
    @property
    def rpc_urls(self) -> str | None: ...
    @property
    def consumer_batch(self) -> int: ...


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass(kw_only=True)
class ConsumerApp(Generic[SettingsT]):
    domain: ClassVar[str]  # its topic's domain, also its consumer group and cache domain
    service_name: ClassVar[str]  # the gRPC service, for health and reflection

    settings: SettingsT
    bus: EventBus
    metrics: Metrics
    cache: CacheAside | None = None
    engine: Any = None
    consumer: SqlConsumer | None = None
    reads: ReadSide | None = None  # what the views read through (a replica when fresh)
    _read_engine: Any = None  # SQLite: the views' own engine, reading in one snapshot
    grpc: RunningServer | None = None
    _rpc: JsonRpcClient | None = None

    @property
    def topic(self) -> str:
        return events.topic_name(self.settings.kafka_topic_prefix, self.domain)

    @property
    def has_rpc(self) -> bool:
        return bool(self.settings.rpc_urls)

    def rpc(self) -> JsonRpcClient:
        """The client of the first RPC URL, made on first use: a consumer that never calls the
        chain does not import the HTTP client (~45 ms of each process's start)."""
        if self._rpc is None:
            from common.jsonrpc import JsonRpcClient

            if not self.settings.rpc_urls:
                raise RuntimeError("no RPC URL configured (NOVA_RPC_URLS)")
            self._rpc = JsonRpcClient(self.settings.rpc_urls.split(",")[0])
        return self._rpc

    async def _start_consumer(self, handle: Handler) -> ReadSide:
        """The engine and the consumer; returns what the views read through."""
        self.engine = create_engine(self.settings.database_url)
        await self.bus.create_topic(self.topic)
        self.consumer = consumer = SqlConsumer(
            self.bus,
            self.engine,
            self.domain,
            self.topic,
            handle,
            cache=self.cache,
            cache_domain=self.domain if self.cache is not None else None,
            metrics=self.metrics,
            batch_size=self.settings.consumer_batch,
        )
        replica_url = self.settings.database_read_url
        self._read_engine = snapshot_reads(self.settings.database_url)
        self.reads = ReadSide(
            self._read_engine or self.engine,
            create_engine(replica_url) if replica_url else None,
            group=self.domain,
            topic=self.topic,
            required=lambda: consumer.committed,
            metrics=self.metrics,
        )
        return self.reads

    async def _serve(self, register: Callable[[aio.Server], None], port: int | None) -> int:
        """The service's servicer, and IndexStatusService beside it (the consumer's status)."""
        from common import index_status

        assert self.consumer is not None
        status = index_status.register(index_status.IndexStatusServicer(self.domain, self.consumer))

        def both(server: aio.Server) -> None:
            register(server)
            status(server)

        self.grpc = await serve(
            both,
            [self.service_name, index_status.SERVICE_NAME],
            self.settings.grpc_port if port is None else port,
            host=self.settings.grpc_host,
        )
        log.info("gRPC service listening", service=self.service_name, port=self.grpc.port)
        return self.grpc.port

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``. A consumer that stops on a record it cannot apply (logged
        as CONSUMER STOPPED) leaves the index as it is, consistent but no longer moving: the
        service goes on answering from it, its health says NOT_SERVING and IndexStatus says
        why, until ``stop`` (an exit would only restart into the same record)."""
        assert self.consumer is not None
        try:
            await self.consumer.run(stop)
        except ConsumerStopped:
            if self.grpc is not None:
                from grpc_health.v1 import health_pb2

                for name in ("", self.service_name):
                    await self.grpc.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
            await stop.wait()

    async def close(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(2)
        if self._rpc is not None:
            await self._rpc.close()
        await self.bus.close()
        if self.cache is not None:
            await self.cache.close()
        if self.reads is not None:
            await self.reads.close()
        if self._read_engine is not None:
            await self._read_engine.dispose()
        if self.engine is not None:
            await self.engine.dispose()
