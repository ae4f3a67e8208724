"""``nova serve <service>`` (one service per process, real backends from NOVA_* settings) and
``nova verify <domain>`` (compare the index with the chain)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from nova.runtime import (
    exit_on_config_errors,
    exit_on_unavailable,
    load_settings,
    run_service,
    stop_on_signals,
)

serve_app = typer.Typer(
    help="Run one service in this process (settings from NOVA_*).", no_args_is_help=True
)
verify_app = typer.Typer(
    help="Compare indexed state with the chain; exit 1 on any drift.", no_args_is_help=True
)

MigrateOpt = Annotated[
    bool, typer.Option("--migrate/--no-migrate", help="Apply migrations before starting.")
]
BlockOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Block to compare at (default: the last indexed block)."),
]
ManifestOpt = Annotated[Path | None, typer.Option(help="Devnet manifest.")]
UpToBlockOpt = Annotated[
    int | None,
    typer.Option(min=0, help="Block to compare up to (default: the last synced block)."),
]
SpanOpt = Annotated[int, typer.Option(min=1, help="Blocks per eth_getLogs.")]


def _serve_consumer(
    settings_cls: Callable[[], Any],
    bootstrap: Callable[[Any], Any],
    migrate_first: bool,
    config_errors: tuple[type[Exception], ...] = (),
) -> None:
    """Run one consumer service until SIGTERM/SIGINT: start, serve gRPC, consume, close."""
    run_service(load_settings(settings_cls), bootstrap, migrate_first, config_errors)


@serve_app.command("token")
def serve_token(migrate_first: MigrateOpt = False) -> None:
    """The token service: consume the token topic, serve TokenService over gRPC."""
    from token_service.bootstrap import bootstrap
    from token_service.settings import TokenSettings

    _serve_consumer(TokenSettings, bootstrap, migrate_first)


@serve_app.command("block-sync")
def serve_block_sync(migrate_first: MigrateOpt = False) -> None:
    """The block sync service (same as `nova sync`)."""
    from nova.sync_cli import sync_cmd

    sync_cmd(manifest=None, rpc_url=None, migrate_first=migrate_first)


@verify_app.command("token")
def verify_token_cmd(
    block: BlockOpt = None,
    manifest: ManifestOpt = None,
) -> None:
    """Every indexed balance, the supply and the allowances the index answers as exact vs
    balanceOf/totalSupply/allowance() at one block."""
    from common.jsonrpc import JsonRpcClient
    from common.manifest import contract_address
    from nova.devnet.artifacts import load
    from token_service.infrastructure.sql import TokenViews
    from token_service.infrastructure.verify import verify_token
    from token_service.settings import TokenSettings

    overrides: dict[str, Any] = {"manifest": manifest} if manifest else {}
    settings = load_settings(lambda: TokenSettings(**overrides))
    token = settings.token_address
    with exit_on_config_errors():
        if token is None and settings.manifest is not None:
            token = contract_address(settings.manifest, "NovaToken")
    if token is None or not settings.rpc_urls:
        typer.echo("error: set NOVA_RPC_URLS and NOVA_MANIFEST (or NOVA_TOKEN_ADDRESS)", err=True)
        raise typer.Exit(2)

    async def check() -> Any:
        from common.db import create_engine

        engine = create_engine(settings.database_url)
        rpc = JsonRpcClient(settings.rpc_urls.split(",")[0])  # type: ignore[union-attr]
        try:
            return await verify_token(TokenViews(engine), rpc, token, load("NovaToken").abi, block)
        finally:
            await rpc.close()
            await engine.dispose()

    _report(check)


@serve_app.command("staking")
def serve_staking(migrate_first: MigrateOpt = False) -> None:
    """The staking service: consume the staking topic, serve StakingService over gRPC."""
    from staking_service.bootstrap import StakingConfigError, bootstrap
    from staking_service.settings import StakingSettings

    _serve_consumer(StakingSettings, bootstrap, migrate_first, (StakingConfigError,))


@verify_app.command("staking")
def verify_staking_cmd(
    block: BlockOpt = None,
    manifest: ManifestOpt = None,
) -> None:
    """Total staked, every active stake and its rewards owed vs the contract's views; each user's
    stored totals vs the sums of their rows."""
    from nova.devnet.artifacts import load
    from staking_service.bootstrap import StakingConfigError, bootstrap
    from staking_service.infrastructure.verify import verify_staking
    from staking_service.settings import StakingSettings

    overrides: dict[str, Any] = {"manifest": manifest} if manifest else {}
    settings = load_settings(lambda: StakingSettings(**overrides))

    async def check() -> Any:
        with exit_on_config_errors(StakingConfigError):
            app = bootstrap(settings)
            await app.start()
        try:
            if not app.has_rpc or app.staking_address is None or app.reward_rate is None:
                typer.echo(
                    "error: set NOVA_RPC_URLS and NOVA_MANIFEST (or NOVA_STAKING_ADDRESS)",
                    err=True,
                )
                raise typer.Exit(2)
            assert app.views is not None
            return await verify_staking(
                app.views,
                app.rpc(),
                app.staking_address,
                load("NovaStaking").abi,
                app.reward_rate,
                block,
            )
        finally:
            await app.close()

    _report(check)


@serve_app.command("governance")
def serve_governance(migrate_first: MigrateOpt = False) -> None:
    """The governance service: consume the governance topic, serve GovernanceService."""
    from governance_service.bootstrap import bootstrap
    from governance_service.settings import GovernanceSettings

    _serve_consumer(GovernanceSettings, bootstrap, migrate_first)


@verify_app.command("governance")
def verify_governance_cmd(
    block: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Block to compare delegates' votes at (default and for proposals: the indexed "
            "head).",
        ),
    ] = None,
    manifest: ManifestOpt = None,
) -> None:
    """Each proposal's state and tallies vs state()/proposalVotes(), each delegate's power vs
    getVotes()/getPastVotes()."""
    from common.db import create_engine
    from governance_service.bootstrap import GROUP, bootstrap
    from governance_service.infrastructure.verify import verify_governance
    from governance_service.settings import GovernanceSettings
    from nova.devnet.artifacts import load

    overrides: dict[str, Any] = {"manifest": manifest} if manifest else {}
    settings = load_settings(lambda: GovernanceSettings(**overrides))
    with exit_on_config_errors():
        app = bootstrap(settings)
    if not settings.rpc_urls or app.governor_address is None or app.token_address is None:
        typer.echo(
            "error: set NOVA_RPC_URLS and NOVA_MANIFEST (or NOVA_GOVERNOR_ADDRESS and "
            "NOVA_TOKEN_ADDRESS)",
            err=True,
        )
        raise typer.Exit(2)

    async def check() -> Any:
        from governance_service.infrastructure.sql import GovernanceViews

        engine = create_engine(settings.database_url)
        try:
            return await verify_governance(
                GovernanceViews(engine, GROUP, app.topic, app.quorum_percent),
                app.rpc(),
                app.governor_address,  # type: ignore[arg-type]
                app.token_address,  # type: ignore[arg-type]
                load("NovaGovernor").abi,
                load("NovaToken").abi,
                block,
            )
        finally:
            await engine.dispose()
            await app.close()

    _report(check)


@verify_app.command("sync")
def verify_sync_cmd(
    block: UpToBlockOpt = None, manifest: ManifestOpt = None, span: SpanOpt = 2000
) -> None:
    """Every stored log of the tracked contracts (what GetLogs serves) vs eth_getLogs, by
    position and content, every stored transaction vs eth_getTransactionByHash, and every
    stored block's hash vs the chain's. A timelock the governor moved to is tracked from the
    block of its TimelockChange, as the sync follows it."""
    from block_sync_service.infrastructure.store import SqlAlchemySyncStore
    from block_sync_service.infrastructure.verify import verify_sync
    from common.db import create_engine
    from common.jsonrpc import JsonRpcClient

    settings, tracked = _sync_settings(manifest)

    async def check() -> Any:
        engine = create_engine(settings.database_url)
        rpc = JsonRpcClient(settings.rpc_urls.split(",")[0])
        try:
            chain_id = tracked.chain_id or int(await rpc.call("eth_chainId"), 16)
            return await verify_sync(
                SqlAlchemySyncStore(engine, chain_id),
                rpc,
                list(tracked.addresses.values()),
                tracked.start_block,
                block,
                span,
                _progress("logs"),
                follows=tracked.follows,
            )
        finally:
            await rpc.close()
            await engine.dispose()

    _report(check)


@verify_app.command("archive")
def verify_archive_cmd(
    block: UpToBlockOpt = None, manifest: ManifestOpt = None, span: SpanOpt = 2000
) -> None:
    """The raw log archive (MongoDB, NOVA_MONGO_URL) vs eth_getLogs: every tracked log of the
    chain archived and live, with its content, and every live archived log the chain's (an
    orphaned one is marked removed). By default up to the block both the sync and the
    archiver (which may lag) have passed; a --block beyond the archiver's shows the logs it
    has not reached yet as not archived."""
    from block_sync_service.application.archiver import ARCHIVER_GROUP
    from block_sync_service.infrastructure.store import SqlAlchemySyncStore
    from block_sync_service.infrastructure.verify import verify_archive
    from common import events
    from common.db import create_engine
    from common.infrastructure.mongo_archive import MongoLogArchive
    from common.jsonrpc import JsonRpcClient
    from common.offsets import SqlOffsetStore
    from common.ports import PortError
    from common.validation import OutOfRange

    settings, tracked = _sync_settings(manifest)
    if not settings.mongo_url:
        typer.echo("error: NOVA_MONGO_URL is not set: there is no archive to compare", err=True)
        raise typer.Exit(2)

    async def check() -> Any:
        rpc = JsonRpcClient(settings.rpc_urls.split(",")[0])
        archive = MongoLogArchive(settings.mongo_url or "", settings.mongo_database)
        try:
            at = block
            if at is None:
                engine = create_engine(settings.database_url)
                try:
                    chain_id = tracked.chain_id or int(await rpc.call("eth_chainId"), 16)
                    state = await SqlAlchemySyncStore(engine, chain_id).state()
                    saved = await SqlOffsetStore(engine, ARCHIVER_GROUP).through()
                finally:
                    await engine.dispose()
                if state is None:
                    raise OutOfRange("nothing is synced yet: pass --block")
                topics = [events.topic_name(settings.kafka_topic_prefix, d) for d in events.DOMAINS]
                archived = min(saved.get(t, -1) for t in topics)
                if archived < 0:
                    raise OutOfRange("the archiver has not passed a block yet: pass --block")
                at = min(state.synced_block, archived)
                if at < state.synced_block:
                    typer.echo(
                        f"the archiver is through block {archived}, the sync through "
                        f"{state.synced_block}: comparing through {at}",
                        err=True,
                    )
            return await verify_archive(
                archive,
                rpc,
                list(tracked.addresses.values()),
                tracked.start_block,
                at,
                span,
                _progress("archived logs"),
                follows=tracked.follows,
            )
        finally:
            await archive.close()
            await rpc.close()

    _report(check, PortError)


def _sync_settings(manifest: Path | None) -> tuple[Any, Any]:
    """The block sync's settings (``manifest`` overriding NOVA_MANIFEST) and tracked contracts,
    or exit 2 naming what is wrong."""
    from block_sync_service.bootstrap import ConfigError, resolve_contracts
    from block_sync_service.settings import BlockSyncSettings

    overrides: dict[str, Any] = {"manifest": manifest} if manifest else {}
    settings = load_settings(lambda: BlockSyncSettings(**overrides))
    with exit_on_config_errors(ConfigError):
        tracked = resolve_contracts(settings)
    return settings, tracked


def _progress(what: str) -> Callable[[int, int], None]:
    """A progress callback that prints a line every 5 s on long checks."""
    import sys
    import time

    shown = [time.monotonic()]

    def progress(done: int, last: int) -> None:
        if time.monotonic() - shown[0] >= 5:
            shown[0] = time.monotonic()
            print(f"compared {what} through block {done:,} of {last:,}", file=sys.stderr)

    return progress


@serve_app.command("gateway")
def serve_gateway() -> None:
    """The REST gateway (FastAPI + uvicorn) over the services' gRPC APIs."""
    from api_gateway.main import create_app
    from api_gateway.settings import GatewaySettings
    from nova.gateway_server import GatewayServer

    settings = load_settings(GatewaySettings)

    async def main() -> None:
        stop = stop_on_signals()  # SIGTERM/SIGINT: drain, close, exit 0
        server = GatewayServer(
            create_app(settings), settings.host, settings.port, settings.log_level.lower()
        )
        await server.start()
        try:
            await stop.wait()
        finally:
            await server.stop()

    with exit_on_unavailable(OSError):  # e.g. its port in use
        asyncio.run(main())


def dev_cmd(
    data_dir: Annotated[
        Path, typer.Option(help="Where the SQLite database and manifest live.")
    ] = Path(".nova/dev"),
    rpc_url: Annotated[
        str | None,
        typer.Option(
            help="Index this chain instead of starting the local anvil (contracts must be deployed "
            "there: give a --data-dir whose manifest.json points at them)."
        ),
    ] = None,
    http_port: Annotated[
        int, typer.Option(help="REST API port (0: one the OS picks, printed at start).")
    ] = 8080,
    grpc_base_port: Annotated[
        int, typer.Option(help="First of 4 gRPC ports (0: any free ones, printed at start).")
    ] = 50061,
    simulate: Annotated[bool, typer.Option(help="Run live traffic on the local chain.")] = True,
    interval: Annotated[float, typer.Option(help="Seconds between simulated blocks.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulated traffic.")] = 1,
) -> None:
    """Everything in one process with embedded backends (SQLite, in-process bus and cache), a
    local anvil with the contracts and live traffic. Ctrl-C stops; running again resumes."""
    from block_sync_service.bootstrap import ConfigError
    from common.logging import configure_logging
    from nova.dev import DevOptions, run_dev
    from nova.stack import StackError

    if interval <= 0:
        typer.echo(f"error: --interval must be > 0, got {interval}", err=True)
        raise typer.Exit(2)
    if not 0 <= http_port <= 65535:
        typer.echo(f"error: --http-port must be 0..65535, got {http_port}", err=True)
        raise typer.Exit(2)
    if not 0 <= grpc_base_port <= 65532:
        typer.echo(
            f"error: --grpc-base-port must be 0..65532 (4 ports), got {grpc_base_port}", err=True
        )
        raise typer.Exit(2)
    configure_logging("WARNING")
    opts = DevOptions(
        data_dir, rpc_url, http_port, grpc_base_port, simulate and rpc_url is None, interval, seed
    )

    async def main() -> None:
        await run_dev(opts, stop_on_signals())

    with exit_on_unavailable(OSError, StackError), exit_on_config_errors(ConfigError):
        asyncio.run(main())


def _report(check: Callable[[], Awaitable[Any]], *unavailable: type[Exception]) -> None:
    """Run a verifier and print its lines: exit 1 when it found drift, 2 when it refused its
    input (OutOfRange, e.g. a block not indexed yet), the unavailable code when a server is
    down (also on the ``unavailable`` errors)."""

    from common.validation import OutOfRange

    async def main() -> bool:
        try:
            drift = await check()
        except OutOfRange as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        for line in drift.lines():
            typer.echo(line)
        return bool(drift.ok)

    with exit_on_unavailable(*unavailable):
        ok = asyncio.run(main())
    if not ok:
        raise typer.Exit(1)
