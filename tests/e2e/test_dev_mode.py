"""`nova dev` as a user runs it: one process, embedded backends, REST answers equal the chain;
Ctrl-C stops it cleanly, and a second run resumes from its database without counting any
event twice, as does a run after one killed while indexing."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from nova import stack
from nova.devnet import artifacts
from tests.chain_helpers import Devnet, make_devnet, wait_for

TOK = artifacts.load("NovaToken").abi
GOV = artifacts.load("NovaGovernor").abi
STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"]


class Dev:
    """`nova dev` on ports the OS picks (a port chosen free beforehand can be taken before the
    process binds it); the REST port is read from what it prints."""

    def __init__(self, data_dir: Path, rpc_url: str, log: Path) -> None:
        self.argv = [
            sys.executable,
            "-m",
            "nova.cli",
            "dev",
            "--data-dir",
            str(data_dir),
            "--rpc-url",
            rpc_url,
            "--http-port",
            "0",
            "--grpc-base-port",
            "0",
        ]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._printed = 0  # how much of the log earlier runs wrote

    def launch(self) -> None:
        self._printed = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                self.argv, cwd=stack.REPO_ROOT, stdout=fh, stderr=subprocess.STDOUT
            )

    async def start(self) -> str:
        """Start it; the REST base URL once it listens."""
        self.launch()
        url: list[str] = []

        async def listening() -> bool:
            self.check_alive()
            found = re.search(r"REST API  (http://127\.0\.0\.1:\d+)/api/v1", self.output())
            url[:] = [found.group(1)] if found else []
            return bool(url)

        await wait_for(listening, "nova dev to listen", 60)
        return url[0]

    def output(self) -> str:
        """What this run printed."""
        with open(self.log, "rb") as fh:
            fh.seek(self._printed)
            return fh.read().decode(errors="replace")

    def check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"nova dev exited with {self.proc.returncode}: {self.output()[-3000:]}"
            )

    def interrupt(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(60)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def _equal_to_chain(net: Devnet, http: httpx.AsyncClient) -> bool:
    """Synced to the head, and supply, a sample of balances and every proposal's state equal
    the chain's."""
    head = await net.chain.block_number()
    try:
        status = (await http.get("/api/v1/sync/status")).json()
        if status.get("synced_block") != head:
            return False
        token = net.manifest.address("NovaToken")
        supply = (await http.get("/api/v1/token/supply")).json()["total_supply"]
        chain_supply = TOK.decode_result(
            "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"))
        )
        if supply != str(chain_supply):
            return False
        for holder in net.sim.holders[:8]:
            got = (await http.get(f"/api/v1/accounts/{holder}/balance")).json()["balance"]
            chain = TOK.decode_result(
                "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder))
            )
            if got != str(chain):
                return False
        governor = net.manifest.address("NovaGovernor")
        page = (await http.get("/api/v1/governance/proposals", params={"limit": 1000})).json()
        for p in page["proposals"]:
            state = GOV.decode_result(
                "state", await net.chain.call(governor, GOV.encode_call("state", int(p["id"])))
            )
            if p["state"] != STATES[state]:
                return False
        return page["total"] > 0
    except (httpx.TransportError, KeyError):
        return False


async def test_dev_mode_serves_the_chain_stops_cleanly_and_resumes(anvil_url, tmp_path):
    net = await make_devnet(anvil_url, tmp_path, seed=91, blocks=40, txs_per_block=8)
    data_dir = tmp_path / "dev"
    data_dir.mkdir()
    net.manifest.save(data_dir / "manifest.json")  # index this chain's contracts
    dev = Dev(data_dir, anvil_url, tmp_path / "dev.log")

    async def serves_the_chain(http: httpx.AsyncClient) -> bool:
        dev.check_alive()  # a process that died fails at once, saying why
        return await _equal_to_chain(net, http)

    try:
        async with httpx.AsyncClient(base_url=await dev.start()) as http:
            await wait_for(lambda: serves_the_chain(http), "nova dev = chain", 120)
            assert (await http.get("/readyz")).json()["ready"] is True
            assert dev.interrupt() == 0
        await net.sim.resync()
        await net.sim.run(blocks=15)  # the chain moves on while it is stopped
        async with httpx.AsyncClient(base_url=await dev.start()) as http:
            await wait_for(lambda: serves_the_chain(http), "nova dev resumed = chain", 120)
            # killed while it indexes new traffic, a consumer maybe behind the sync: what
            # that one had not applied is republished by the next run (nova/dev.py)
            await net.sim.resync()
            start = await net.chain.block_number()
            traffic = asyncio.create_task(net.sim.run(blocks=12))

            async def indexing() -> bool:
                synced = (await http.get("/api/v1/sync/status")).json()["synced_block"]
                return bool(synced >= start + 4 or traffic.done())

            await wait_for(indexing, "nova dev indexing the new traffic", 60, every_s=0.02)
            dev.kill()
            await traffic
        async with httpx.AsyncClient(base_url=await dev.start()) as http:
            await wait_for(lambda: serves_the_chain(http), "nova dev after a kill = chain", 120)
            assert dev.interrupt() == 0
    finally:
        dev.kill()
        await net.rpc.close()
    text = dev.log.read_text()
    assert text.count("stopped cleanly") == 2, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert "REST API  http://127.0.0.1:" in text
