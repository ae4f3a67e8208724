"""Composition root of the governance service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection

from common.adapters import make_bus
from common.manifest import address_in, integer_in, read_manifest
from common.metrics import Metrics
from common.ports import EventBus
from common.service_app import ConsumerApp
from governance_service.api.grpc_api import SERVICE_NAME, GovernanceServicer, register
from governance_service.application.ingest import apply_batch
from governance_service.infrastructure.sql import GovernanceViews, SqlGovernanceRepository
from governance_service.settings import GovernanceSettings

GROUP = "governance"
DEFAULT_QUORUM_PERCENT = 4


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    repo = SqlGovernanceRepository(conn)
    keys = await apply_batch(repo, envelopes)
    await repo.flush()
    return keys


@dataclass(kw_only=True)
class GovernanceApp(ConsumerApp[GovernanceSettings]):
    domain: ClassVar[str] = GROUP
    service_name: ClassVar[str] = SERVICE_NAME

    quorum_percent: int
    governor_address: str | None = None
    token_address: str | None = None
    views: GovernanceViews | None = None

    async def start(self) -> None:
        reads = await self._start_consumer(handle)
        self.views = GovernanceViews(reads, GROUP, self.topic, self.quorum_percent)

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.views is not None
        return await self._serve(register(GovernanceServicer(self.views)), port)


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
