"""Settings of the gateway (``NOVA_*``), validated at start."""

from __future__ import annotations

from pydantic import Field

from common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    host: str = Field("127.0.0.1", description="HTTP listen address.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP port.")
    block_sync_addr: str = Field("127.0.0.1:50051", description="BlockSyncService host:port.")
    token_addr: str = Field("127.0.0.1:50052", description="TokenService host:port.")
    staking_addr: str = Field("127.0.0.1:50053", description="StakingService host:port.")
    governance_addr: str = Field("127.0.0.1:50054", description="GovernanceService host:port.")
    verification_addr: str = Field(
        "", description="VerificationService host:port (default: the block sync service's)."
    )

    immutable_depth: int = Field(
        128, ge=0, description="Blocks this far below the synced head are final: cached long."
    )
    grpc_deadline_s: float = Field(5.0, gt=0, description="Deadline of each gRPC call.")
    cors_origins: str = Field("", description="Allowed CORS origins, comma-separated.")
    api_keys: str = Field(
        "", description="Comma-separated API keys; empty = no key needed (X-API-Key header)."
    )
    rate_limit_per_minute: int = Field(
        0, ge=0, description="Requests per minute per API key (or client IP); 0 = unlimited."
    )
    response_cache_ttl_s: float = Field(
        2.0,
        ge=0,
        description="Token answers (balances, transfers, supply, ...) are kept until the token "
        "index changes (announced through Redis: needs NOVA_REDIS_URL, the services' Redis and "
        "NOVA_CACHE_PREFIX), and at most this long; 0 = no response cache.",
    )
    response_cache_mb: int = Field(32, gt=0, description="Memory bound of the response cache.")
