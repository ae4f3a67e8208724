"""Composition root of the staking service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection

from common import events
from common.adapters import make_bus, make_cache
from common.cache_aside import CacheAside
from common.consumer import SqlConsumer
from common.db import create_engine
from common.grpc_server import RunningServer, serve
from common.jsonrpc import JsonRpcClient
from common.logging import get_logger
from common.manifest import address_in, integer_in, read_manifest
from common.metrics import Metrics
from common.ports import Cache, EventBus
from staking_service.api.grpc_api import SERVICE_NAME, StakingServicer, register
from staking_service.application.ingest import apply_batch
from staking_service.infrastructure.sql import SqlStakingRepository, StakingViews
from staking_service.settings import StakingSettings

log = get_logger(__name__)
GROUP = "staking"


class StakingConfigError(Exception):
    pass


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    repo = SqlStakingRepository(conn)
    keys = await apply_batch(repo, envelopes)
    await repo.flush()
    return keys


@dataclass
class StakingApp:
    settings: StakingSettings
    bus: EventBus
    cache: CacheAside
    metrics: Metrics
    staking_address: str | None
    reward_rate: int | None
    engine: Any = None
    consumer: SqlConsumer | None = None
    views: StakingViews | None = None
    rpc: JsonRpcClient | None = None
    grpc: RunningServer | None = None

    async def start(self) -> None:
        s = self.settings
        if s.rpc_urls:
            self.rpc = JsonRpcClient(s.rpc_urls.split(",")[0])
        if self.reward_rate is None:
            if self.rpc is None or self.staking_address is None:
                raise StakingConfigError(
                    "set NOVA_REWARD_RATE, or NOVA_RPC_URLS with NOVA_MANIFEST"
                    " (or NOVA_STAKING_ADDRESS) to read rewardRate()"
                )
            from nova.devnet.artifacts import load

            abi = load("NovaStaking").abi
            out = await self.rpc.call(
                "eth_call",
                {"to": self.staking_address, "data": abi.encode_call("rewardRate")},
                "latest",
            )
            self.reward_rate = int(abi.decode_result("rewardRate", out))
        self.engine = create_engine(s.database_url)
        self.views = StakingViews(self.engine)
        topic = events.topic_name(s.kafka_topic_prefix, "staking")
        await self.bus.create_topic(topic)
        self.consumer = SqlConsumer(
            self.bus,
            self.engine,
            GROUP,
            topic,
            handle,
            cache=self.cache,
            cache_domain="staking",
            metrics=self.metrics,
            batch_size=s.consumer_batch,
        )

    async def block_time(self, number: int) -> int:
        assert self.rpc is not None
        header = await self.rpc.call("eth_getBlockByNumber", hex(number), False)
        if header is None:
            raise LookupError(f"block {number} is not on the chain yet")
        return int(header["timestamp"], 16)

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.views is not None
        assert self.reward_rate is not None
        servicer = StakingServicer(
            self.views, self.cache, self.reward_rate, self.block_time if self.rpc else None
        )
        self.grpc = await serve(
            register(servicer),
            [SERVICE_NAME],
            self.settings.grpc_port if port is None else port,
            host=self.settings.grpc_host,
        )
        log.info("gRPC StakingService listening", port=self.grpc.port)
        return self.grpc.port

    async def run(self, stop: asyncio.Event) -> None:
        assert self.consumer is not None
        await self.consumer.run(stop)

    async def close(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(2)
        if self.rpc is not None:
            await self.rpc.close()
        await self.bus.close()
        await self.cache.close()
        if self.engine is not None:
            await self.engine.dispose()


def bootstrap(
    settings: StakingSettings,
    *,
    bus: EventBus | None = None,
    cache: Cache | None = None,
    registry: CollectorRegistry | None = None,
) -> StakingApp:
    metrics = Metrics("staking", registry)
    address, rate = settings.staking_address, settings.reward_rate
    if settings.manifest is not None:
        path = settings.manifest
        data = read_manifest(path)
        address = address or address_in(data, path, "NovaStaking")
        if rate is None:
            rate = integer_in(data, path, "params", "reward_rate")
    return StakingApp(
        settings=settings,
        bus=bus if bus is not None else make_bus(settings, "nova-staking"),
        cache=CacheAside(
            cache if cache is not None else make_cache(settings, settings.cache_prefix),
            settings.cache_ttl_s,
            metrics,
        ),
        metrics=metrics,
        staking_address=address,
        reward_rate=rate,
    )
