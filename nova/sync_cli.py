"""``nova sync``, ``nova backfill`` and ``nova migrate``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from common.settings import CommonSettings
from nova.runtime import (
    exit_on_config_errors,
    exit_on_unavailable,
    load_settings,
    migrate_or_exit,
    run_service,
    stop_on_signals,
)

if TYPE_CHECKING:
    from block_sync_service.settings import BlockSyncSettings

# The block sync's modules (web3, eth-account, ...) are imported by the commands that use
# them: every `nova serve <consumer>` process goes through this module, and importing them
# cost each one ~0.5 s of CPU at start, when the whole backfill starts together.

ManifestOpt = Annotated[
    Path | None, typer.Option("--manifest", help="Devnet manifest (overrides NOVA_MANIFEST).")
]
RpcOpt = Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL(s), comma-separated.")]


def _settings(manifest: Path | None, rpc_url: str | None, **extra: Any) -> BlockSyncSettings:
    from block_sync_service.settings import BlockSyncSettings

    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if manifest is not None:
        overrides["manifest"] = manifest
    if rpc_url is not None:
        overrides["rpc_urls"] = rpc_url
    return load_settings(lambda: BlockSyncSettings(**overrides))


def migrate_cmd(
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (overrides NOVA_DATABASE_URL).")
    ] = None,
) -> None:
    """Apply the database migrations (Alembic) up to the latest."""
    overrides: dict[str, Any] = {"database_url": database_url} if database_url else {}
    settings = load_settings(lambda: CommonSettings(**overrides))
    migrate_or_exit(settings.database_url)
    typer.echo(f"migrated {settings.database_url.split('@')[-1]}")


def sync_cmd(
    manifest: ManifestOpt = None,
    rpc_url: RpcOpt = None,
    migrate_first: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before starting.")
    ] = False,
) -> None:
    """Run the block sync service: follow the chain, publish events, serve gRPC."""
    from block_sync_service.bootstrap import ConfigError, bootstrap

    run_service(_settings(manifest, rpc_url), bootstrap, migrate_first, (ConfigError,))


def backfill_cmd(
    from_block: Annotated[int, typer.Option("--from", help="First block (if not synced yet).")],
    to_block: Annotated[int, typer.Option("--to", help="Last block; exits when it is synced.")],
    manifest: ManifestOpt = None,
    rpc_url: RpcOpt = None,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Backfill blocks FROM..TO with a progress bar, then exit (resumes where it stopped)."""
    if from_block < 0 or to_block < from_block:
        typer.echo(f"error: need 0 <= --from <= --to, got {from_block}..{to_block}", err=True)
        raise typer.Exit(2)
    from block_sync_service.bootstrap import ConfigError, bootstrap
    from block_sync_service.domain.errors import DecodeError, Fenced, StoreUnavailable
    from block_sync_service.domain.rules import DeepReorgError
    from nova.progress import BackfillProgress

    settings = _settings(manifest, rpc_url, start_block=from_block)
    if migrate_first:
        migrate_or_exit(settings.database_url)

    async def main() -> None:
        stop = stop_on_signals()
        # the alarms that stop a sync (logged as SYNC STOPPED above the line) end a backfill
        with (
            exit_on_config_errors(ConfigError),
            exit_on_unavailable(StoreUnavailable, DeepReorgError, DecodeError, Fenced),
        ):
            app = bootstrap(settings)
            try:
                await app.start()
                assert app.syncer is not None
                progress = BackfillProgress(from_block, to_block)
                app.syncer.obs = progress
                head = await app.chain.head()
                if to_block > head:
                    raise ConfigError(f"--to {to_block} is above the chain head {head}")
                await app.run(stop, until=to_block)
                print(file=sys.stderr)
                synced = app.syncer.status.synced
                typer.echo(f"backfilled to block {synced}: {progress.events} events")
            finally:
                await app.close()

    asyncio.run(main())


def rewind_cmd(
    to_block: Annotated[
        int,
        typer.Option(
            "--to",
            help="Keep blocks up to this one: a stored block the chain still has, or the block "
            "before the start block (a full re-index).",
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Check and say what it would revert; change nothing."),
    ] = False,
    manifest: ManifestOpt = None,
    rpc_url: RpcOpt = None,
) -> None:
    """Revert everything above a block on every topic and read it again: the way back after
    a reorg deeper than NOVA_REORG_WINDOW stopped the sync. Run it with the sync stopped,
    then start `nova sync`; the consumers undo what they applied above the block and apply
    the blocks above it as they are read again."""
    from block_sync_service.bootstrap import ConfigError, bootstrap
    from block_sync_service.domain.errors import (
        ChainUnavailable,
        RewindRefused,
        StoreUnavailable,
    )

    settings = _settings(manifest, rpc_url)
    if not settings.kafka_bootstrap_servers:
        typer.echo(
            "error: NOVA_KAFKA_BOOTSTRAP_SERVERS is not set: a rewind publishes its revert "
            "marker to the consumers' topics (`nova dev` goes back by itself on start)",
            err=True,
        )
        raise typer.Exit(2)
    migrate_or_exit(settings.database_url)
    if (
        not yes
        and not dry_run
        and not typer.confirm(
            f"Revert every index above block {to_block} and read the blocks above it again?"
        )
    ):
        raise typer.Exit(1)

    async def main() -> None:
        with (
            exit_on_config_errors(ConfigError),
            exit_on_unavailable(ChainUnavailable, StoreUnavailable),
        ):
            app = bootstrap(settings)
            try:
                await app.start()
                try:
                    if dry_run:
                        typer.echo(await app.rewind_plan(to_block))
                        return
                    before = await app.rewind(to_block)
                except RewindRefused as exc:
                    typer.echo(f"error: {exc}", err=True)
                    raise typer.Exit(1) from exc
                assert app.syncer is not None
                generation = app.syncer.checkpoint.generation
                typer.echo(
                    f"rewound from block {before.number} to {to_block}: a revert marker "
                    f"(fork generation {generation}) is on every topic; start `nova sync` to "
                    "read the blocks above it again"
                )
            finally:
                await app.close()

    asyncio.run(main())
