"""Pick the real or in-process adapter of each port from settings (composition roots use it)."""

from __future__ import annotations

from common.inprocess import InMemoryCache, InMemoryEventBus, InMemoryLogArchive
from common.ports import Cache, EventBus, LogArchive
from common.settings import CommonSettings


def make_bus(settings: CommonSettings, client_id: str) -> EventBus:
    if settings.kafka_bootstrap_servers:
        from common.infrastructure.kafka_bus import KafkaEventBus

        return KafkaEventBus(
            settings.kafka_bootstrap_servers,
            client_id=client_id,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            enable_idempotence=settings.kafka_idempotence,
            replication_factor=settings.kafka_replication_factor,
        )

    return InMemoryEventBus()


def make_cache(settings: CommonSettings, prefix: str) -> Cache:
    if settings.redis_url:
        from common.infrastructure.redis_cache import RedisCache

        return RedisCache(settings.redis_url, prefix=prefix)
    return InMemoryCache()


def make_archive(settings: CommonSettings) -> LogArchive:
    if settings.mongo_url:
        from common.infrastructure.mongo_archive import MongoLogArchive

        return MongoLogArchive(settings.mongo_url, settings.mongo_database)
    return InMemoryLogArchive()
