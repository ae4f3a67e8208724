"""Composition root of the staking service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection

from common.adapters import make_bus, make_cache
from common.cache_aside import CacheAside
from common.manifest import address_in, integer_in, read_manifest
from common.metrics import Metrics
from common.ports import Cache, EventBus
from common.service_app import ConsumerApp
from staking_service.api.grpc_api import SERVICE_NAME, StakingServicer, register
from staking_service.application.ingest import apply_batch
from staking_service.infrastructure.sql import SqlStakingRepository, StakingViews
from staking_service.settings import StakingSettings

GROUP = "staking"


class StakingConfigError(Exception):
    pass


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    repo = SqlStakingRepository(conn)
    keys = await apply_batch(repo, envelopes)
    await repo.flush()
    return keys


@dataclass(kw_only=True)
class StakingApp(ConsumerApp[StakingSettings]):
    domain: ClassVar[str] = GROUP
    service_name: ClassVar[str] = SERVICE_NAME

    staking_address: str | None
    reward_rate: int | None
    views: StakingViews | None = None

    async def start(self) -> None:
        if self.reward_rate is None:
            if not self.has_rpc or self.staking_address is None:
                raise StakingConfigError(
                    "set NOVA_REWARD_RATE, or NOVA_RPC_URLS with NOVA_MANIFEST"
                    " (or NOVA_STAKING_ADDRESS) to read rewardRate()"
                )
            from nova.devnet.artifacts import load

            abi = load("NovaStaking").abi
            out = await self.rpc().call(
                "eth_call",
                {"to": self.staking_address, "data": abi.encode_call("rewardRate")},
                "latest",
            )
            self.reward_rate = int(abi.decode_result("rewardRate", out))
        self.views = StakingViews(await self._start_consumer(handle))

    async def block_time(self, number: int) -> int:
        header = await self.rpc().call("eth_getBlockByNumber", hex(number), False)
        if header is None:
            raise LookupError(f"block {number} is not on the chain yet")
        return int(header["timestamp"], 16)

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.views is not None
        assert self.cache is not None
        assert self.reward_rate is not None
        servicer = StakingServicer(
            self.views, self.cache, self.reward_rate, self.block_time if self.has_rpc else None
        )
        return await self._serve(register(servicer), port)


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
