"""Every service as its own `nova serve` process on the real local stack (MariaDB, Redis, tansu,
SecantusDB, a private anvil with live traffic): the REST answers equal the chain, SIGTERM stops
each process with exit code 0, and bad settings fail fast naming the variable."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pymysql
import pytest

from nova import stack
from nova.devnet import artifacts
from nova.devnet.reorg import force_reorg
from tests.chain_helpers import Devnet, make_devnet, wait_for
from tests.names import cache_prefix, topic_prefix

TOK = artifacts.load("NovaToken").abi
STK = artifacts.load("NovaStaking").abi
GOV = artifacts.load("NovaGovernor").abi
STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"]
SERVICES = ("block-sync", "token", "staking", "governance")


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "nova.cli", *argv],
            env={**os.environ, **env},
            cwd=stack.REPO_ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


async def _rest_equals_chain(net: Devnet, http: httpx.AsyncClient) -> bool:
    head = await net.chain.block_number()
    try:
        status = (await http.get("/api/v1/sync/status")).json()
        if status.get("synced_block") != head:
            return False
        token, staking = net.manifest.address("NovaToken"), net.manifest.address("NovaStaking")
        supply = (await http.get("/api/v1/token/supply")).json().get("total_supply")
        if supply != str(
            TOK.decode_result(
                "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"))
            )
        ):
            return False
        for holder in net.sim.holders[:10]:
            got = (await http.get(f"/api/v1/accounts/{holder}/balance")).json().get("balance")
            chain = TOK.decode_result(
                "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder))
            )
            if got != str(chain):
                return False
        staked = (await http.get("/api/v1/staking/totals")).json().get("total_staked")
        if staked != str(
            STK.decode_result(
                "totalStaked", await net.chain.call(staking, STK.encode_call("totalStaked"))
            )
        ):
            return False
        governor = net.manifest.address("NovaGovernor")
        page = (await http.get("/api/v1/governance/proposals", params={"limit": 1000})).json()
        for p in page.get("proposals", []):
            state = GOV.decode_result(
                "state", await net.chain.call(governor, GOV.encode_call("state", int(p["id"])))
            )
            if p["state"] != STATES[state]:
                return False
        return page.get("total", 0) > 0
    except (httpx.TransportError, ValueError):
        return False


async def test_every_service_as_its_own_process(
    anvil_url, endpoints, mysql_url, mongo_database, tmp_path
):
    net = await make_devnet(anvil_url, tmp_path, seed=101, blocks=40, txs_per_block=8)
    ports = {name: stack.free_port() for name in (*SERVICES, "gateway")}
    env = {
        "NOVA_DATABASE_URL": mysql_url,
        "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "NOVA_KAFKA_TOPIC_PREFIX": topic_prefix(),
        "NOVA_REDIS_URL": endpoints.redis_url,
        "NOVA_CACHE_PREFIX": cache_prefix(),
        "NOVA_MONGO_URL": endpoints.mongo_url,
        "NOVA_MONGO_DATABASE": mongo_database,
        "NOVA_MANIFEST": str(net.manifest_path),
        "NOVA_RPC_URLS": anvil_url,
        "NOVA_POLL_INTERVAL_S": "0.2",
        "NOVA_REORG_WINDOW": "4",  # so that a reorg of 8 is deeper than the window
    }
    migrate = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "nova.cli", "migrate"],
        env={**os.environ, **env},
        cwd=stack.REPO_ROOT,
        capture_output=True,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"{name}.log" for name in ports}
    try:
        for name in SERVICES:
            procs[name] = _spawn(
                ["serve", name], {**env, "NOVA_GRPC_PORT": str(ports[name])}, logs[name]
            )
        procs["gateway"] = _spawn(
            ["serve", "gateway"],
            {
                "NOVA_PORT": str(ports["gateway"]),
                "NOVA_BLOCK_SYNC_ADDR": f"127.0.0.1:{ports['block-sync']}",
                "NOVA_TOKEN_ADDR": f"127.0.0.1:{ports['token']}",
                "NOVA_STAKING_ADDR": f"127.0.0.1:{ports['staking']}",
                "NOVA_GOVERNANCE_ADDR": f"127.0.0.1:{ports['governance']}",
                # the response cache on the services' Redis; a TTL beyond every wait below, so
                # "REST = chain, live" holds only if the token index's announcements arrive
                "NOVA_REDIS_URL": env["NOVA_REDIS_URL"],
                "NOVA_CACHE_PREFIX": env["NOVA_CACHE_PREFIX"],
                "NOVA_RESPONSE_CACHE_TTL_S": "600",
            },
            logs["gateway"],
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}") as http:
            await wait_for(lambda: _rest_equals_chain(net, http), "REST = chain", 120)
            await net.sim.resync()
            await net.sim.run(blocks=10)  # traffic while everything runs
            await wait_for(lambda: _rest_equals_chain(net, http), "REST = chain, live", 120)
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["ready"]
        # the verifiers, as an operator runs them
        for domain in ("sync", "token", "staking", "governance"):
            verify = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "nova.cli", "verify", domain],
                env={**os.environ, **env},
                cwd=stack.REPO_ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            assert verify.returncode == 0, (domain, verify.stdout[-2000:], verify.stderr[-2000:])
            assert "OK: no drift" in verify.stdout
        # the archive too: the archiver is a consumer of its own and may lag, so the check
        # compares through the block it has passed, and its lag is never drift: each run is
        # OK or (before its first progress marker) refused
        last: list[subprocess.CompletedProcess[str]] = []

        async def archive_verified() -> bool:
            last.append(
                await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "nova.cli", "verify", "archive"],
                    env={**os.environ, **env},
                    cwd=stack.REPO_ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
            )
            if last[-1].returncode == 2:
                assert "the archiver has not passed a block yet" in last[-1].stderr
                return False
            assert last[-1].returncode == 0
            return "OK: no drift" in last[-1].stdout

        try:
            await wait_for(archive_verified, "nova verify archive: no drift", 60, every_s=0.5)
        except AssertionError:
            raise AssertionError((last[-1].stdout[-2000:], last[-1].stderr[-2000:])) from None

        # a reorg deeper than the window (4 here): the sync stops with an alarm but its
        # process stays up to say why; `nova rewind` below the fork and a restart heal it
        reorg = await force_reorg(net.rpc, net.manifest, 8, seed=5)
        await net.sim.resync()
        await net.sim.run(blocks=2)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}") as http:

            async def alarmed() -> bool:
                status = (await http.get("/api/v1/sync/status")).json()
                return "deep reorg" in status.get("alarm", "")

            await wait_for(alarmed, "the deep reorg's alarm in /sync/status", 60)
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and not ready.json()["services"]["block_sync"]["ok"]
        assert procs["block-sync"].poll() is None, "the sync's process stays up with its alarm"
        procs["block-sync"].send_signal(signal.SIGTERM)
        assert procs["block-sync"].wait(30) == 0
        safe = _stored_below(mysql_url, reorg.first_orphaned)
        rewind = nova("rewind", "--to", str(safe), "--yes", **env)
        assert rewind.returncode == 0, rewind.stderr[-2000:]
        procs["block-sync"] = _spawn(
            ["serve", "block-sync"],
            {**env, "NOVA_GRPC_PORT": str(ports["block-sync"])},
            logs["block-sync"],
        )
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['gateway']}") as http:
            await wait_for(lambda: _rest_equals_chain(net, http), "REST = chain, rewound", 120)
        for domain in ("token", "staking", "governance"):
            verify = nova("verify", domain, **env)
            assert verify.returncode == 0, (domain, verify.stdout[-2000:], verify.stderr[-2000:])

        for name, proc in procs.items():  # graceful shutdown
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0, f"{name}: {logs[name].read_text()[-2000:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await net.rpc.close()
    for name, log in logs.items():
        text = log.read_text()
        assert "Traceback" not in text and "CONSUMER STOPPED" not in text, (name, text[-2000:])


def _stored_below(db_url: str, block: int) -> int:
    """The highest block the sync stored below ``block``."""
    name = db_url.rsplit("/", 1)[1]
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root", database=name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT MAX(number) FROM blocks WHERE number < %s", (block,))
            (number,) = cur.fetchone()
            return int(number)
    finally:
        conn.close()


def nova(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a `nova` command to its end (a failing start must not hang: 60 s)."""
    return subprocess.run(
        [sys.executable, "-m", "nova.cli", *argv],
        env={**os.environ, **env},
        cwd=stack.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("argv", "env", "variable"),
    [
        (["serve", "token"], {"NOVA_GRPC_PORT": "abc"}, "NOVA_GRPC_PORT"),
        (["serve", "staking"], {"NOVA_LOG_LEVEL": "LOUD"}, "NOVA_LOG_LEVEL"),
        (["serve", "governance"], {"NOVA_CONSUMER_BATCH": "0"}, "NOVA_CONSUMER_BATCH"),
        (["serve", "gateway"], {"NOVA_PORT": "70000"}, "NOVA_PORT"),
        (["sync"], {"NOVA_REORG_WINDOW": "-1"}, "NOVA_REORG_WINDOW"),
    ],
)
def test_bad_settings_fail_fast_naming_the_variable(argv, env, variable):
    result = nova(*argv, **env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


TOKEN = {"NovaToken": {"address": "0x5FbDB2315678afecb367f032d93F642f64180aa3"}}


@pytest.mark.parametrize(
    ("argv", "manifest", "message"),
    [
        (["serve", "token"], None, "cannot read"),
        (["serve", "staking"], {"contracts": {}}, "has no address for NovaStaking"),
        (["serve", "governance"], [1, 2], "is not a JSON object"),
        (["sync"], {"contracts": TOKEN, "chain_id": 31337}, "has no start_block"),
        (
            ["backfill", "--from", "1", "--to", "2", "--no-migrate"],
            {"contracts": TOKEN, "chain_id": "one", "start_block": 1},
            "chain_id is not an integer",
        ),
        (
            ["verify", "staking"],
            {"contracts": {"NovaStaking": TOKEN["NovaToken"]}, "params": {"reward_rate": 1.5}},
            "params.reward_rate is not an integer",
        ),
    ],
)
def test_a_bad_manifest_fails_fast_saying_what_is_wrong(argv, manifest, message, tmp_path):
    """Every command that reads NOVA_MANIFEST: "error: ..." and exit 2, never a traceback."""
    path = tmp_path / "manifest.json"
    if manifest is not None:
        path.write_text(json.dumps(manifest))
    result = nova(*argv, NOVA_MANIFEST=str(path), NOVA_GRPC_PORT="0")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith("error: NOVA_MANIFEST: ")
    assert str(path) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_or_node_is_an_error_line_not_a_traceback(tmp_path):
    """One-shot commands (migrate, verify) exit 1 naming what they could not reach; a URL's
    password is not shown."""
    dead_db = nova("migrate", "--database-url", "mysql+aiomysql://root:s3cret@127.0.0.1:1/x")
    assert dead_db.returncode == 1, dead_db.stderr[-2000:]
    last_line = dead_db.stderr.strip().splitlines()[-1]
    assert last_line.startswith("error: cannot migrate mysql+aiomysql://root:***@127.0.0.1:1/x")
    assert "s3cret" not in dead_db.stderr and "Traceback" not in dead_db.stderr

    db = f"sqlite+aiosqlite:///{tmp_path / 'nova.sqlite'}"
    assert nova("migrate", "--database-url", db).returncode == 0
    manifest = tmp_path / "manifest.json"
    address = TOKEN["NovaToken"]
    contracts = {n: address for n in ("NovaToken", "NovaStaking", "NovaGovernor")}
    manifest.write_text(json.dumps({"contracts": contracts, "params": {"reward_rate": 1}}))
    for domain in ("token", "staking", "governance"):
        result = nova(
            "verify",
            domain,
            NOVA_DATABASE_URL=db,
            NOVA_MANIFEST=str(manifest),
            NOVA_RPC_URLS="http://127.0.0.1:1",
        )
        assert result.returncode == 1, (domain, result.stdout, result.stderr[-2000:])
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith("error: http://127.0.0.1:1: "), (domain, result.stderr)
        assert "Traceback" not in result.stderr
    # a broker that cannot be reached at start: one line naming it (it was a traceback)
    for domain in ("token", "governance"):
        result = nova(
            "serve",
            domain,
            NOVA_DATABASE_URL=db,
            NOVA_MANIFEST=str(manifest),
            NOVA_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1",
            NOVA_GRPC_PORT="0",
        )
        assert result.returncode == 1, (domain, result.stderr[-2000:])
        last_line = result.stderr.strip().splitlines()[-1]
        assert last_line.startswith("error: cannot create topic"), (domain, result.stderr)
        assert "127.0.0.1:1" in last_line and "Traceback" not in result.stderr


def test_verify_archive_without_an_archive_says_so(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"contracts": TOKEN, "chain_id": 31337, "start_block": 1}))
    result = nova("verify", "archive", NOVA_MANIFEST=str(manifest), NOVA_MONGO_URL="")
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.strip() == (
        "error: NOVA_MONGO_URL is not set: there is no archive to compare"
    )


def test_a_port_in_use_or_out_of_range_is_an_error_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        db = f"sqlite+aiosqlite:///{tmp_path / 'nova.sqlite'}"
        for argv, env, rc, message in [
            (
                ["serve", "gateway"],
                {"NOVA_PORT": str(port)},
                1,
                f"error: the REST gateway cannot listen on 127.0.0.1:{port}",
            ),
            (
                ["serve", "governance"],
                {"NOVA_GRPC_PORT": str(port), "NOVA_DATABASE_URL": db},
                1,
                f"error: cannot listen for gRPC on 127.0.0.1:{port}",
            ),
            (["dev", "--http-port", "70000"], {}, 2, "error: --http-port must be 0..65535"),
        ]:
            result = nova(*argv, **env)
            assert result.returncode == rc, (argv, result.stderr[-2000:])
            assert result.stderr.strip().splitlines()[-1].startswith(message), result.stderr
            assert "Traceback" not in result.stderr and "never retrieved" not in result.stderr
