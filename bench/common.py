"""Shared set-up of the benchmarks: a private anvil with a generated history, a fresh database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql

from common.jsonrpc import JsonRpcClient
from nova import stack
from nova.devnet.chain import DevChain
from nova.devnet.deploy import Manifest, deploy
from nova.devnet.simulate import Simulator


@dataclass
class History:
    url: str
    manifest: Manifest
    manifest_path: Path
    head: int
    events: int  # every tracked contract's
    token_events: int  # of them NovaToken's
    generate_s: float


async def generate(
    token_events: int, workdir: Path, seed: int = 1, txs_per_block: int = 30
) -> tuple[History, object]:
    """Start a private anvil and fill it with at least ``token_events`` NovaToken events (and
    the other contracts' traffic beside them: about 4% more events in all)."""
    port = stack.free_port()
    proc = stack.start_anvil(
        port,
        name=f"anvil-bench-{port}",
        # keep no states of past blocks: about 1.5x faster generation of a long history
        extra=["--gas-limit", "100000000", "--prune-history"],
    )
    try:
        url = f"http://127.0.0.1:{port}"
        rpc = JsonRpcClient(url)
        manifest = await deploy(rpc)
        path = workdir / "manifest.json"
        manifest.save(path)
        chain = DevChain(rpc)
        await chain.set_automine(False)
        sim = Simulator(
            chain,
            manifest,
            seed=seed,
            holders=60,
            txs_per_block=txs_per_block,
            block_gas_limit=100_000_000,
        )
        await sim.setup()
        started = time.monotonic()
        stats = await sim.run(token_events=token_events)
        took = time.monotonic() - started
        await chain.set_automine(True)
        head = await chain.block_number()
        await rpc.close()
    except BaseException:  # a failed or interrupted generation leaves no anvil behind
        proc.terminate()
        raise
    return History(url, manifest, path, head, stats.events, stats.token_events, took), proc


def positive(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not x > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return x


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM (e.g. `timeout`, `kill`) exits through the benchmark's ``finally`` blocks like
    Ctrl-C does: its processes stopped, its databases dropped, MariaDB's buffer pool restored.
    Python's default for SIGTERM is to die on the spot, leaving all of that behind."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


RUN = uuid.uuid4().hex[:6]  # this benchmark process's tag in the shared servers' names
_NAMED: set[str] = set()  # what this run named on the shared servers ("topics", "keys")


def topic_prefix() -> str:
    """A fresh Kafka topic prefix under this run's tag (deleted at exit)."""
    _NAMED.add("topics")
    return f"nova.bench.{RUN}.{uuid.uuid4().hex[:6]}."


def cache_prefix() -> str:
    """A fresh Redis key prefix under this run's tag (deleted at exit)."""
    _NAMED.add("keys")
    return f"novabench:{RUN}:{uuid.uuid4().hex[:6]}:"


@contextlib.contextmanager
def shared_state_deleted() -> Iterator[None]:
    """Around a benchmark's run: delete its topics (the test broker keeps them all in memory)
    and Redis keys at the end, also on Ctrl-C and, with :func:`exit_cleanly_on_sigterm`,
    SIGTERM. (Not at interpreter exit: the Kafka client needs threads that cannot start then.)"""
    try:
        yield
    finally:
        try:  # nothing to delete (and no server to reach) after --help or a refused argument
            if _NAMED:
                stack.forget(
                    topic_prefix=f"nova.bench.{RUN}." if "topics" in _NAMED else None,
                    key_pattern=f"novabench:{RUN}:*" if "keys" in _NAMED else None,
                )
        except Exception as exc:  # noqa: BLE001 - a report, not a failure of the benchmark
            print(f"could not delete this run's topics and Redis keys: {exc}", file=sys.stderr)


def service_env(
    endpoints: stack.Endpoints, db_url: str, manifest: Path, rpc_url: str, **extra: str
) -> dict[str, str]:
    """The environment of a benchmark's nova processes: this run's database, topics and Redis
    keys on the local stack, the chain, warnings only, no log archive (``extra`` on top)."""
    return {
        "NOVA_DATABASE_URL": db_url,
        "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "NOVA_KAFKA_TOPIC_PREFIX": topic_prefix(),
        "NOVA_REDIS_URL": endpoints.redis_url,
        "NOVA_CACHE_PREFIX": cache_prefix(),
        "NOVA_MANIFEST": str(manifest),
        "NOVA_RPC_URLS": rpc_url,
        "NOVA_LOG_LEVEL": "WARNING",
        "NOVA_ARCHIVE": "false",
        **extra,
    }


def fresh_database() -> tuple[str, str]:
    endpoints = stack.up()
    name = f"nova_bench_{uuid.uuid4().hex[:8]}"
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root")
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    conn.close()
    return f"{endpoints.mysql_url}/{name}", name


def drop_database(name: str) -> None:
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


@contextlib.contextmanager
def buffer_pool(mb: int) -> Iterator[None]:
    """MariaDB's buffer pool at ``mb`` (online resize) for the duration; restored after."""
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@innodb_buffer_pool_size")
            row = cur.fetchone()
            before = int(row[0]) if row else 0
            if mb and before < mb << 20:
                cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {mb << 20}")
                print(f"MariaDB buffer pool {before >> 20} -> {mb} MB for the run", flush=True)
        yield
    finally:
        with conn.cursor() as cur:
            if mb and before < mb << 20:
                cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {before}")
        conn.close()


def add_buffer_pool_option(parser: argparse.ArgumentParser, why: str = "") -> None:
    """``--buffer-pool-mb`` (default 1024) for :func:`buffer_pool`."""
    parser.add_argument(
        "--buffer-pool-mb",
        type=int,
        default=1024,
        help="MariaDB's InnoDB buffer pool for the run, as docker-compose gives MySQL (restored "
        "after; 0 = leave it)." + (f" {why}" if why else ""),
    )


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process of the benchmark, output to ``log``, environment = ours + ``env``."""
    with open(log, "ab") as fh:
        return subprocess.Popen(
            argv,
            env={**os.environ, **env},
            cwd=stack.REPO_ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def stop_processes(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def dump_logs(folder: Path) -> None:
    """On failure: the tail of every process log."""
    for log in sorted(folder.glob("*.log")):
        print(f"--- {log.name}\n{log.read_text()[-1500:]}", file=sys.stderr)
