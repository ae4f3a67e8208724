"""Fault injectors shared by the process and chaos tests (loopback only)."""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import orjson
import pymysql
from aiohttp import ClientSession, web


class FaultyRpc:
    """A loopback JSON-RPC proxy that misbehaves: range limits, 429s, timeouts."""

    def __init__(
        self,
        upstream: str,
        seed: int,
        p_429: float = 0.08,
        p_timeout: float = 0.04,
        unknown_tags: frozenset[str] = frozenset(),
    ) -> None:
        self.p_429, self.p_timeout = p_429, p_timeout
        self.unknown_tags = unknown_tags  # block tags refused as a node without finality does
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.counts = {"range": 0, "429": 0, "timeout": 0, "ok": 0}
        self.session: ClientSession | None = None
        self.active = True  # False: a clean pass-through

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        payload = orjson.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
        for call in calls:
            params = call.get("params") or [None]
            if call.get("method") == "eth_getBlockByNumber" and params[0] in self.unknown_tags:
                error = {"code": -32602, "message": f"invalid block tag {params[0]!r}"}
                reply = {"jsonrpc": "2.0", "id": call["id"], "error": error}
                return web.json_response(reply if not isinstance(payload, list) else [reply])
        roll = self.rng.random() if self.active else 1.0
        if roll < self.p_429:
            self.counts["429"] += 1
            return web.Response(status=429, headers={"Retry-After": "0"}, text="slow down")
        if roll < self.p_429 + self.p_timeout:
            self.counts["timeout"] += 1
            await asyncio.sleep(2.5)  # beyond the client's timeout
        for call in calls if self.active else []:
            if call.get("method") == "eth_getLogs":
                p = call["params"][0]
                if "fromBlock" in p and int(p["toBlock"], 16) - int(p["fromBlock"], 16) >= 7:
                    self.counts["range"] += 1
                    error = {"code": -32005, "message": "query returned more than 10000 results"}
                    reply = {"jsonrpc": "2.0", "id": call["id"], "error": error}
                    return web.json_response(reply if not isinstance(payload, list) else [reply])
        assert self.session is not None
        async with self.session.post(
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        ) as resp:
            self.counts["ok"] += 1
            return web.Response(body=await resp.read(), content_type="application/json")

    async def start(self, port: int) -> None:
        """Serve on 127.0.0.1:``port`` (in this event loop) until :meth:`stop`."""
        self.session = ClientSession()
        app = web.Application()
        app.router.add_post("/", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
        if self.session is not None:
            await self.session.close()


class DroppableWebSocket:
    """A loopback WebSocket proxy in front of a node's WS endpoint; :meth:`drop` cuts every
    open connection (the client must notice, poll meanwhile and reconnect)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.connections = 0
        self._open: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        client = web.WebSocketResponse()
        await client.prepare(request)
        self.connections += 1
        self._open.add(client)
        assert self.session is not None
        async with self.session.ws_connect(self.upstream) as node:

            async def pump_up() -> None:
                async for msg in client:
                    await node.send_str(msg.data)

            async def pump_down() -> None:
                async for msg in node:
                    if client.closed:
                        return
                    await client.send_str(msg.data)

            tasks = [asyncio.create_task(pump_up()), asyncio.create_task(pump_down())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
        self._open.discard(client)
        return client

    async def drop(self) -> None:
        for ws in list(self._open):
            await ws.close(code=1011, message=b"dropped by the test")

    async def start(self, port: int) -> None:
        self.session = ClientSession()
        app = web.Application()
        app.router.add_get("/", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        await self.drop()
        await self._runner.cleanup()
        await self.session.close()


# a replication source's options, and a replica's (see PrivateMariaDB.replicate_from)
SOURCE_OPTIONS = ("--log-bin=source-bin", "--server-id=1", "--binlog-format=ROW")
REPLICA_OPTIONS = ("--server-id=2",)


class PrivateMariaDB:
    """A MariaDB server of the test's own (datadir under ``root``, loopback port, no auth), so
    a test may crash and restart it without touching the machine's shared server."""

    def __init__(self, root: Path, port: int, options: Sequence[str] = ("--skip-log-bin",)) -> None:
        self.root, self.port = root, port
        self.options = tuple(options)  # e.g. a replication source: --log-bin --server-id=1
        self.datadir = root / "data"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mysql+aiomysql://root@127.0.0.1:{self.port}"

    def start(self) -> None:
        if not self.datadir.exists():
            install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
            assert install is not None, (
                "mariadb-install-db is needed (apt-get install mariadb-server)"
            )
            command = [
                install,
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
            # it failed once in a full run (exit 1, right after the same command had made the
            # source's datadir) and not when run again: tried up to three times, on a clean
            # directory, and a last failure says what the tool printed
            for _ in range(3):
                done = subprocess.run(command, capture_output=True, check=False)
                if done.returncode == 0:
                    break
                shutil.rmtree(self.datadir, ignore_errors=True)
            else:
                output = (done.stdout + done.stderr).decode(errors="replace")[-3000:]
                raise AssertionError(f"{install} exited {done.returncode}:\n{output}")
        exe = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        with open(self.root / "mariadb.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    exe,
                    "--no-defaults",
                    "--user=root",
                    f"--datadir={self.datadir}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.root / 'mysqld.sock'}",
                    f"--pid-file={self.root / 'pid'}",
                    *self.options,
                    "--innodb-buffer-pool-size=64M",
                    "--max-connections=500",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def ready(self) -> bool:
        try:
            pymysql.connect(
                host="127.0.0.1", port=self.port, user="root", connect_timeout=1
            ).close()
        except pymysql.err.Error:
            return False
        return True

    def execute(self, *statements: str) -> list[tuple[object, ...]]:
        """Run statements (autocommit); the last one's rows."""
        with pymysql.connect(host="127.0.0.1", port=self.port, user="root", autocommit=True) as c:
            rows: list[tuple[object, ...]] = []
            with c.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
            return rows

    def replicate_from(self, source: PrivateMariaDB) -> None:
        """Replicate ``source`` (started with SOURCE_OPTIONS, this one with REPLICA_OPTIONS)
        from its first transaction, by GTID; the IO thread retries every second while the
        source is down."""
        self.execute(
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={source.port}, "
            "MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos, "
            "MASTER_CONNECT_RETRY=1",
            "START SLAVE",
        )

    def crash(self) -> None:
        """SIGKILL: no clean shutdown, InnoDB recovers on the next start."""
        _crash(self.proc)

    def stop(self) -> None:
        _terminate(self.proc, 60)


def _crash(proc: subprocess.Popen[bytes] | None) -> None:
    assert proc is not None, "not started"
    proc.kill()
    proc.wait(30)


def _terminate(proc: subprocess.Popen[bytes] | None, grace_s: float) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


class CuttableTcp:
    """A loopback TCP forwarder that can cut every connection and refuse new ones (a broker
    that clients cannot reach), then let them through again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.open = True
        self.cuts = 0
        self.refused = 0  # connection attempts while cut: the clients noticed
        self.accepted = 0  # connections let through
        self.forwarded = 0  # bytes passed on, both ways
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        self.accepted += 1

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    self.forwarded += len(data)
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.close()

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    def cut(self) -> None:
        self.open = False
        self.cuts += 1
        for w in list(self._writers):
            w.transport.abort()

    def restore(self) -> None:
        self.open = True

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class PrivateBroker:
    """A tansu of the test's own (memory storage) that advertises ``advertised_port`` (a
    :class:`CuttableTcp` in front of it), so clients reconnect through the forwarder."""

    def __init__(self, port: int, advertised_port: int, log: Path) -> None:
        self.port, self.advertised_port, self.log = port, advertised_port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from nova.stack import tansu_bin

        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [
                    str(tansu_bin()),
                    "broker",
                    "--listener-url",
                    f"tcp://127.0.0.1:{self.port}",
                    "--advertised-listener-url",
                    f"tcp://127.0.0.1:{self.advertised_port}",
                    "--storage-engine",
                    "memory://tansu/",
                ],
                stdout=fh,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        _terminate(self.proc, 10)
