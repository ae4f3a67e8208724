"""Composition root of the block sync service: adapters from settings, wired once."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import grpc
from eth_utils.address import to_checksum_address
from prometheus_client import CollectorRegistry

from block_sync_service.api.grpc_api import SERVICE_NAME, BlockSyncServicer, register
from block_sync_service.api.verification_api import SERVICE_NAME as VERIFICATION_SERVICE
from block_sync_service.api.verification_api import VerificationServicer
from block_sync_service.api.verification_api import register as register_verification
from block_sync_service.application.archiver import ARCHIVER_GROUP, Archiver
from block_sync_service.application.sync import SyncConfig, Syncer, SyncObserver, SyncStatus
from block_sync_service.application.verification import TxVerifier
from block_sync_service.domain.errors import (
    ChainUnavailable,
    DecodeError,
    Fenced,
    RewindRefused,
)
from block_sync_service.domain.model import BlockBatch, Checkpoint, Reorg
from block_sync_service.domain.rules import DeepReorgError, Follow, RangeSizer
from block_sync_service.infrastructure.chain import JsonRpcChainClient
from block_sync_service.infrastructure.events import BusEventSink, EventRouter, TrackedContract
from block_sync_service.infrastructure.heads import WebSocketHeads
from block_sync_service.infrastructure.lock import MySqlLock, NoLock, sync_lock_name
from block_sync_service.infrastructure.store import SqlAlchemySyncStore
from block_sync_service.settings import BlockSyncSettings
from common import events
from common.abi import ContractABI
from common.adapters import make_archive, make_bus
from common.db import create_engine, snapshot_reads
from common.grpc_server import RunningServer, serve
from common.jsonrpc import RpcError
from common.logging import get_logger
from common.manifest import ManifestError, address_in, integer_in, read_manifest
from common.metrics import Metrics
from common.offsets import SqlOffsetStore
from common.ports import EventBus, LogArchive
from common.validation import InvalidInput
from common.validation import address as valid_address

log = get_logger(__name__)
CONTRACT_NAMES = ("NovaToken", "NovaStaking", "NovaGovernor", "NovaTimelock")


class ConfigError(Exception):
    """Bad configuration, found at start; the message says what to fix."""


@dataclass(frozen=True)
class TrackedSet:
    addresses: dict[str, str]  # contract name -> EIP-55 address
    start_block: int
    chain_id: int | None

    @property
    def follows(self) -> list[Follow]:
        """The timelock the governor names in ``TimelockChange(oldTimelock, newTimelock)``
        (``updateTimelock``) is followed from then on: its direct executions and
        cancellations decide the state of the proposals queued on it."""
        governor = self.addresses.get("NovaGovernor")
        if governor is None:
            return []
        spec = load_abi("NovaGovernor").events["TimelockChange"]
        word = [n for n, _ in spec.data].index("newTimelock")
        return [Follow(governor.lower(), spec.topic0, "NovaTimelock", word)]


def load_abi(name: str) -> ContractABI:
    from nova.devnet.artifacts import load  # the committed artifacts are the ABI source

    return load(name).abi


def resolve_contracts(s: BlockSyncSettings) -> TrackedSet:
    addresses: dict[str, str] = {}
    start = s.start_block
    chain_id = s.chain_id
    if s.manifest is not None:
        try:
            data = read_manifest(s.manifest)
            for name in CONTRACT_NAMES:
                if name in data.get("contracts", {}):
                    addresses[name] = address_in(data, s.manifest, name)
            start = start if start is not None else integer_in(data, s.manifest, "start_block")
            if chain_id is None:
                chain_id = integer_in(data, s.manifest, "chain_id")
        except ManifestError as exc:
            raise ConfigError(str(exc)) from exc
        for key, value in (("start_block", start), ("chain_id", chain_id)):
            if value is None:
                raise ConfigError(f"NOVA_MANIFEST: {s.manifest} has no {key}")
    explicit = {
        "NovaToken": s.token_address,
        "NovaStaking": s.staking_address,
        "NovaGovernor": s.governor_address,
        "NovaTimelock": s.timelock_address,
    }
    for name, addr in explicit.items():
        if addr:
            addresses[name] = addr
    if "NovaToken" not in addresses:
        raise ConfigError(
            "no contracts configured: set NOVA_MANIFEST or NOVA_TOKEN_ADDRESS (and "
            "NOVA_STAKING_ADDRESS, NOVA_GOVERNOR_ADDRESS, NOVA_TIMELOCK_ADDRESS)"
        )
    if start is None:
        raise ConfigError("NOVA_START_BLOCK is needed without a manifest (the deployment block)")
    checked = {}
    for name, addr in addresses.items():
        try:
            checked[name] = valid_address(addr, name)
        except InvalidInput as exc:
            raise ConfigError(f"address of {name}: {exc.message}") from exc
    return TrackedSet(checked, start, chain_id)


class _MetricsObserver(SyncObserver):
    def __init__(self, m: Metrics) -> None:
        self.head = m.gauge("head_block", "Chain head seen")
        self.synced = m.gauge("synced_block", "Last block whose events are published")
        self.lag = m.gauge("lag_blocks", "head - synced")
        self.final = m.gauge("final_block", "The block followed: head - confirmations, or tagged")
        self.published = m.counter(
            "events_published_total",
            "Records published: events (once per topic), progress and revert markers",
        )
        self.reorgs = m.counter("reorgs_total", "Reorgs handled")
        self.reorg_depth = m.gauge("last_reorg_depth_blocks", "Depth of the last reorg")
        self.range_size = m.gauge("range_size_blocks", "Current eth_getLogs range")
        self.errors = m.counter("step_errors_total", "Failed pipeline steps", ("where",))
        self.alarm = m.gauge("alarm", "1 when sync stopped with an alarm (see GetSyncStatus)")

    def on_unit(self, status: SyncStatus, batch: BlockBatch, published: int) -> None:
        self.head.set(status.head)
        self.synced.set(status.synced)
        self.final.set(status.final)
        self.lag.set(status.lag)
        self.published.inc(published)

    def on_reorg(self, status: SyncStatus, reorg: Reorg) -> None:
        self.reorgs.inc()
        self.reorg_depth.set(reorg.depth)

    def on_error(self, where: str, exc: BaseException) -> None:
        self.errors.labels(where).inc()

    def on_range_size(self, size: int) -> None:
        self.range_size.set(size)

    def on_alarm(self, alarm: str) -> None:
        self.alarm.set(1)


@dataclass
class BlockSyncApp:
    settings: BlockSyncSettings
    tracked: TrackedSet
    chain: JsonRpcChainClient
    bus: EventBus
    archive: LogArchive
    metrics: Metrics
    engine: Any = None
    store: SqlAlchemySyncStore | None = None
    syncer: Syncer | None = None
    sink: BusEventSink | None = None
    heads: WebSocketHeads | None = None
    grpc: RunningServer | None = None
    verifier: TxVerifier | None = None
    archiving: Archiver | None = None  # the archiver of the running sync (for its status)
    chain_id: int = 0
    _read_engine: Any = None  # SQLite: the gRPC reads' own engine, reading in one snapshot

    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def validate(self) -> None:
        """Fail fast on bad configuration: unreachable RPC, wrong chain, no contract."""
        try:
            self.chain_id = await self.chain.chain_id()
        except ChainUnavailable as exc:
            raise ConfigError(
                f"NOVA_RPC_URLS: no RPC answers ({self.settings.rpc_urls}): {exc}"
            ) from exc
        if self.tracked.chain_id is not None and self.tracked.chain_id != self.chain_id:
            raise ConfigError(
                f"wrong chain: expected chain id {self.tracked.chain_id}, "
                f"the RPC serves chain {self.chain_id}"
            )
        if isinstance(self.settings.confirmations, str):
            tag = self.settings.confirmations
            try:
                await self.chain.tagged(tag)
            except (ChainUnavailable, RpcError) as exc:
                raise ConfigError(
                    f"NOVA_CONFIRMATIONS={tag}: the node does not serve its '{tag}' block "
                    f"(a chain without finality?): {exc}"
                ) from exc
        for name, addr in self.tracked.addresses.items():
            code = await self.chain.code_at(addr)
            if code in ("0x", "", None):
                raise ConfigError(f"no contract at {addr} ({name}) on chain {self.chain_id}")

    async def start(self) -> None:
        await self.validate()
        s = self.settings
        self.engine = create_engine(s.database_url)
        self.store = SqlAlchemySyncStore(self.engine, self.chain_id)
        contracts = [
            TrackedContract(name, addr, load_abi(name))
            for name, addr in self.tracked.addresses.items()
        ]
        follows = self.tracked.follows
        router = EventRouter(
            self.chain_id,
            contracts,
            s.kafka_topic_prefix,
            {f.name: load_abi(f.name) for f in follows},
        )
        self.sink = BusEventSink(self.bus, router)
        await self.sink.ensure_topics()
        if s.ws_url:
            self.heads = WebSocketHeads(s.ws_url)
            self.heads.start()
        self.syncer = Syncer(
            self.chain,
            self.store,
            self.sink,
            SyncConfig(
                addresses=router.addresses,
                start_block=self.tracked.start_block,
                confirmations=s.confirmations if isinstance(s.confirmations, int) else 0,
                finality=None if isinstance(s.confirmations, int) else s.confirmations,
                reorg_window=s.reorg_window,
                poll_interval_s=s.poll_interval_s,
                range_concurrency=s.range_concurrency,
                commits_in_flight=1
                if self.engine.dialect.name == "sqlite"
                else s.commits_in_flight,
                max_logs_per_unit=s.max_logs_per_unit,
                follows=follows,
            ),
            sizer=RangeSizer(size=min(s.range_initial, s.range_max), maximum=s.range_max),
            heads=self.heads,
            observer=_MetricsObserver(self.metrics),
        )

    async def serve_grpc(self, port: int | None = None) -> int:
        assert self.store is not None
        assert self.syncer is not None
        syncer = self.syncer
        reads = self.store
        self._read_engine = snapshot_reads(self.settings.database_url)
        if self._read_engine is not None:
            reads = SqlAlchemySyncStore(self._read_engine, self.chain_id)
        servicer = BlockSyncServicer(
            reads,
            lambda: syncer.status,
            self.chain_id,
            self.settings.logs_scan_budget,
            lambda: self.archiving.archived_through() if self.archiving is not None else -1,
        )
        self.verifier = TxVerifier(
            self.chain, self.tracked.addresses["NovaToken"], self.settings.reorg_window
        )
        verification = VerificationServicer(self.verifier, self.chain)

        def add(server: grpc.aio.Server) -> None:
            register(servicer)(server)
            register_verification(verification)(server)

        self.grpc = await serve(
            add,
            [SERVICE_NAME, VERIFICATION_SERVICE],
            self.settings.grpc_port if port is None else port,
            host=self.settings.grpc_host,
        )
        log.info("gRPC BlockSyncService + VerificationService listening", port=self.grpc.port)
        return self.grpc.port

    def archiver(self) -> Archiver:
        assert self.sink is not None
        return Archiver(
            self.bus,
            self.archive,
            SqlOffsetStore(self.engine, ARCHIVER_GROUP),
            list(self.sink.router.topics.values()),
        )

    def lock(self) -> MySqlLock | NoLock:
        """The single-writer lock of this index (a chain in one database)."""
        if self.engine.dialect.name == "mysql":
            return MySqlLock(self.engine, sync_lock_name(self.engine.url.database, self.chain_id))
        return NoLock()

    async def rewind(self, to_block: int) -> Checkpoint:
        """``nova rewind``: :meth:`Syncer.rewind_checked` while holding the lock, which it
        does not wait for (a running sync must be stopped first). Returns the checkpoint it
        rewound from."""
        assert self.syncer is not None
        lock = self.lock()
        if not await lock.acquire(wait=False):
            raise RewindRefused(
                "a sync of this index is running (it holds the sync lock): stop it first"
            )
        try:
            return await self.syncer.rewind_checked(to_block)
        finally:
            await lock.release()

    async def rewind_plan(self, to_block: int) -> str:
        """``nova rewind --dry-run``: the rewind's checks and what it would revert, reading
        only (no lock, no new epoch: a running sync is not disturbed)."""
        assert self.syncer is not None
        assert self.store is not None
        state = await self.store.state()
        synced = state.synced_block if state else self.tracked.start_block - 1
        await self.syncer.check_rewind(to_block, synced)
        stored = await self.store.window(to_block + 1)
        return (
            f"would rewind from block {synced} to {to_block}: the {len(stored)} stored blocks "
            f"above it reverted on every topic and read again (nothing changed: --dry-run)"
        )

    async def run(self, stop: asyncio.Event, until: int | None = None) -> None:
        """Hold the single-writer lock, then follow the chain (and archive) until stop.

        Fenced (another syncer took a newer epoch: this one had lost its lock, e.g. its
        connection to the database dropped, and a standby took over), the service goes back
        to waiting for the lock as a standby, and when it gets it, opens a new epoch from the
        stored checkpoint and goes on. (It exited with a traceback before 2026-12-01.)"""
        assert self.syncer is not None
        fenced = False
        while not await self._run_holding_lock(stop, until, reopen=fenced):
            fenced = True

    async def _run_holding_lock(self, stop: asyncio.Event, until: int | None, reopen: bool) -> bool:
        """One term as the writer; False when it ended fenced."""
        assert self.syncer is not None
        lock = self.lock()
        if not await lock.acquire(stop):
            return True
        archiver_task = None
        archiver_stop = asyncio.Event()
        try:
            if reopen:
                await self.syncer.open()
            if self.settings.archive:
                self.archiving = self.archiver()
                archiver_task = asyncio.create_task(self.archiving.run(archiver_stop))
            try:
                await self.syncer.run(stop, until)
            except (DeepReorgError, DecodeError):
                if until is not None:  # a backfill: its command reports the alarm
                    raise
                await self._stopped_with_alarm(stop)
            except Fenced as exc:
                if until is not None:
                    raise
                log.warning("sync fenced: waiting for the lock again", reason=str(exc))
                return False
            return True
        finally:
            archiver_stop.set()
            if archiver_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await archiver_task
            await lock.release()

    async def _stopped_with_alarm(self, stop: asyncio.Event) -> None:
        """The sync stopped with an alarm (logged as SYNC STOPPED, kept in sync_state): the
        service stays up until ``stop``, so that GetSyncStatus (and the gateway's
        /sync/status) says why, the stored blocks and logs are still served and the archiver
        finishes what was published; its health says NOT_SERVING. An exit would only restart
        into the same alarm, and take the explanation with it. `nova rewind` or a larger
        window, then a restart, go on."""
        if self.grpc is not None:
            from grpc_health.v1 import health_pb2

            for name in ("", SERVICE_NAME):
                await self.grpc.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await stop.wait()

    async def close(self) -> None:
        if self.grpc is not None:
            await self.grpc.stop(2)
        if self.heads is not None:
            await self.heads.close()
        await self.chain.close()
        await self.bus.close()
        await self.archive.close()
        if self._read_engine is not None:
            await self._read_engine.dispose()
        if self.engine is not None:
            await self.engine.dispose()


def bootstrap(
    settings: BlockSyncSettings,
    *,
    bus: EventBus | None = None,
    archive: LogArchive | None = None,
    registry: CollectorRegistry | None = None,
) -> BlockSyncApp:
    """Wire the service; nothing connects until ``start()``."""
    tracked = resolve_contracts(settings)
    metrics = Metrics("block_sync", registry)
    chain = JsonRpcChainClient(
        settings.rpc_url_list,
        timeout_s=settings.rpc_timeout_s,
        max_attempts=settings.rpc_max_attempts,
        rate_limit=settings.rpc_rate_limit,
        metrics=metrics,
    )
    return BlockSyncApp(
        settings=settings,
        tracked=tracked,
        chain=chain,
        bus=bus if bus is not None else make_bus(settings, "nova-block-sync"),
        archive=archive if archive is not None else make_archive(settings),
        metrics=metrics,
    )


def checksum(address: str) -> str:
    return to_checksum_address(address)


__all__ = ["BlockSyncApp", "ConfigError", "bootstrap", "events"]
