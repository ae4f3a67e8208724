"""Settings of the governance service (``NOVA_*``), validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from common.settings import ConsumerServiceSettings


class GovernanceSettings(ConsumerServiceSettings):
    grpc_port: int = Field(50054, ge=0, le=65535, description="GovernanceService gRPC port.")
    rpc_urls: str | None = Field(None, description="JSON-RPC URL(s), for `nova verify governance`.")
    manifest: Path | None = Field(
        None, description="Devnet manifest (governor and token addresses, quorum percent)."
    )
    governor_address: str | None = Field(None, description="NovaGovernor address.")
    token_address: str | None = Field(None, description="NovaToken address (votes).")
    quorum_percent: int | None = Field(
        None,
        ge=0,
        le=100,
        description="Quorum numerator until the governor's QuorumNumeratorUpdated is indexed "
        "(it is emitted at deployment; default: the manifest's, else 4).",
    )
