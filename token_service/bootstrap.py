"""Composition root of the token service."""

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
from common.manifest import contract_address
from common.metrics import Metrics
from common.ports import Cache, EventBus
from common.validation import address as valid_address
from token_service.api.grpc_api import SERVICE_NAME, TokenServicer, register
from token_service.application.ingest import apply_batch
from token_service.infrastructure.sql import SqlTokenRepository, TokenViews
from token_service.infrastructure.verify import TokenDrift, verify_token
from token_service.settings import TokenSettings

log = get_logger(__name__)
GROUP = "token"


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    return await apply_batch(SqlTokenRepository(conn), envelopes)


@dataclass
class TokenApp:
    settings: TokenSettings
    bus: EventBus
    cache: CacheAside
    metrics: Metrics
    token_address: str | None
    engine: Any = None
    consumer: SqlConsumer | None = None
    views: TokenViews | None = None
    rpc: JsonRpcClient | None = None
    grpc: RunningServer | None = None

    def __post_init__(self) -> None:
        self._drifts = self.metrics.gauge(
            "verify_drifts", "Drifts found by the last Verify call (0 = equal to the chain)"
        )

    async def start(self) -> None:
        s = self.settings
        self.engine = create_engine(s.database_url)
        self.views = TokenViews(self.engine)
        topic = events.topic_name(s.kafka_topic_prefix, "token")
        await self.bus.create_topic(topic)
        self.consumer = SqlConsumer(
            self.bus,
            self.engine,
            GROUP,
            topic,
            handle,
            cache=self.cache,
            cache_domain="token",
            metrics=self.metrics,
            batch_size=s.consumer_batch,
        )
        if s.rpc_urls:
            self.rpc = JsonRpcClient(s.rpc_urls.split(",")[0])

    async def on_chain_allowance(self, owner: str, spender: str) -> tuple[int, int]:
        from nova.devnet.artifacts import load

        assert self.rpc is not None
        assert self.token_address is not None
        abi = load("NovaToken").abi
        block = int(await self.rpc.call("eth_blockNumber"), 16)
        out = await self.rpc.call(
            "eth_call",
            {"to": self.token_address, "data": abi.encode_call("allowance", owner, spender)},
            hex(block),
        )
        return int(abi.decode_result("allowance", out)), block

    async def verify(self, block: int | None) -> TokenDrift:
        """The verifier as a service check: also sets nova_token_verify_drifts."""
        from nova.devnet.artifacts import load

        assert self.rpc is not None
        assert self.token_address is not None

        assert self.views is not None
        drift = await verify_token(
            self.views, self.rpc, self.token_address, load("NovaToken").abi, block
        )
        self._drifts.set(len(drift.balance_drift) + (drift.supply[0] != drift.supply[1]))
        return drift

    async def serve_grpc(self, port: int | None = None) -> int:

        assert self.views is not None
        info = {"address": self.token_address or ""}
        servicer = TokenServicer(
            self.views,
            self.cache,
            info,
            self.on_chain_allowance if self.rpc and self.token_address else None,
            self.verify if self.rpc and self.token_address else None,
        )
        self.grpc = await serve(
            register(servicer),
            [SERVICE_NAME],
            self.settings.grpc_port if port is None else port,
            host=self.settings.grpc_host,
        )
        log.info("gRPC TokenService listening", port=self.grpc.port)
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
    settings: TokenSettings,
    *,
    bus: EventBus | None = None,
    cache: Cache | None = None,
    registry: CollectorRegistry | None = None,
) -> TokenApp:
    metrics = Metrics("token", registry)
    token = settings.token_address
    if token is None and settings.manifest is not None:
        token = contract_address(settings.manifest, "NovaToken")
    return TokenApp(
        settings=settings,
        bus=bus if bus is not None else make_bus(settings, "nova-token"),
        cache=CacheAside(
            cache if cache is not None else make_cache(settings, settings.cache_prefix),
            settings.cache_ttl_s,
            metrics,
        ),
        metrics=metrics,
        token_address=valid_address(token, "NOVA_TOKEN_ADDRESS") if token else None,
    )
