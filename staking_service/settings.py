"""Settings of the staking service (``NOVA_*``), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from common.settings import ConsumerServiceSettings


class StakingSettings(ConsumerServiceSettings):
    grpc_port: int = Field(50053, ge=0, le=65535, description="StakingService gRPC port.")
    rpc_urls: str | None = Field(
        None,
        description="JSON-RPC URL(s): block timestamps for CalculateRewards(at_block), "
        "rewardRate() when not configured, and `nova verify staking`.",
    )
    manifest: Path | None = Field(None, description="Devnet manifest (staking address, params).")
    staking_address: str | None = Field(None, description="NovaStaking address.")
    reward_rate: int | None = Field(
        None, ge=0, description="The contract's rewardRate (read from the manifest or chain)."
    )
    cache_ttl_s: float = Field(30.0, gt=0, description="TTL of cached totals.")
