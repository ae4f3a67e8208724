"""Settings shared by every service: pydantic-settings, env prefix ``NOVA_``, validated at start.

Each service subclasses :class:`CommonSettings` with its own fields. Values are read once at the
composition root and passed into adapters; nothing below reads ``os.environ`` itself.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "NOVA_"
DATABASE_SCHEMES = ("mysql+aiomysql://", "mariadb+aiomysql://", "sqlite+aiosqlite://")


class CommonSettings(BaseSettings):
    """What every process needs: where its backends are and how it logs."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Minimum log level."
    )
    log_format: Literal["kv", "json"] = Field(
        "kv", description="kv = key=value lines for people, json = one JSON object a line."
    )
    database_url: str = Field(
        "sqlite+aiosqlite:///.nova/nova.sqlite",
        description="SQLAlchemy async URL: mysql+aiomysql://user:pw@host:3306/db in production, "
        "sqlite+aiosqlite:///path for the embedded mode.",
    )
    kafka_bootstrap_servers: str | None = Field(
        None, description="Kafka bootstrap servers (host:port,...). Unset = in-process bus."
    )
    kafka_topic_prefix: str = Field("nova.", description="Prefix of the per-domain topics.")
    kafka_fetch_max_wait_ms: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Longest wait of an idle fetch on the broker. tansu answers only when "
        "it runs out, so there it bounds the tip latency each consumer adds; Kafka answers as "
        "soon as a record arrives (docker-compose sets 500: fewer idle fetches).",
    )
    kafka_idempotence: bool = Field(
        False, description="Idempotent Kafka producer (needs a broker that supports it)."
    )
    kafka_replication_factor: int = Field(
        1,
        ge=1,
        le=32,
        description="Replicas of each topic the services create (1 for a single broker). "
        "Above 1, min.insync.replicas is 2, so an acknowledged record is on two brokers. An "
        "existing topic keeps its own settings.",
    )

    redis_url: str | None = Field(
        None, description="Redis URL for the cache (redis://host:6379/0). Unset = in-memory cache."
    )
    cache_prefix: str = Field(
        "nova:", description="Prefix of every cache key (isolates deployments sharing a Redis)."
    )
    mongo_url: str | None = Field(
        None, description="MongoDB URL of the raw log archive. Unset = in-process archive."
    )
    mongo_database: str = Field("nova", description="MongoDB database of the log archive.")
    grpc_host: str = Field(
        "127.0.0.1",
        description="Address the gRPC server binds (0.0.0.0 in containers; the default keeps it "
        "on loopback).",
    )
    metrics_port: int = Field(
        0, ge=0, le=65535, description="Prometheus /metrics port; 0 = not exported."
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        if not url.startswith(DATABASE_SCHEMES):
            scheme = url.split("://", 1)[0] if "://" in url else "no scheme"
            raise ValueError(f"must start with {' or '.join(DATABASE_SCHEMES)}, got {scheme}")
        return url


class ConsumerServiceSettings(CommonSettings):
    """What the token, staking and governance services add: their consumer and query side."""

    database_read_url: str | None = Field(
        None,
        description="A MySQL/MariaDB read replica of NOVA_DATABASE_URL for the gRPC queries. "
        "A read goes to it only when it has applied all that this service's consumer has "
        "committed (else to the primary), so it never serves an older value than the "
        "primary would. Unset = the primary.",
    )
    consumer_batch: int = Field(2000, ge=1, le=100_000, description="Records per transaction.")

    @field_validator("database_read_url")
    @classmethod
    def _replica_of_mysql(cls, url: str | None, info: ValidationInfo) -> str | None:
        if not url:
            return None
        if not url.startswith(DATABASE_SCHEMES[:2]):
            scheme = url.split("://", 1)[0] if "://" in url else "no scheme"
            raise ValueError(
                f"a read replica must be MySQL/MariaDB ({' or '.join(DATABASE_SCHEMES[:2])}), "
                f"got {scheme}"
            )
        primary = info.data.get("database_url")
        if isinstance(primary, str) and not primary.startswith(DATABASE_SCHEMES[:2]):
            raise ValueError("a read replica needs a MySQL/MariaDB NOVA_DATABASE_URL")
        return url


def describe_validation_error(exc: ValidationError, prefix: str = ENV_PREFIX) -> str:
    """One line per bad setting, naming the environment variable to fix."""
    lines = []
    for err in exc.errors():
        name = "_".join(str(p) for p in err["loc"]).upper()
        lines.append(f"{prefix}{name}: {err['msg']} (got {_shown(name, err.get('input'))})")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _shown(name: str, value: Any) -> str:
    """A bad value as the error shows it: secrets hidden (API keys, a URL's password)."""
    if name.endswith(("KEYS", "KEY", "PASSWORD", "SECRET")):
        return "a hidden value"
    if isinstance(value, str):
        value = re.sub(r"(://[^:/@\s]+:)[^@/\s]+@", r"\1***@", value)
    return repr(value)
