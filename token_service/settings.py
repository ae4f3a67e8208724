"""Settings of the token service (``NOVA_*``), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from common.settings import ConsumerServiceSettings


class TokenSettings(ConsumerServiceSettings):
    grpc_port: int = Field(50052, ge=0, le=65535, description="TokenService gRPC port.")
    rpc_urls: str | None = Field(
        None, description="JSON-RPC URL(s) for on-chain allowance() and `nova verify token`."
    )
    manifest: Path | None = Field(None, description="Devnet manifest (the token's address).")
    token_address: str | None = Field(None, description="NovaToken address (without manifest).")
    cache_ttl_s: float = Field(30.0, gt=0, description="TTL of cached balances/supply/holders.")
