"""Soak: every service as its own process at the tip of a live chain for ``--minutes``, with REST
reads beside the traffic; memory and freshness sampled throughout, the state checked at the end.

A private anvil with the contracts, the traffic simulator mining a block every ``--interval``
seconds (transfers, approvals, stakes, claims, proposals, votes, reorg-free), and ``nova sync``,
``nova serve token|staking|governance`` and ``nova serve gateway`` on the real local stack (the
log archive off unless ``--archive``: the test MongoDB stand-in is slow, see ARCHITECTURE). A
reader sends a mix of REST reads (balances, transfer pages, holders, stakes, proposals) at
``--reads`` per second. Every ``--sample`` seconds: each process's RSS and the sync's lag behind
the head. At the end the traffic stops, the index catches up (with ``--archive``, the archive
too: every stored log in it), and `nova verify token|staking|governance` must find no drift.
Reported: RSS at the end of the warm-up and at the end, its growth per hour (least
squares over the samples after the warm-up), lag p50 / max, reads answered and any 5xx.

    uv run python -m bench.soak [--minutes 10] [--interval 0.25] [--reads 20] [--archive]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pymysql

from bench.common import (
    drop_database,
    dump_logs,
    exit_cleanly_on_sigterm,
    fresh_database,
    positive,
    positive_float,
    service_env,
    shared_state_deleted,
    spawn,
    stop_processes,
)
from common.jsonrpc import JsonRpcClient
from nova import stack
from nova.devnet.chain import DevChain
from nova.devnet.deploy import deploy
from nova.devnet.simulate import Simulator

SERVICES = ("sync", "token", "staking", "governance")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 0.0 if var == 0 else sum((x - mx) * (y - my) for x, y in points) / var * 3600


async def reader(
    base: str, holders: list[str], per_s: float, stop: asyncio.Event
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    rng = random.Random(7)
    paths: list[Callable[[], str]] = [
        lambda: f"/api/v1/accounts/{rng.choice(holders)}/balance",
        lambda: f"/api/v1/accounts/{rng.choice(holders)}/transfers?limit=20",
        lambda: "/api/v1/transfers?limit=20",
        lambda: "/api/v1/token/holders?limit=20",
        lambda: "/api/v1/token/supply",
        lambda: "/api/v1/staking/stakes?limit=20",
        lambda: "/api/v1/governance/proposals?limit=20",
        lambda: "/api/v1/sync/status",
    ]
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while not stop.is_set():
            began = time.monotonic()
            try:
                r = await http.get(rng.choice(paths)())
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            except httpx.TransportError:
                statuses[0] = statuses.get(0, 0) + 1
            await asyncio.sleep(max(0.0, 1 / per_s - (time.monotonic() - began)))
    return statuses


async def soak(args: argparse.Namespace, work: Path) -> None:
    endpoints = stack.up()
    port = stack.free_port()
    anvil = stack.start_anvil(port, name=f"anvil-soak-{port}", extra=["--gas-limit", "100000000"])
    procs: dict[str, subprocess.Popen[bytes]] = {}
    db_url, db_name = fresh_database()
    archive_db = f"nova_soak_{uuid.uuid4().hex[:8]}"
    archived = "off"
    try:
        url = f"http://127.0.0.1:{port}"
        rpc = JsonRpcClient(url)
        manifest = await deploy(rpc)
        manifest.save(work / "manifest.json")
        chain = DevChain(rpc)
        await chain.set_automine(False)
        sim = Simulator(chain, manifest, seed=3, holders=60, txs_per_block=args.txs)
        await sim.setup()
        env = service_env(
            endpoints,
            db_url,
            work / "manifest.json",
            url,
            NOVA_WS_URL=url.replace("http://", "ws://"),
        )
        if args.archive:
            env["NOVA_ARCHIVE"] = "true"
            env["NOVA_MONGO_URL"] = endpoints.mongo_url
            env["NOVA_MONGO_DATABASE"] = archive_db
        await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "nova.cli", "migrate"],
            env={**os.environ, **env},
            cwd=stack.REPO_ROOT,
            check=True,
            capture_output=True,
        )
        grpc = {name: stack.free_port() for name in SERVICES}
        for name in SERVICES:
            argv = ["sync"] if name == "sync" else ["serve", name]
            procs[name] = spawn(
                [sys.executable, "-m", "nova.cli", *argv],
                {**env, "NOVA_GRPC_PORT": str(grpc[name])},
                work / f"{name}.log",
            )
        http_port = stack.free_port()
        procs["gateway"] = spawn(
            [sys.executable, "-m", "nova.cli", "serve", "gateway"],
            {
                "NOVA_PORT": str(http_port),
                "NOVA_LOG_LEVEL": "WARNING",
                "NOVA_BLOCK_SYNC_ADDR": f"127.0.0.1:{grpc['sync']}",
                "NOVA_TOKEN_ADDR": f"127.0.0.1:{grpc['token']}",
                "NOVA_STAKING_ADDR": f"127.0.0.1:{grpc['staking']}",
                "NOVA_GOVERNANCE_ADDR": f"127.0.0.1:{grpc['governance']}",
                "NOVA_REDIS_URL": endpoints.redis_url,
                "NOVA_CACHE_PREFIX": env["NOVA_CACHE_PREFIX"],
            },
            work / "gateway.log",
        )
        base = f"http://127.0.0.1:{http_port}"

        async def synced() -> int:
            async with httpx.AsyncClient(base_url=base, timeout=5) as http:
                try:
                    return int((await http.get("/api/v1/sync/status")).json()["synced_block"])
                except (httpx.TransportError, ValueError, KeyError):
                    return -1

        async def caught_up(what: str) -> None:
            head = await chain.block_number()
            deadline = time.monotonic() + 120
            while await synced() < head:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{what} in 120 s")
                await asyncio.sleep(0.2)

        await caught_up("the services did not start and catch up")

        stop = asyncio.Event()
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in procs}
        lags: list[int] = []
        started = time.monotonic()
        end = started + args.minutes * 60
        traffic = asyncio.ensure_future(
            sim.run(should_stop=lambda: time.monotonic() >= end, interval_s=args.interval)
        )
        reads = asyncio.ensure_future(reader(base, sim.holders, args.reads, stop))
        while time.monotonic() < end and not traffic.done():
            await asyncio.sleep(min(args.sample, max(0.0, end - time.monotonic())))
            at = time.monotonic() - started
            for name, proc in procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}")
                samples[name].append((at, rss_mb(proc.pid)))
            indexed = await synced()  # first: the head read after it is at least as new
            lag = await chain.block_number() - indexed
            lags.append(lag)
            print(
                f"{at / 60:5.1f} min  lag {lag:3d} blocks  "
                + "  ".join(f"{n} {samples[n][-1][1]:.0f} MB" for n in procs),
                flush=True,
            )
        stats = await traffic
        stop.set()
        statuses = await reads
        # the index catches up with the last block, and no service finds drift
        await caught_up("the index did not catch up after the traffic")
        if args.archive:  # every log reaches the archive (it may lag, never lose one)
            archived = await _archive_caught_up(endpoints.mongo_url, archive_db, db_name)
        verdicts = {}
        for domain in ("token", "staking", "governance"):
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "nova.cli", "verify", domain],
                env={**os.environ, **env},
                cwd=stack.REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            verdicts[domain] = "no drift" if done.returncode == 0 else done.stdout[-300:]
        await rpc.close()
    except BaseException:
        dump_logs(work)
        raise
    finally:
        stop_processes(list(procs.values()))
        drop_database(db_name)
        if args.archive:
            await _drop_archive(endpoints.mongo_url, archive_db)
        anvil.terminate()

    warm = args.warmup * 60
    print(
        f"\nsoak: {args.minutes} min, {stats.blocks:,} blocks, {stats.events:,} events "
        f"({stats.events / (args.minutes * 60):.0f}/s), reads {sum(statuses.values()):,}"
        f" by status {dict(sorted(statuses.items()))}"
    )
    print(f"sync lag (blocks): p50 {statistics.median(lags):.0f}, max {max(lags)}")
    print(
        f"\n{'process':12} {'RSS after warm-up':>18} {'at the end':>11} {'max':>7} {'MB/hour':>8}"
    )
    for name, points in samples.items():
        after = [p for p in points if p[0] >= warm] or points
        print(
            f"{name:12} {after[0][1]:>15.0f} MB {points[-1][1]:>8.0f} MB"
            f" {max(p[1] for p in points):>4.0f} MB {slope_per_hour(after):>+8.1f}"
        )
    print(f"\nlog archive: {archived}")
    for domain, verdict in verdicts.items():
        print(f"nova verify {domain}: {verdict}")
    if any(v != "no drift" for v in verdicts.values()) or any(s >= 500 for s in statuses):
        raise SystemExit(1)


async def _archive_caught_up(mongo_url: str, archive_db: str, db_name: str) -> str:
    """Wait until the archive holds every log the block sync stored; how long that took."""
    from pymongo import AsyncMongoClient

    conn = pymysql.connect(
        host="127.0.0.1", port=stack.Ports().mariadb, user="root", database=db_name
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM logs")
            row = cur.fetchone()
            stored = int(row[0]) if row else 0
    finally:
        conn.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    began = time.monotonic()
    try:
        while True:
            have = await client[archive_db]["logs"].count_documents({})
            if have >= stored:
                took = time.monotonic() - began
                return f"all {stored:,} logs archived, {took:.1f} s after the index"
            if time.monotonic() - began > 600:
                raise RuntimeError(f"the archive holds {have:,} of {stored:,} logs after 600 s")
            await asyncio.sleep(0.5)
    finally:
        await client.close()


async def _drop_archive(mongo_url: str, archive_db: str) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(archive_db)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=positive, default=10, help="traffic time")
    parser.add_argument("--interval", type=positive_float, default=0.25, help="s per block")
    parser.add_argument("--txs", type=positive, default=20, help="transactions per block")
    parser.add_argument("--reads", type=positive_float, default=20, help="REST reads per second")
    parser.add_argument("--sample", type=positive_float, default=15, help="s between samples")
    parser.add_argument(
        "--warmup", type=positive_float, default=2, help="minutes before growth is measured"
    )
    parser.add_argument(
        "--archive",
        action="store_true",
        help="run the log archiver too (into a fresh database of the stack's MongoDB stand-in)",
    )
    args = parser.parse_args()
    if args.warmup >= args.minutes:
        parser.error("--warmup must be shorter than --minutes")
    exit_cleanly_on_sigterm()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(soak(args, Path(tmp)))


if __name__ == "__main__":
    with shared_state_deleted():
        main()
