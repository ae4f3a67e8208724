"""Composition root of the token service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncConnection

from common.adapters import make_bus, make_cache
from common.cache_aside import CacheAside
from common.manifest import contract_address
from common.metrics import Metrics
from common.ports import Cache, EventBus
from common.service_app import ConsumerApp
from common.validation import address as valid_address
from token_service.api.grpc_api import SERVICE_NAME, TokenServicer, register
from token_service.application.ingest import apply_batch
from token_service.infrastructure.sql import SqlTokenRepository, TokenViews
from token_service.settings import TokenSettings

if TYPE_CHECKING:
    from token_service.infrastructure.verify import TokenDrift

GROUP = "token"


async def handle(conn: AsyncConnection, envelopes: Any) -> set[str]:
    return await apply_batch(SqlTokenRepository(conn), envelopes)


@dataclass(kw_only=True)
class TokenApp(ConsumerApp[TokenSettings]):
    domain: ClassVar[str] = GROUP
    service_name: ClassVar[str] = SERVICE_NAME

    token_address: str | None
    views: TokenViews | None = None

    def __post_init__(self) -> None:
        self._drifts = self.metrics.gauge(
            "verify_drifts", "Drifts found by the last Verify call (0 = equal to the chain)"
        )

    async def start(self) -> None:
        self.views = TokenViews(await self._start_consumer(handle))

    async def on_chain_allowances(
        self, owner: str, spenders: Sequence[str]
    ) -> tuple[list[int], int]:
        """``allowance(owner, spender)`` of each spender at the chain's head, and that head."""
        from common.jsonrpc import view_calls
        from nova.devnet.artifacts import load

        assert self.token_address is not None
        rpc = self.rpc()
        block = int(await rpc.call("eth_blockNumber"), 16)
        calls = [("allowance", (owner, spender)) for spender in spenders]
        values = await view_calls(rpc, self.token_address, load("NovaToken").abi, calls, block)
        return [int(v) for v in values], block

    async def verify(self, block: int | None) -> TokenDrift:
        """The verifier as a service check: also sets nova_token_verify_drifts."""
        from nova.devnet.artifacts import load
        from token_service.infrastructure.verify import verify_token

        assert self.token_address is not None
        assert self.views is not None
        drift = await verify_token(
            self.views, self.rpc(), self.token_address, load("NovaToken").abi, block
        )
        self._drifts.set(drift.drifts)
        return drift

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.views is not None
        assert self.cache is not None
        info = {"address": self.token_address or ""}
        chain = self.has_rpc and self.token_address is not None
        servicer = TokenServicer(
            self.views,
            self.cache,
            info,
            self.on_chain_allowances if chain else None,
            self.verify if chain else None,
        )
        return await self._serve(register(servicer), port)


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
