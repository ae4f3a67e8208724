"""Composition root of the governance service."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection

from common import events
from common.adapters import make_bus
from common.consumer import SqlConsumer
from common.db import create_engine
from common.grpc_server import RunningServer, serve
from common.logging import get_logger
from common.manifest import address_in, integer_in, read_manifest
from common.metrics import Metrics
from common.ports import EventBus
from governance_service.api.grpc_api import SERVICE_NAME, GovernanceServicer, register
from governance_service.application.ingest import apply_batch
from governance_service.infrastructure.sql import GovernanceViews, SqlGovernanceRepository
from governance_service.settings import GovernanceSettings

log = get_logger(__name__)
GROUP = "governance"
DEFAULT_QUORUM_PERCENT = 4


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    repo = SqlGovernanceRepository(conn)
    keys = await apply_batch(repo, envelopes)
    await repo.flush()
    return keys


@dataclass
class GovernanceApp:
    settings: GovernanceSettings
    bus: EventBus
    metrics: Metrics
    quorum_percent: int
    governor_address: str | None = None
    token_address: str | None = None
    engine: Any = None
    consumer: SqlConsumer | None = None
    views: GovernanceViews | None = None
    grpc: RunningServer | None = None

    @property
    def topic(self) -> str:
        return events.topic_name(self.settings.kafka_topic_prefix, "governance")

    async def start(self) -> None:
        self.engine = create_engine(self.settings.database_url)
        self.views = GovernanceViews(self.engine, GROUP, self.topic, self.quorum_percent)
        await self.bus.create_topic(self.topic)
        self.consumer = SqlConsumer(
            self.bus,
            self.engine,
            GROUP,
            self.topic,
            handle,
            metrics=self.metrics,
            batch_size=self.settings.consumer_batch,
        )

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.views is not None
        self.grpc = await serve(
            register(GovernanceServicer(self.views)),
            [SERVICE_NAME],
            self.settings.grpc_port if port is None else port,
            host=self.settings.grpc_host,
        )
        log.info("gRPC GovernanceService listening", port=self.grpc.port)
        return self.grpc.port

    async def run(self, stop: asyncio.Event) -> None:
        assert self.consumer is not None
        await self.consumer.run(stop)

    async def close(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(2)
        await self.bus.close()
        if self.engine is not None:
            await self.engine.dispose()


def bootstrap(
    settings: GovernanceSettings,
    *,
    bus: EventBus | None = None,
    registry: CollectorRegistry | None = None,
) -> GovernanceApp:
    governor, token, percent = (
        settings.governor_address,
        settings.token_address,
        settings.quorum_percent,
    )
    if settings.manifest is not None:
        path = settings.manifest
        data = read_manifest(path)
        governor = governor or address_in(data, path, "NovaGovernor")
        token = token or address_in(data, path, "NovaToken")
        if percent is None:
            percent = integer_in(data, path, "params", "quorum_percent")
    return GovernanceApp(
        settings=settings,
        bus=bus if bus is not None else make_bus(settings, "nova-governance"),
        metrics=Metrics("governance", registry),
        quorum_percent=DEFAULT_QUORUM_PERCENT if percent is None else percent,
        governor_address=governor,
        token_address=token,
    )
