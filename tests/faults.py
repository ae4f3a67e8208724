"""Fault injectors shared by the process and chaos tests (loopback only)."""

from __future__ import annotations

import asyncio
import random

import orjson
from aiohttp import ClientSession, web


class FaultyRpc:
    """A loopback JSON-RPC proxy that misbehaves: range limits, 429s, timeouts."""

    def __init__(
        self, upstream: str, seed: int, p_429: float = 0.08, p_timeout: float = 0.04
    ) -> None:
        self.p_429, self.p_timeout = p_429, p_timeout
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.counts = {"range": 0, "429": 0, "timeout": 0, "ok": 0}
        self.session: ClientSession | None = None
        self.active = True  # False: a clean pass-through

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        payload = orjson.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
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
