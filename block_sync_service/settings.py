"""Settings of the block sync service (``NOVA_*``), validated at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from common.settings import CommonSettings
from common.validation import is_decimal


class BlockSyncSettings(CommonSettings):
    rpc_urls: str = Field(
        "http://127.0.0.1:18545",
        description="JSON-RPC URLs, comma-separated; the next one is used when one fails.",
    )
    ws_url: str | None = Field(
        None, description="WebSocket URL for newHeads. Unset = polling only."
    )
    manifest: Path | None = Field(
        None, description="Devnet manifest (addresses, deployment block, chain id)."
    )
    token_address: str | None = Field(None, description="NovaToken address (without manifest).")
    staking_address: str | None = Field(None, description="NovaStaking address.")
    governor_address: str | None = Field(None, description="NovaGovernor address.")
    timelock_address: str | None = Field(None, description="NovaTimelock address.")
    start_block: int | None = Field(
        None, ge=0, description="First block to index (the contracts' deployment block)."
    )
    chain_id: int | None = Field(None, ge=1, description="Expected chain id (checked at start).")
    confirmations: int | Literal["safe", "finalized"] = Field(
        0,
        description="Blocks behind the head considered final, or `safe` / `finalized`: follow "
        "the node's block of that tag (proof-of-stake chains; e.g. 12 or `finalized` on "
        "mainnet, 0 on a dev chain).",
    )
    reorg_window: int = Field(128, ge=1, le=10_000, description="Unconfirmed window kept.")
    poll_interval_s: float = Field(1.0, gt=0, description="Head polling interval (seconds).")
    range_initial: int = Field(
        20, ge=1, description="First eth_getLogs range (blocks); it adapts from there."
    )
    range_max: int = Field(50_000, ge=1, description="Largest eth_getLogs range.")
    range_concurrency: int = Field(
        2,
        ge=1,
        le=64,
        description="Log ranges in flight (each fetches its logs, headers and transactions). "
        "2 keeps a local node busy (4 was as fast and took 228 instead of 178 MB at peak); "
        "raise it for a node far away.",
    )
    commits_in_flight: int = Field(
        2,
        ge=1,
        le=8,
        description="Units below the tip (backfill ranges, window units catching up) whose rows "
        "are written at once, on their own connections (the checkpoint still moves unit by "
        "unit, in order). SQLite takes one writer: 1 there.",
    )
    max_logs_per_unit: int = Field(
        2_500,
        ge=100,
        description="Ranges and window units shrink to hold about this many logs (bounds "
        "memory: range_concurrency + commits_in_flight units of this many logs in flight).",
    )

    rpc_timeout_s: float = Field(20.0, gt=0, description="Timeout of one JSON-RPC request.")
    rpc_rate_limit: float = Field(0.0, ge=0, description="Max requests/s (0 = unlimited).")
    rpc_max_attempts: int = Field(6, ge=1, description="Attempts per request before failing.")
    grpc_port: int = Field(50051, ge=0, le=65535, description="BlockSyncService gRPC port.")
    archive: bool = Field(True, description="Run the raw-log archiver consumer in-process.")
    logs_scan_budget: int = Field(
        100_000,
        ge=1,
        description="Logs one topic-filtered GetLogs call reads at most (topics are not "
        "indexed); the answer's next_cursor continues after them.",
    )

    @field_validator("confirmations", mode="before")
    @classmethod
    def _confirmations(cls, v: Any) -> int | str:
        if isinstance(v, str):
            text = v.strip()
            if text in ("safe", "finalized"):
                return text
            if is_decimal(text):
                return int(text)
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            return int(v)
        raise ValueError("must be a number of blocks >= 0, `safe` or `finalized`")

    @field_validator("rpc_urls")
    @classmethod
    def _urls(cls, v: str) -> str:
        urls = [u.strip() for u in v.split(",") if u.strip()]
        if not urls:
            raise ValueError("at least one URL is needed")
        for u in urls:
            if not u.startswith(("http://", "https://")):
                raise ValueError(f"{u!r} is not an http(s) URL")
        return ",".join(urls)

    @property
    def rpc_url_list(self) -> list[str]:
        return self.rpc_urls.split(",")
