"""Shared fixtures. Tests are marked by folder (unit / integration / e2e).

Integration and e2e tests use the local real stack, brought up once per session by
``nova.stack.up()`` (idempotent: reuses what is running). Every test gets its own database,
topic, key prefix or collection, and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import eth_account  # noqa: F401 - see below
import pymysql
import pytest

from nova import stack
from tests.names import RUN

# eth-account's py_ecc raises the recursion limit when first imported. The services import
# eth-account on first use (a signature check), which can happen while Hypothesis runs a
# test in process (the gateway's generated requests); Hypothesis then fails the test for a
# limit changed under it. Imported here, it changes before any test runs.

_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).relative_to(_TESTS).parts
        if rel and rel[0] in ("unit", "integration", "e2e", "chaos"):
            item.add_marker(getattr(pytest.mark, rel[0]))


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def endpoints() -> Iterator[stack.Endpoints]:
    """The local real stack, up for the whole session; this session's Redis keys, topics and
    archive databases (named by ``tests.names``) are deleted at its end."""
    up = stack.up()
    yield up
    stack.forget(
        topic_prefix=f"nova.test.{RUN}.",
        key_pattern=f"novatest:{RUN}:*",
        mongo_prefix=f"nova_test_{RUN}_",
    )


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    """A private anvil for one test module (its own chain: reorgs there touch nobody else)."""
    port = stack.free_port()
    proc = stack.start_anvil(port, name=f"anvil-test-{port}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def _database() -> Iterator[str]:
    name = unique("nova_test")
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root")
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def mysql_url(endpoints: stack.Endpoints) -> Iterator[str]:
    """A fresh MariaDB database for one test, dropped afterwards."""
    with _database() as name:
        yield f"{endpoints.mysql_url}/{name}"


@pytest.fixture
def other_mysql_url(endpoints: stack.Endpoints) -> Iterator[str]:
    """A second fresh database on the same server (a second index beside the first)."""
    with _database() as name:
        yield f"{endpoints.mysql_url}/{name}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'nova.sqlite'}"


@pytest.fixture
async def mongo_database(endpoints: stack.Endpoints) -> AsyncIterator[str]:
    from pymongo import AsyncMongoClient

    name = unique("nova_test")
    yield name
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(endpoints.mongo_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()
