"""Tip latency: a block with a transfer is mined -> the REST gateway shows the new balance.

`nova sync` (newHeads over WebSocket, polling as the fallback) and `nova serve token` run as
processes on the real local stack, `nova serve gateway` as its own; each round sends one
transfer to a fresh address, mines the block and polls the balance route every 2 ms until it
shows the amount. Reported: p50/p90/p99/max over the rounds, beside the node's own floor (the
time the same client needs for a plain eth_getBlockByNumber round trip).

    uv run python -m bench.tip_latency [--blocks 200]
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
import uuid
from pathlib import Path

import httpx

from bench.common import (
    drop_database,
    dump_logs,
    exit_cleanly_on_sigterm,
    fresh_database,
    generate,
    positive,
    positive_float,
    service_env,
    shared_state_deleted,
    spawn,
    stop_processes,
)
from common.jsonrpc import JsonRpcClient
from nova import stack
from nova.devnet import artifacts
from nova.devnet.chain import DevChain, Tx

TOK = artifacts.load("NovaToken").abi


async def measure(rpc_url: str, token: str, base: str, blocks: int) -> tuple[list[float], float]:
    rpc = JsonRpcClient(rpc_url)
    chain = DevChain(rpc)
    sender = (await chain.accounts())[1]
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        # the node's floor: one JSON-RPC round trip from this client
        floor = []
        for _ in range(50):
            t = time.perf_counter()
            await rpc.call("eth_getBlockByNumber", "latest", False)
            floor.append(time.perf_counter() - t)
        for i in range(blocks):
            dst = "0x" + uuid.uuid4().hex[:8] + f"{i:032x}"
            amount = 1_000 + i
            await chain.send(
                [Tx(sender, token, TOK.encode_call("transfer", dst, amount), 100_000, "t")]
            )
            mined = time.perf_counter()
            await chain.mine()
            deadline = mined + 10
            while True:
                r = await http.get(f"/api/v1/accounts/{dst}/balance")
                if r.status_code == 200 and r.json()["balance"] == str(amount):
                    latencies.append(time.perf_counter() - mined)
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"round {i}: balance not visible after 10 s: {r.text[:200]}")
                await asyncio.sleep(0.002)
    await rpc.close()
    return latencies, statistics.median(floor)


async def _ready(base: str, head: int) -> None:
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                s = (await http.get("/api/v1/sync/status")).json()
                if s.get("synced_block", -1) >= head:
                    return
            except (httpx.TransportError, ValueError):
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the services did not catch up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blocks", type=positive, default=200)
    parser.add_argument(
        "--poll", type=positive_float, default=0.05, help="NOVA_POLL_INTERVAL_S fallback"
    )
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    endpoints = stack.up()
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        history, anvil = asyncio.run(generate(1_000, work))
        db_url, db_name = fresh_database()
        grpc = {"sync": stack.free_port(), "token": stack.free_port()}
        http_port = stack.free_port()
        env = service_env(
            endpoints,
            db_url,
            history.manifest_path,
            history.url,
            NOVA_WS_URL=history.url.replace("http://", "ws://"),
            NOVA_POLL_INTERVAL_S=str(args.poll),
        )
        try:
            subprocess.run(
                [sys.executable, "-m", "nova.cli", "migrate"],
                env={**os.environ, **env},
                cwd=stack.REPO_ROOT,
                check=True,
                capture_output=True,
            )
            procs.append(
                spawn(
                    [sys.executable, "-m", "nova.cli", "sync"],
                    {**env, "NOVA_GRPC_PORT": str(grpc["sync"])},
                    work / "s.log",
                )
            )
            procs.append(
                spawn(
                    [sys.executable, "-m", "nova.cli", "serve", "token"],
                    {**env, "NOVA_GRPC_PORT": str(grpc["token"])},
                    work / "t.log",
                )
            )
            procs.append(
                spawn(
                    [sys.executable, "-m", "nova.cli", "serve", "gateway"],
                    {
                        "NOVA_PORT": str(http_port),
                        "NOVA_LOG_LEVEL": "WARNING",
                        "NOVA_BLOCK_SYNC_ADDR": f"127.0.0.1:{grpc['sync']}",
                        "NOVA_TOKEN_ADDR": f"127.0.0.1:{grpc['token']}",
                        # its response cache on, as deployed: a cached balance must still
                        # change the moment the token index announces the block
                        "NOVA_REDIS_URL": env["NOVA_REDIS_URL"],
                        "NOVA_CACHE_PREFIX": env["NOVA_CACHE_PREFIX"],
                    },
                    work / "g.log",
                )
            )
            base = f"http://127.0.0.1:{http_port}"
            asyncio.run(_ready(base, history.head))
            latencies, floor = asyncio.run(
                measure(history.url, history.manifest.address("NovaToken"), base, args.blocks)
            )
        except BaseException:
            dump_logs(work)
            raise
        finally:
            stop_processes(procs)
            drop_database(db_name)
            anvil.terminate()  # type: ignore[attr-defined]
    ms = sorted(x * 1000 for x in latencies)

    def pick(q: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * q))]

    print(f"tip latency over {len(ms)} blocks (block mined -> REST shows the new balance)")
    print(f"{'measure':28} {'ms':>8}")
    for name, value in (
        ("p50", statistics.median(ms)),
        ("p90", pick(0.90)),
        ("p99", pick(0.99)),
        ("max", ms[-1]),
        ("node round trip (floor)", floor * 1000),
    ):
        print(f"{name:28} {value:8.1f}")


if __name__ == "__main__":
    with shared_state_deleted():
        main()
