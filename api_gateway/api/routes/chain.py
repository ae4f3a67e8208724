"""Blocks, transactions, logs and sync status (BlockSyncService)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api_gateway.api.deps import MAX_BLOCK, ClientsDep, Cursor, parse_block_or_latest
from api_gateway.api.models import (
    BlockModel,
    FollowedContractModel,
    IndexStatusModel,
    LogModel,
    LogsPage,
    SyncStatusModel,
    TransactionModel,
)
from api_gateway.infrastructure.clients import INDEXED
from common import validation
from novapb.block_sync.v1 import block_sync_pb2 as pb

router = APIRouter(tags=["chain"])
IMMUTABLE = "public, max-age=31536000, immutable"
MUTABLE = "public, max-age=2"


def log_model(lg: Any) -> LogModel:
    return LogModel(
        address=lg.address,
        topics=list(lg.topics),
        data="0x" + lg.data.hex(),
        block_number=lg.block_number,
        block_hash=lg.block_hash,
        tx_hash=lg.tx_hash,
        tx_index=lg.tx_index,
        log_index=lg.log_index,
        removed=lg.removed,
    )


def tx_model(t: Any) -> TransactionModel:
    return TransactionModel(
        hash=t.hash,
        block_number=t.block_number,
        block_hash=t.block_hash,
        from_address=t.from_address,
        to_address=t.to_address or None,
        value=t.value,
        gas=t.gas,
        gas_price=t.gas_price,
        input="0x" + t.input.hex(),
        status=t.status,
        tx_index=t.tx_index,
        logs=[log_model(x) for x in t.logs],
    )


async def cache_header(clients: ClientsDep, response: Response, block: int) -> None:
    """Blocks deeper than the reorg window below the synced head never change: cache long."""
    status = await clients.call("block_sync", "GetSyncStatus", pb.GetSyncStatusRequest())
    final = block + clients.immutable_depth <= status.synced_block
    response.headers["Cache-Control"] = IMMUTABLE if final else MUTABLE


@router.get("/blocks/{number}", response_model=BlockModel)
async def get_block(
    number: Annotated[int, Path(ge=0, le=MAX_BLOCK)], clients: ClientsDep, response: Response
) -> BlockModel:
    reply = await clients.call("block_sync", "GetBlock", pb.GetBlockRequest(block_number=number))
    b = reply.block
    await cache_header(clients, response, b.number)
    return BlockModel(
        number=b.number,
        hash=b.hash,
        parent_hash=b.parent_hash,
        timestamp=b.timestamp,
        gas_used=b.gas_used,
        gas_limit=b.gas_limit,
        miner=b.miner,
        size=b.size,
        transactions=[tx_model(t) for t in b.transactions],
    )


@router.get("/transactions/{tx_hash}", response_model=TransactionModel)
async def get_transaction(
    tx_hash: str, clients: ClientsDep, response: Response
) -> TransactionModel:
    validation.tx_hash(tx_hash, "tx_hash")
    reply = await clients.call(
        "block_sync", "GetTransaction", pb.GetTransactionRequest(hash=tx_hash)
    )
    await cache_header(clients, response, reply.transaction.block_number)
    return tx_model(reply.transaction)


TopicQuery = Annotated[str | None, Query(description="0x + 64 hex")]


@router.get("/logs", response_model=LogsPage)
async def get_logs(
    clients: ClientsDep,
    response: Response,
    address: Annotated[str | None, Query(description="Contract address")] = None,
    from_block: Annotated[str, Query(description="Block number or 'latest'")] = "0",
    to_block: Annotated[str, Query(description="Block number or 'latest'")] = "latest",
    topic0: TopicQuery = None,
    topic1: TopicQuery = None,
    topic2: TopicQuery = None,
    topic3: TopicQuery = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: Cursor = None,
) -> LogsPage:
    """Logs in chain order. With a topic, one call reads at most the next 100,000 logs of the
    range (topics are not indexed): the page holds the matches among them, possibly none, and
    `next_cursor` continues after them; page until `next_cursor` is null."""
    if address is not None:
        address = validation.address(address, "address")
    topics = [
        validation.tx_hash(t, f"topic{i}") if t is not None else ""
        for i, t in enumerate((topic0, topic1, topic2, topic3))
    ]
    first = parse_block_or_latest(from_block, "from_block")
    last = parse_block_or_latest(to_block, "to_block")
    if first is None:
        status = await clients.call("block_sync", "GetSyncStatus", pb.GetSyncStatusRequest())
        first = status.synced_block
    if last is not None and first > last:
        raise validation.InvalidInput("from_block", f"{first} is above to_block {last}")
    reply = await clients.call(
        "block_sync",
        "GetLogs",
        pb.GetLogsRequest(
            address=address or "",
            from_block=first,
            to_block=last or 0,
            to_latest=last is None,
            topic0=topics[0],
            topic1=topics[1],
            topic2=topics[2],
            topic3=topics[3],
            limit=limit,
            cursor=cursor or "",
        ),
    )
    response.headers["Cache-Control"] = MUTABLE
    logs = [log_model(x) for x in reply.logs]
    return LogsPage(
        logs=logs,
        count=len(logs),
        truncated=reply.truncated,
        next_cursor=reply.next_cursor or None,
    )


@router.get("/sync/status", response_model=SyncStatusModel)
async def sync_status(clients: ClientsDep, response: Response) -> SyncStatusModel:
    """The block sync's position, and each index's behind it (an index that cannot be reached
    is reported as such; the block sync's own answer is required)."""
    indexed = [n for n in INDEXED if n in clients.services]
    s, *replies = await asyncio.gather(
        clients.call("block_sync", "GetSyncStatus", pb.GetSyncStatusRequest()),
        *(clients.index_status(n) for n in indexed),
    )
    indexes = {}
    for name, (reply, unreachable) in zip(indexed, replies, strict=True):
        if reply is None:
            indexes[name] = IndexStatusModel(available=False, error=unreachable)
            continue
        indexes[name] = IndexStatusModel(
            available=True,
            applied_through=reply.applied_through,
            lag=max(0, s.synced_block - reply.applied_through),
            running=reply.running,
            error=reply.error,
        )
    response.headers["Cache-Control"] = "no-store"
    return SyncStatusModel(
        is_syncing=s.is_syncing,
        chain_id=s.chain_id,
        latest_block=s.latest_block,
        synced_block=s.synced_block,
        final_block=s.final_block,
        lag=s.lag,
        last_reorg_block=s.last_reorg_block,
        last_reorg_depth=s.last_reorg_depth,
        last_reorg_at=s.last_reorg_at,
        events_per_second=s.events_per_second,
        alarm=s.alarm,
        archived_block=s.archived_block if s.archived_block >= 0 else None,
        indexes=indexes,
        followed=[
            FollowedContractModel(name=f.name, address=f.address, from_block=f.from_block)
            for f in s.followed
        ],
    )
