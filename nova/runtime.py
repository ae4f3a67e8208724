"""Process glue for long-running commands: settings errors, signals, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from common.logging import configure_logging
from common.manifest import ManifestError
from common.metrics import serve_metrics
from common.settings import CommonSettings, describe_validation_error

S = TypeVar("S", bound=CommonSettings)


# Collect young objects every 50,000 net allocations instead of 700. The pipeline allocates
# millions of short-lived containers (JSON-RPC replies, rows, records) that reference counting
# frees; at the default the collector ran 300-1,000 times per process over a 100k-event
# backfill and took 1.3 s of the block sync's 8.5 s CPU, 0.9-1.0 s of the token and
# governance consumers' ~5 s (gc.callbacks in each process; bench.backfill's processes).
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc() -> None:
    """Fewer collector passes for a long-running process: what is alive at start-up (modules,
    classes, settings) is frozen out of every later pass, and the young generation is large."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def load_settings(factory: Callable[[], S]) -> S:
    """Build settings from the environment or exit 2 naming the bad variables."""
    try:
        settings = factory()
    except ValidationError as exc:
        typer.echo(f"error: {describe_validation_error(exc)}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings


def exit_on_config_errors(*kinds: type[Exception]) -> contextlib.AbstractContextManager[None]:
    """Bad configuration found while starting (a manifest that cannot be read or lacks what is
    needed, or the service's own ``kinds``): "error: <what>" and exit 2, no traceback."""
    return _error_exit((ManifestError, *kinds), 2)


def exit_on_unavailable(*kinds: type[Exception]) -> contextlib.AbstractContextManager[None]:
    """A node, the database or the broker that cannot be reached or answers an error (or one
    of ``kinds``, e.g. a port in use): "error: <what>" and exit 1, no traceback (for one-shot
    commands and start-up; running services retry instead)."""
    from sqlalchemy.exc import SQLAlchemyError

    from common.jsonrpc import RpcError, RpcTransportError
    from common.ports import PortError  # a broker, cache or archive that cannot be reached

    return _error_exit((RpcError, RpcTransportError, SQLAlchemyError, PortError, *kinds), 1)


@contextlib.contextmanager
def _error_exit(errors: tuple[type[Exception], ...], code: int) -> Iterator[None]:
    try:
        yield
    except errors as exc:
        typer.echo(f"error: {_reason(exc)}", err=True)
        raise typer.Exit(code) from exc


def _reason(exc: Exception) -> str:
    """The driver's own message for a SQLAlchemy error (not the SQL and the help link)."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc)


def migrate_or_exit(url: str) -> None:
    """Apply the migrations, or "error: cannot migrate <database>: <why>" and exit 1 when the
    database cannot be reached or refuses (no traceback)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from common.db import migrate

    try:
        migrate(url)
    except (SQLAlchemyError, ValueError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        typer.echo(f"error: cannot migrate {where}: {_reason(exc)}", err=True)
        raise typer.Exit(1) from exc


def run_service(
    settings: CommonSettings,
    bootstrap: Callable[[Any], Any],
    migrate_first: bool,
    config_errors: tuple[type[Exception], ...] = (),
) -> None:
    """Run one service until SIGTERM/SIGINT: (migrate,) start, serve gRPC, run, close; start-up
    failures are one error line."""
    if migrate_first:
        migrate_or_exit(settings.database_url)
    serve_metrics(settings.metrics_port)

    async def main() -> None:
        stop = stop_on_signals()
        with exit_on_config_errors(*config_errors):
            app = bootstrap(settings)
            try:
                await app.start()
                await app.serve_grpc()
                await app.run(stop)
            finally:
                await app.close()

    with exit_on_unavailable(OSError):  # e.g. its gRPC port in use
        asyncio.run(main())


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
