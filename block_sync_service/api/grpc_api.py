"""BlockSyncService over gRPC: validates input, reads the store, never leaks a stack trace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import grpc

from block_sync_service.application.sync import SyncStatus
from block_sync_service.infrastructure.store import SqlAlchemySyncStore
from common import validation
from common.abi import checksum
from common.logging import get_logger
from novapb.block_sync.v1 import block_sync_pb2 as pb
from novapb.block_sync.v1 import block_sync_pb2_grpc as pb_grpc

log = get_logger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["BlockSyncService"].full_name
MAX_LOGS = 10_000


def _log(row: dict[str, Any]) -> pb.Log:
    topics = [row[f"topic{i}"] for i in range(4) if row.get(f"topic{i}")]
    return pb.Log(
        address=row["address"],
        topics=topics,
        data=bytes.fromhex(row["data"][2:]),
        block_number=row["block_number"],
        tx_hash=row["tx_hash"],
        tx_index=row["tx_index"],
        log_index=row["log_index"],
        removed=bool(row["removed"]),
        block_hash=row["block_hash"],
    )


def _tx(row: dict[str, Any], logs: Sequence[dict[str, Any]]) -> pb.Transaction:
    return pb.Transaction(
        hash=row["hash"],
        from_address=row["from_address"],
        to_address=row["to_address"] or "",
        value=row["value"],
        gas=row["gas"],
        gas_price=row["gas_price"],
        input=row["input"],
        status=row["status"],
        tx_index=row["tx_index"],
        logs=[_log(x) for x in logs],
        block_number=row["block_number"],
        block_hash=row["block_hash"],
    )


async def abort(context: Any, code: grpc.StatusCode, message: str) -> NoReturn:
    await context.abort(code, message)
    raise AssertionError("context.abort returned")  # pragma: no cover


class BlockSyncServicer(pb_grpc.BlockSyncServiceServicer):
    def __init__(
        self,
        store: SqlAlchemySyncStore,
        status: Callable[[], SyncStatus],
        chain_id: int,
        logs_scan_budget: int,
        archived: Callable[[], int] = lambda: -1,
    ) -> None:
        self.store = store
        self.status = status
        self.archived = archived
        self.chain_id = chain_id
        self.logs_scan_budget = logs_scan_budget

    async def GetBlock(self, request: pb.GetBlockRequest, context: Any) -> pb.GetBlockResponse:
        n = request.block_number
        try:
            validation.block_number(n)
        except validation.InvalidInput as exc:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        found = await self.store.get_block(n)
        if found is None:
            synced = self.status().synced
            why = (
                "it is above the last synced block " + str(synced)
                if n > synced
                else "only blocks that carry tracked events (and checkpoints) are stored"
            )
            await abort(context, grpc.StatusCode.NOT_FOUND, f"block {n} is not indexed: {why}")
        b = found["block"]
        logs_by_tx: dict[str, list[dict[str, Any]]] = {}
        for lg in found["logs"]:
            logs_by_tx.setdefault(lg["tx_hash"], []).append(lg)
        return pb.GetBlockResponse(
            block=pb.Block(
                number=b["number"],
                hash=b["hash"],
                parent_hash=b["parent_hash"],
                timestamp=b["timestamp"],
                gas_used=b["gas_used"],
                gas_limit=b["gas_limit"],
                miner=b["miner"],
                size=b["size"],
                transactions=[_tx(t, logs_by_tx.get(t["hash"], [])) for t in found["transactions"]],
            )
        )

    async def GetTransaction(
        self, request: pb.GetTransactionRequest, context: Any
    ) -> pb.GetTransactionResponse:
        try:
            tx_hash = validation.tx_hash(request.hash)
        except validation.InvalidInput as exc:
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        found = await self.store.get_transaction(tx_hash)
        if found is None:
            await abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                f"transaction {tx_hash} is not indexed (only transactions with tracked events)",
            )
        return pb.GetTransactionResponse(transaction=_tx(found["transaction"], found["logs"]))

    async def GetLogs(self, request: pb.GetLogsRequest, context: Any) -> pb.GetLogsResponse:
        try:
            addresses = [validation.address(request.address)] if request.address else []
            topics = [
                validation.tx_hash(t, f"topic{i}") if t else None
                for i, t in enumerate(
                    (request.topic0, request.topic1, request.topic2, request.topic3)
                )
            ]
            to_block = self.status().synced if request.to_latest else request.to_block
            if not request.to_latest and request.to_block == 0 and request.from_block > 0:
                to_block = self.status().synced
            if request.from_block > to_block:
                raise validation.InvalidInput(
                    "from_block", f"{request.from_block} is above to_block {to_block}"
                )
            limit = request.limit or 1000
            if limit > MAX_LOGS:
                raise validation.InvalidInput("limit", f"must be <= {MAX_LOGS}, got {limit}")
            if request.offset > MAX_LOGS:  # an offset costs the rows it skips
                raise validation.InvalidInput(
                    "offset",
                    f"must be <= {MAX_LOGS}, got {request.offset}: page further with next_cursor",
                )
            if request.offset and any(topics) and not request.cursor:
                # an offset counts matches, and the topics are not indexed: skipping them
                # could read every log of the range, which the scan budget is there to stop
                raise validation.InvalidInput(
                    "offset", "not with a topic filter: page with next_cursor"
                )
            after = validation.position_cursor(request.cursor) if request.cursor else None
        except validation.InvalidInput as exc:  # also a malformed cursor
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        found = await self.store.get_logs(
            addresses,
            request.from_block,
            to_block,
            topics,
            limit=limit,
            offset=0 if after else request.offset,
            after=after,
            scan_budget=self.logs_scan_budget,
        )
        next_cursor = validation.make_cursor(*found.resume) if found.resume else ""
        return pb.GetLogsResponse(
            logs=[_log(r) for r in found.rows], truncated=bool(next_cursor), next_cursor=next_cursor
        )

    async def GetSyncStatus(
        self, request: pb.GetSyncStatusRequest, context: Any
    ) -> pb.GetSyncStatusResponse:
        s = self.status()
        return pb.GetSyncStatusResponse(
            is_syncing=s.running and not s.alarm,
            latest_block=s.head,
            synced_block=max(0, s.synced),
            lag=s.lag,
            last_reorg_block=s.last_reorg_block,
            last_reorg_depth=s.last_reorg_depth,
            last_reorg_at=s.last_reorg_at,
            events_per_second=s.events_per_second,
            alarm=s.alarm,
            chain_id=self.chain_id,
            final_block=max(0, s.final),
            archived_block=self.archived(),
            followed=[
                pb.FollowedContract(name=name, address=checksum(address), from_block=block)
                for name, address, block in s.followed
            ],
        )


def register(servicer: BlockSyncServicer) -> Callable[[grpc.aio.Server], None]:
    def add(server: grpc.aio.Server) -> None:
        pb_grpc.add_BlockSyncServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]

    return add
