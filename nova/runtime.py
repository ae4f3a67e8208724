"""Process glue for long-running commands: settings errors, signals, graceful stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import TypeVar

import typer
from pydantic import ValidationError

from common.logging import configure_logging
from common.settings import CommonSettings, describe_validation_error

S = TypeVar("S", bound=CommonSettings)


def load_settings(factory: Callable[[], S]) -> S:
    """Build settings from the environment or exit 2 naming the bad variables."""
    try:
        settings = factory()
    except ValidationError as exc:
        typer.echo(f"error: {describe_validation_error(exc)}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_format)
    return settings


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM (call inside the running loop)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop
