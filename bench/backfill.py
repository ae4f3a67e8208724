"""Backfill benchmark: block sync (RPC -> decode -> Kafka + MariaDB) vs the raw rate of
``eth_getLogs`` + ABI decoding against the same node, in the same run; then the whole backfill
as processes started together (`nova backfill` and the token, staking and governance
consumers): the end-to-end rate until every balance is queryable, and each one's peak memory.
The in-process measures also report their CPU (this process and each server) and the rate
that CPU would allow with every core busy, beside the CPU that 0.6 x raw's time allows.
``--sizes`` gives the scaling curve.

    uv run python -m bench.backfill [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql

from bench.common import (
    History,
    add_buffer_pool_option,
    buffer_pool,
    drop_database,
    exit_cleanly_on_sigterm,
    fresh_database,
    generate,
    positive,
    shared_state_deleted,
    topic_prefix,
)
from block_sync_service.bootstrap import bootstrap
from block_sync_service.infrastructure.chain import JsonRpcChainClient
from block_sync_service.infrastructure.events import DELEGATION
from block_sync_service.settings import BlockSyncSettings
from common.db import migrate
from common.metrics import isolated_registry
from nova import runtime, stack
from nova.devnet import artifacts


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def raw_rate(url: str, addresses: list[str], first: int, last: int, step: int) -> Run:
    """eth_getLogs in ranges (4 in flight) + decoding every log by its ABI: events/s."""
    chain = JsonRpcChainClient([url])
    abis = {}
    for name in ("NovaToken", "NovaStaking", "NovaGovernor", "NovaTimelock"):
        for spec in artifacts.load(name).abi.events_by_topic.values():
            abis[spec.topic0] = spec
    sem = asyncio.Semaphore(4)
    count = 0

    async def one(a: int, b: int) -> None:
        nonlocal count
        async with sem:
            logs = await chain.logs(a, b, addresses)
        for lg in logs:
            spec = abis.get(lg.topics[0])
            if spec is not None:
                spec.decode(lg.topics, lg.data)
            count += 1

    with cpu_meter() as measured:
        await asyncio.gather(
            *(one(a, min(last, a + step - 1)) for a in range(first, last + 1, step))
        )
        run = measured(count)
    await chain.close()
    return run


@dataclass
class Run:
    """One in-process measure: its events, wall time, and the CPU seconds spent meanwhile by
    this process and by each server kind (MariaDB, tansu, anvil)."""

    events: int
    took: float
    own_cpu: float
    servers_cpu: dict[str, float]

    @property
    def rate(self) -> float:
        return self.events / self.took

    @property
    def cpu(self) -> float:
        return self.own_cpu + sum(self.servers_cpu.values())

    def ceiling(self, cores: int) -> float:
        """The rate if this CPU work kept every core busy: no schedule of the same work on
        this machine does better."""
        return self.events / (self.cpu / cores)


@contextlib.contextmanager
def cpu_meter() -> Iterator[Callable[[int], Run]]:
    """Wall time and CPU (this process + the servers) from entry to the call of the yielded
    function with the event count."""
    servers, own, started = _servers_cpu_s(), _own_cpu_s(), time.monotonic()

    def done(events: int) -> Run:
        took = time.monotonic() - started
        return Run(events, took, _own_cpu_s() - own, _servers_cpu_since(servers))

    yield done


async def service_rate(settings: BlockSyncSettings, head: int) -> Run:
    migrate(settings.database_url)
    app = bootstrap(settings, registry=isolated_registry())
    await app.start()
    assert app.syncer is not None
    with cpu_meter() as measured:
        await app.run(asyncio.Event(), until=head)
        run = measured(app.syncer.status.events_total)
    await app.close()
    return run


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident set of a running process (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVERS = {"mariadbd": "MariaDB", "tansu": "tansu", "anvil": "anvil"}


def _servers_cpu_s() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each server process the pipeline shares the cores with:
    {pid: (kind, seconds)} for every process of those names (the bench is not meant to run
    beside other work)."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            kind = SERVERS.get((proc / "comm").read_text().strip())
            if kind is not None:
                out[int(proc.name)] = (kind, _cpu_s(int(proc.name)))
        except (OSError, ValueError):
            continue  # exited meanwhile
    return out


def _servers_cpu_since(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per kind since ``before`` (processes that exited meanwhile are left out)."""
    out = dict.fromkeys(SERVERS.values(), 0.0)
    for pid, (kind, cpu) in _servers_cpu_s().items():
        out[kind] += cpu - before[pid][1] if pid in before else cpu
    return out


def _query(db: str, sql: str, *params: object) -> int:
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root", database=db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return int(row[0]) if row and row[0] is not None else -1
    except pymysql.err.ProgrammingError:
        return -1
    finally:
        conn.close()


def processes(history: History, endpoints: stack.Endpoints, work: Path) -> dict[str, float]:
    """The whole backfill as it runs in production: `nova backfill` and the token, staking and
    governance consumers started together as processes. End to end = from their start until
    the token consumer has applied the chain's last token event (every balance queryable).
    Also each process's peak RSS (`wait4` for the backfill, `/proc` VmHWM for consumers)."""
    db_url, db_name = fresh_database()
    migrate(db_url)  # once, before the processes (concurrent migrations race in Alembic)
    env = {
        **os.environ,
        "NOVA_DATABASE_URL": db_url,
        "NOVA_KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "NOVA_KAFKA_TOPIC_PREFIX": topic_prefix(),
        "NOVA_MANIFEST": str(history.manifest_path),
        "NOVA_RPC_URLS": history.url,
        "NOVA_ARCHIVE": "false",
        "NOVA_LOG_LEVEL": "WARNING",
        "NOVA_GRPC_PORT": "0",
    }
    out: dict[str, float] = {}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    cli = [sys.executable, "-m", "nova.cli"]
    m = history.manifest
    token, staking = m.address("NovaToken"), m.address("NovaStaking")
    abi = artifacts.load("NovaToken").abi
    try:
        servers_before = _servers_cpu_s()
        started = time.monotonic()
        sync = subprocess.Popen(
            [*cli, "backfill", "--from", str(m.start_block), "--to", str(history.head)],
            env=env,
            cwd=stack.REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("token", "staking", "governance"):
            procs[name] = subprocess.Popen(
                [*cli, "serve", name],
                env=env,
                cwd=stack.REPO_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        _, status, usage = os.wait4(sync.pid, 0)
        sync.returncode = os.waitstatus_to_exitcode(status)
        assert sync.returncode == 0, "nova backfill failed"
        out["nova backfill process (events/s)"] = history.events / (time.monotonic() - started)
        out["nova backfill process peak RSS (MB)"] = usage.ru_maxrss / 1024
        out["nova backfill process CPU (s)"] = usage.ru_utime + usage.ru_stime
        # the token topic carries the token's events but its delegation ones (governance's)
        skip = tuple(abi.events[e].topic0 for e in sorted(DELEGATION))
        not_skipped = f"topic0 NOT IN ({', '.join(['%s'] * len(skip))})"
        of_token = f"FROM logs WHERE address = %s AND {not_skipped}"
        of_staking = "FROM logs WHERE address = %s"
        targets = {
            "token": _query(db_name, f"SELECT MAX(block_number) {of_token}", token, *skip),
            "staking": _query(db_name, f"SELECT MAX(block_number) {of_staking}", staking),
            "governance": history.head,
        }
        events = {
            "token": _query(db_name, f"SELECT COUNT(*) {of_token}", token, *skip),
            "staking": _query(db_name, f"SELECT COUNT(*) {of_staking}", staking),
        }
        pending = set(targets)
        deadline = time.monotonic() + 600
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                mark = _query(
                    db_name,
                    "SELECT block_number FROM consumer_marks WHERE consumer_group = %s",
                    name,
                )
                if mark >= targets[name]:
                    took = time.monotonic() - started
                    out[f"{name} consumer peak RSS (MB)"] = _vm_hwm_mb(procs[name].pid)
                    out[f"{name} consumer CPU (s)"] = _cpu_s(procs[name].pid)
                    if name == "token":
                        out["end to end: token balances queryable (events/s)"] = (
                            history.events / took
                        )
                    if name in events:
                        out[f"{name} consumer: its topic's events / time (events/s)"] = (
                            events[name] / took
                        )
                    pending.discard(name)
            time.sleep(0.05)
        assert not pending, f"consumers did not catch up: {pending}"
        for kind, cpu in _servers_cpu_since(servers_before).items():
            out[f"{kind} CPU until all caught up (s)"] = cpu
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(30)
        drop_database(db_name)
    return out


def in_process(history: History, endpoints: stack.Endpoints, step: int) -> dict[str, float]:
    """Raw eth_getLogs + decode, then the block sync in this process, on a fresh database."""
    db_url, db_name = fresh_database()
    try:
        addresses = [c["address"] for c in history.manifest.contracts.values()]
        raw = asyncio.run(
            raw_rate(history.url, addresses, history.manifest.start_block, history.head, step)
        )
        settings = BlockSyncSettings(
            database_url=db_url,
            kafka_bootstrap_servers=endpoints.kafka_bootstrap,
            kafka_topic_prefix=topic_prefix(),
            manifest=history.manifest_path,
            rpc_urls=history.url,
            grpc_port=0,
            archive=False,
            reorg_window=16,
            range_initial=step,
        )
        sync = asyncio.run(service_rate(settings, history.head))
        assert sync.events == raw.events, f"published {sync.events} of {raw.events}"
        cores = os.cpu_count() or 1
        out = {
            "chain events": float(sync.events),
            "of them NovaToken events": float(history.token_events),
            "raw eth_getLogs + decode (events/s)": raw.rate,
            "block sync -> Kafka + MariaDB (events/s)": sync.rate,
            "ratio block sync / raw": sync.rate / raw.rate,
            "backfill time (s)": sync.took,
            "raw: Python CPU (s)": raw.own_cpu,
            "block sync: Python CPU (s)": sync.own_cpu,
            **{f"block sync: {k} CPU (s)": v for k, v in sync.servers_cpu.items()},
            "block sync: all CPU (s)": sync.cpu,
            # the CPU that fits in the wall time of 0.6 x raw with every core busy
            f"all CPU for 0.6 x raw on {cores} busy cores (s)": cores
            * sync.events
            / (0.6 * raw.rate),
            f"ceiling: its CPU on {cores} busy cores (events/s)": sync.ceiling(cores),
            "ratio ceiling / raw": sync.ceiling(cores) / raw.rate,
        }
    finally:
        drop_database(db_name)
    return out


def one_size(
    events: int, step: int, endpoints: stack.Endpoints, with_processes: bool
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        history, anvil = asyncio.run(generate(events, Path(tmp)))
        try:
            print(
                f"history: {history.events} events ({history.token_events} of NovaToken) in "
                f"{history.head} blocks "
                f"(generated in {history.generate_s:.1f}s)",
                flush=True,
            )
            out = in_process(history, endpoints, step)
            if with_processes:
                out |= processes(history, endpoints, Path(tmp))
        finally:
            anvil.terminate()  # type: ignore[attr-defined]
    return out


def _sizes(text: str) -> list[int]:
    return sorted({positive(x) for x in text.split(",")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default="10000,100000",
        help="comma-separated history sizes: NovaToken events (the other contracts add ~4%%)",
    )
    parser.add_argument("--range", type=positive, default=50, help="initial eth_getLogs range")
    add_buffer_pool_option(
        parser,
        "At 128 MB (the Debian default) the logs table of a 1M history outgrows it and the "
        "rate falls with history for that reason alone.",
    )
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    runtime.tune_gc()  # the in-process measures run as every nova process does
    sizes: list[int] = args.sizes
    endpoints = stack.up()
    with buffer_pool(args.buffer_pool_mb):
        results = {
            n: one_size(n, args.range, endpoints, with_processes=n == max(sizes)) for n in sizes
        }
    names = list(dict.fromkeys(k for r in results.values() for k in r))
    first = max(map(len, ["measure", *names])) + 2
    print(f"{'measure':{first}}" + "".join(f"{f'{n:,} token events':>22}" for n in sizes))

    def cell(n: int, name: str) -> str:
        if name not in results[n]:
            return f"{'':22}"
        digits = 2 if name.startswith("ratio") else 1 if name.endswith("(s)") else 0
        return f"{results[n][name]:22,.{digits}f}"

    for name in names:
        print(f"{name:{first}}" + "".join(cell(n, name) for n in sizes))


if __name__ == "__main__":
    with shared_state_deleted():
        main()
