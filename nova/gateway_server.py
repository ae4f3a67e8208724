"""Running the gateway with uvicorn inside an existing event loop (tests, `nova dev`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI


class _Server(uvicorn.Server):
    """uvicorn without its own signal capture: the embedding process owns SIGINT/SIGTERM and
    stops the gateway itself (uvicorn's capture would swallow the first Ctrl-C and re-raise
    it after the gateway alone had shut down)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class GatewayServer:
    def __init__(self, app: FastAPI, host: str, port: int, log_level: str = "warning") -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, lifespan="on", access_log=False
        )

        self.server = _Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._serve())
        while not self.server.started:
            if self.task.done():
                await self.task  # raises why it could not start
                raise OSError(f"the REST gateway on {self._where} stopped while starting")
            await asyncio.sleep(0.01)

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose when configured with 0)."""
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def _where(self) -> str:
        return f"{self.server.config.host}:{self.server.config.port}"

    async def _serve(self) -> None:
        try:
            await self.server.serve()
        except SystemExit:  # uvicorn exits when it cannot listen, having logged why
            raise OSError(f"the REST gateway cannot listen on {self._where}") from None

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
