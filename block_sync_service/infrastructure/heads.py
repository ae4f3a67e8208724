"""New-head signals: eth_subscribe("newHeads") over WebSocket, reconnecting with backoff.

The signal only wakes the pipeline early; the pipeline always polls eth_blockNumber too, so a
dropped subscription costs latency (one poll interval), never data.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import orjson
import websockets

from common.logging import get_logger

log = get_logger(__name__)


class WebSocketHeads:
    def __init__(self, url: str, *, backoff_max_s: float = 10.0) -> None:
        self.url = url
        self._event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._backoff_max = backoff_max_s
        self.connected = False
        self.heads_seen = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="newHeads")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait(self, timeout_s: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout_s)
        self._event.clear()

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                async with websockets.connect(self.url, open_timeout=5, ping_interval=10) as ws:
                    await ws.send(
                        orjson.dumps(
                            {
                                "jsonrpc": "2.0",
                                "id": 1,
                                "method": "eth_subscribe",
                                "params": ["newHeads"],
                            }
                        ).decode()
                    )
                    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                    if "error" in reply:
                        raise ConnectionError(f"eth_subscribe refused: {reply['error']}")
                    self.connected = True
                    attempt = 0
                    log.info("newHeads subscribed", url=self.url)
                    async for message in ws:
                        data = orjson.loads(message)
                        if data.get("method") == "eth_subscription":
                            self.heads_seen += 1
                            self._event.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: poll, reconnect later
                log.warning("newHeads subscription lost; polling meanwhile", error=str(exc)[:200])
            self.connected = False
            self._event.set()  # poll right away
            attempt += 1
            delay = min(self._backoff_max, 0.2 * 2**attempt) * (0.5 + random.random())
            await asyncio.sleep(delay)
