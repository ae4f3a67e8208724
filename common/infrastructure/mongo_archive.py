"""The raw log archive over MongoDB (PyMongo's async API, ``AsyncMongoClient``).

Documents carry ``_id = "<block_hash>:<log_index>"`` so a replayed log is stored once. Indexes are
the seed's: block_number, address, tx_hash, (address, block_number); plus block_hash for marking
orphaned logs ``removed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.errors import BulkWriteError, PyMongoError

from common.ports import ArchivedLog, PortError

_DUPLICATE_KEY = 11000


class MongoLogArchive:
    def __init__(self, url: str, database: str, collection: str = "logs") -> None:
        self._client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, serverSelectionTimeoutMS=5000, tz_aware=True
        )
        self._coll = self._client[database][collection]

    async def ensure_indexes(self) -> None:
        try:
            await self._coll.create_index([("block_number", ASCENDING)])
            await self._coll.create_index([("address", ASCENDING)])
            await self._coll.create_index([("tx_hash", ASCENDING)])
            await self._coll.create_index([("address", ASCENDING), ("block_number", ASCENDING)])
            await self._coll.create_index([("block_hash", ASCENDING)])
        except PyMongoError as exc:
            raise PortError(f"mongo create_index failed: {exc}") from exc

    async def insert(self, logs: Sequence[ArchivedLog]) -> int:
        if not logs:
            return 0
        docs = [_to_doc(log) for log in logs]
        try:
            result = await self._coll.insert_many(docs, ordered=False)
            return len(result.inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise PortError(f"mongo insert failed: {errors[:3]}") from exc
            # stored before: redelivered, or its block orphaned and now canonical again
            await self._revive([docs[e["index"]] for e in errors])
            return int(exc.details.get("nInserted", len(docs) - len(errors)))
        except PyMongoError as exc:
            raise PortError(f"mongo insert failed: {exc}") from exc

    async def _revive(self, docs: Sequence[Mapping[str, Any]]) -> None:
        """Those of ``docs`` stored marked removed at an older generation are live again (a
        redelivered or replayed record matches none). Found by their blocks' hashes, which
        are few and indexed (an ``_id`` list of a whole batch took seconds on the test
        server), then updated by ``_id``."""
        wanted = {doc["_id"]: doc["generation"] for doc in docs}
        hashes = sorted({doc["block_hash"] for doc in docs})
        try:
            removed = self._coll.find(
                {"block_hash": {"$in": hashes}, "removed": True}, {"_id": 1, "generation": 1}
            )
            by_generation: dict[int, list[str]] = {}
            async for doc in removed:
                generation = wanted.get(doc["_id"])
                if generation is not None and doc.get("generation", 0) < generation:
                    by_generation.setdefault(generation, []).append(doc["_id"])
            for generation, ids in by_generation.items():
                await self._coll.update_many(
                    {"_id": {"$in": ids}, "removed": True, **_older_than(generation)},
                    {"$set": {"removed": False, "generation": generation}},
                )
        except PyMongoError as exc:
            raise PortError(f"mongo update failed: {exc}") from exc

    async def mark_removed(self, block_hashes: Sequence[str], generation: int) -> int:
        if not block_hashes:
            return 0
        try:
            result = await self._coll.update_many(
                {
                    "block_hash": {"$in": list(block_hashes)},
                    "removed": False,
                    **_older_than(generation),
                },
                {"$set": {"removed": True, "generation": generation}},
            )
        except PyMongoError as exc:
            raise PortError(f"mongo update failed: {exc}") from exc
        return int(result.modified_count)

    async def find_by_block(self, block_number: int) -> list[ArchivedLog]:
        return await self._find({"block_number": block_number})

    async def find_by_address(
        self, address: str, from_block: int, to_block: int
    ) -> list[ArchivedLog]:
        return await self._find(
            {"address": address.lower(), "block_number": {"$gte": from_block, "$lte": to_block}}
        )

    async def between(self, from_block: int, to_block: int) -> list[ArchivedLog]:
        return await self._find({"block_number": {"$gte": from_block, "$lte": to_block}})

    async def count(self, filters: Mapping[str, object] | None = None) -> int:
        query = dict(filters or {})
        if "address" in query and isinstance(query["address"], str):
            query["address"] = query["address"].lower()
        try:
            return int(await self._coll.count_documents(query))
        except PyMongoError as exc:
            raise PortError(f"mongo count failed: {exc}") from exc

    async def _find(self, query: dict[str, Any]) -> list[ArchivedLog]:
        try:
            cursor = self._coll.find(query).sort([("block_number", 1), ("log_index", 1)])
            return [_from_doc(d) async for d in cursor]
        except PyMongoError as exc:
            raise PortError(f"mongo find failed: {exc}") from exc

    async def drop(self) -> None:
        await self._coll.drop()

    async def close(self) -> None:
        await self._client.close()


def _to_doc(log: ArchivedLog) -> dict[str, Any]:
    return {
        "_id": log.key,
        "address": log.address.lower(),
        "topics": list(log.topics),
        "topic0": log.topics[0] if log.topics else None,
        "data": log.data,
        "block_number": log.block_number,
        "block_hash": log.block_hash,
        "tx_hash": log.tx_hash,
        "tx_index": log.tx_index,
        "log_index": log.log_index,
        "removed": log.removed,
        "generation": log.generation,
    }


def _older_than(generation: int) -> dict[str, Any]:
    """Documents written at an older fork generation; those archived before generations were
    kept have none, and count as the oldest."""
    return {"generation": {"$not": {"$gte": generation}}}


def _from_doc(doc: Mapping[str, Any]) -> ArchivedLog:
    return ArchivedLog(
        address=doc["address"],
        topics=tuple(doc["topics"]),
        data=doc["data"],
        block_number=int(doc["block_number"]),
        block_hash=doc["block_hash"],
        tx_hash=doc["tx_hash"],
        tx_index=int(doc["tx_index"]),
        log_index=int(doc["log_index"]),
        removed=bool(doc["removed"]),
        generation=int(doc.get("generation", 0)),
    )
