"""Gateway throughput: cached balance lookups and transfer pages through the REST gateway (its
own process, over `nova sync` + `nova serve token` processes on the real local stack), beside a
trivial FastAPI endpoint served by the same uvicorn in the same run: the ratio is how close the
gateway gets to the framework's own ceiling on this machine. The same reads through a second
gateway with its response cache off show the path every first read (and every read after a
change of the token index) takes: REST -> gRPC -> the token service's Redis cache or MariaDB.

    uv run python -m bench.gateway [--requests 5000] [--concurrency 32] [--light 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import (
    drop_database,
    dump_logs,
    exit_cleanly_on_sigterm,
    fresh_database,
    generate,
    positive,
    service_env,
    shared_state_deleted,
    spawn,
    stop_processes,
)
from nova import stack

TRIVIAL_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
"""


async def _wait(url: str, what: str, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {within_s:.0f}s")


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes]:
    """One keep-alive HTTP/1.1 GET on an open connection: (status, body)."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def load(base: str, paths: list[str], requests: int, concurrency: int) -> dict[str, float]:
    """``requests`` GETs cycling over ``paths`` from ``concurrency`` keep-alive connections;
    every answer must be 200. A minimal HTTP/1.1 client on asyncio streams: httpx costs
    several times more CPU per request than the servers measured, and on two shared cores
    the client would be what is measured."""
    host, port = base.removeprefix("http://").split(":")
    requests_bytes = [
        f"GET {p} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
        for p in paths
    ]
    latencies: list[float] = []
    counter = iter(range(requests))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in requests_bytes:  # warm the caches and the connection
                await _get(reader, writer, request)
            await warmed.wait()
            for i in counter:
                started = time.perf_counter()
                status, body = await _get(reader, writer, requests_bytes[i % len(paths)])
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"{paths[i % len(paths)]}: {status} {body[:200]!r}")
        finally:
            writer.close()

    warmed = asyncio.Barrier(concurrency + 1)  # every connection open and warm, then go
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    await asyncio.wait_for(warmed.wait(), 60)
    began = time.perf_counter()
    await asyncio.gather(*workers)
    took = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / took,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=positive, default=5000)
    parser.add_argument("--concurrency", type=positive, default=32)
    parser.add_argument(
        "--light", type=positive, default=2, help="concurrency of the latency measures"
    )
    parser.add_argument(
        "--events", type=positive, default=5000, help="history to index first (NovaToken events)"
    )
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    endpoints = stack.up()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        history, anvil = asyncio.run(generate(args.events, work))
        db_url, db_name = fresh_database()
        grpc = {name: stack.free_port() for name in ("sync", "token")}
        http_port, trivial_port, direct_port = (stack.free_port() for _ in range(3))
        env = service_env(endpoints, db_url, history.manifest_path, history.url)
        (work / "trivial_app.py").write_text(TRIVIAL_APP)
        try:
            py = [sys.executable, "-m"]
            subprocess.run(  # once, before the services (concurrent --migrate would race)
                [*py, "nova.cli", "migrate"],
                env={**os.environ, **env},
                cwd=stack.REPO_ROOT,
                check=True,
                capture_output=True,
            )
            procs.append(
                spawn(
                    [*py, "nova.cli", "sync"],
                    {**env, "NOVA_GRPC_PORT": str(grpc["sync"])},
                    work / "sync.log",
                )
            )
            procs.append(
                spawn(
                    [*py, "nova.cli", "serve", "token"],
                    {**env, "NOVA_GRPC_PORT": str(grpc["token"])},
                    work / "token.log",
                )
            )
            for port, ttl in ((http_port, "2"), (direct_port, "0")):
                procs.append(
                    spawn(
                        [*py, "nova.cli", "serve", "gateway"],
                        {
                            "NOVA_PORT": str(port),
                            "NOVA_LOG_LEVEL": "WARNING",
                            "NOVA_BLOCK_SYNC_ADDR": f"127.0.0.1:{grpc['sync']}",
                            "NOVA_TOKEN_ADDR": f"127.0.0.1:{grpc['token']}",
                            "NOVA_REDIS_URL": env["NOVA_REDIS_URL"],
                            "NOVA_CACHE_PREFIX": env["NOVA_CACHE_PREFIX"],
                            "NOVA_RESPONSE_CACHE_TTL_S": ttl,
                        },
                        work / f"gateway-{port}.log",
                    )
                )
            procs.append(
                spawn(
                    [
                        *py,
                        "uvicorn",
                        "trivial_app:app",
                        "--port",
                        str(trivial_port),
                        "--log-level",
                        "warning",
                        "--app-dir",
                        str(work),
                    ],
                    {},
                    work / "trivial.log",
                )
            )
            base = f"http://127.0.0.1:{http_port}"
            direct = f"http://127.0.0.1:{direct_port}"
            asyncio.run(_wait(f"http://127.0.0.1:{trivial_port}/ping", "trivial app"))
            holders = asyncio.run(_holders(base, history.head))
            asyncio.run(_holders(direct, history.head))
            balances = [f"/api/v1/accounts/{h}/balance" for h in holders]
            pages = [f"/api/v1/accounts/{h}/transfers?limit=20" for h in holders]
            results = {
                "trivial FastAPI /ping": asyncio.run(
                    load(
                        f"http://127.0.0.1:{trivial_port}",
                        ["/ping"],
                        args.requests,
                        args.concurrency,
                    )
                ),
                "cached balance": asyncio.run(
                    load(base, balances, args.requests, args.concurrency)
                ),
                "transfer page (20)": asyncio.run(
                    load(base, pages, args.requests, args.concurrency)
                ),
                "balance, response cache off": asyncio.run(
                    load(direct, balances, args.requests, args.concurrency)
                ),
                "transfer page, cache off": asyncio.run(
                    load(direct, pages, args.requests, args.concurrency)
                ),
                # latency where the system is not saturated (at 32 in flight, p99 is queueing)
                f"trivial, {args.light} concurrent": asyncio.run(
                    load(
                        f"http://127.0.0.1:{trivial_port}",
                        ["/ping"],
                        args.requests,
                        args.light,
                    )
                ),
                f"cached balance, {args.light} conc.": asyncio.run(
                    load(base, balances, args.requests, args.light)
                ),
            }
        except BaseException:
            dump_logs(work)
            raise
        finally:
            stop_processes(procs)
            drop_database(db_name)
            anvil.terminate()  # type: ignore[attr-defined]
    print(f"{args.requests} requests per measure, loopback; vs trivial = at the same concurrency")
    print(f"{'measure':30} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs trivial':>11}")
    for name, r in results.items():
        light = name.endswith("concurrent") or name.endswith("conc.")
        ceiling = results[
            f"trivial, {args.light} concurrent" if light else "trivial FastAPI /ping"
        ]["rps"]
        print(
            f"{name:30} {r['rps']:9,.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
            f"{r['rps'] / ceiling:11.2f}"
        )


async def _holders(base: str, head: int) -> list[str]:
    """Wait until the gateway serves the indexed head; return the top holders."""
    deadline = time.monotonic() + 180
    last: object = None
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            try:
                status = (await http.get("/api/v1/sync/status")).json()
                holders = (await http.get("/api/v1/token/holders", params={"limit": 50})).json()
                last = (status, str(holders)[:300])
                if status.get("synced_block", 0) >= head and holders.get("holders"):
                    return [h["address"] for h in holders["holders"]]
            except (httpx.TransportError, ValueError) as exc:
                last = exc
            await asyncio.sleep(0.5)
    raise RuntimeError(f"the gateway did not serve the indexed history in time; last: {last}")


if __name__ == "__main__":
    with shared_state_deleted():
        main()
