"""Names of what tests create on the shared servers, under this session's tag (``RUN``), so the
session deletes its own at the end (``tests.conftest.endpoints``) and never another run's."""

from __future__ import annotations

import uuid

RUN = uuid.uuid4().hex[:8]  # this test session's tag in shared names


def cache_prefix() -> str:
    """A fresh Redis key prefix, under this session's tag: its keys go when the session ends."""
    return f"novatest:{RUN}:{uuid.uuid4().hex[:8]}:"


def topic_prefix() -> str:
    """A fresh Kafka topic prefix, under this session's tag: its topics are deleted when the
    session ends (the test broker keeps every topic in memory until it stops)."""
    return f"nova.test.{RUN}.{uuid.uuid4().hex[:8]}."


def archive_database() -> str:
    """A fresh MongoDB database name, under this session's tag: dropped when the session ends
    (the services' in-process archivers write there and nothing else drops it)."""
    return f"nova_test_{RUN}_{uuid.uuid4().hex[:8]}"
