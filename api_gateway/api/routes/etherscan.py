"""An Etherscan-compatible subset at ``/api`` (module/action query style, ``{status, message,
result}``), so existing Etherscan clients work by changing their base URL.

Supported: account/tokenbalance, stats/tokensupply, account/tokenbalancehistory and
stats/tokensupplyhistory (blockno), account/tokentx (page/offset/sort, startblock/endblock),
logs/getLogs (address, fromBlock/toBlock, topic0..3 with topicX_Y_opr).
Errors follow Etherscan: HTTP 200 with ``status "0"``, ``message "NOTOK"`` and the reason.
"""

from __future__ import annotations

import itertools
from typing import Any

from fastapi import APIRouter, Request

from api_gateway.api.deps import MAX_BLOCK
from api_gateway.api.errors import ApiError
from api_gateway.infrastructure.clients import Clients
from common import validation
from novapb.block_sync.v1 import block_sync_pb2 as bpb
from novapb.token.v1 import token_pb2 as tpb

router = APIRouter(tags=["etherscan"])
MAX_RESULTS = 10_000
LOGS_RESULTS = 1000  # getLogs answers at most this many logs, as Etherscan's
# GetLogs calls one getLogs may make: each reads at most the block sync's scan budget (100,000
# logs by default) with a topic, or MAX_RESULTS logs matched here for "or"
LOGS_CALLS = 20


class EtherscanError(Exception):
    pass


def ok(result: Any) -> dict[str, Any]:
    return {"status": "1", "message": "OK", "result": result}


def notok(message: str) -> dict[str, Any]:
    return {"status": "0", "message": "NOTOK", "result": f"Error! {message}"}


def _int(params: dict[str, str], name: str, default: int, lo: int = 0, hi: int = MAX_BLOCK) -> int:
    raw = params.get(name, "")
    if raw in ("", "latest") and name in ("endblock", "toBlock"):
        return default
    if raw == "":
        return default
    if not validation.is_decimal(raw) or len(raw) > 19 or not lo <= int(raw) <= hi:
        raise EtherscanError(f"Invalid {name}: {raw!r}")
    return int(raw)


def _address(params: dict[str, str], name: str) -> str:
    try:
        return validation.address(params.get(name, ""), name)
    except validation.InvalidInput as exc:
        raise EtherscanError(f"Invalid {name} format") from exc


@router.get("/api")
async def etherscan(request: Request) -> dict[str, Any]:
    params = dict(request.query_params)
    clients: Clients = request.app.state.clients
    module, action = params.get("module", ""), params.get("action", "")
    try:
        if (module, action) == ("account", "tokenbalance"):
            address = _address(params, "address")
            _check_contract(params, clients)
            r = await clients.call("token", "GetBalance", tpb.GetBalanceRequest(address=address))
            return ok(r.balance)
        if (module, action) == ("stats", "tokensupply"):
            _check_contract(params, clients)
            r = await clients.call("token", "GetTotalSupply", tpb.GetTotalSupplyRequest())
            return ok(r.total_supply)
        if (module, action) == ("account", "tokenbalancehistory"):
            address = _address(params, "address")
            _check_contract(params, clients)
            at = _blockno(params)
            req = tpb.GetBalanceRequest(address=address, at_block=at)
            return ok((await clients.call("token", "GetBalance", req)).balance)
        if (module, action) == ("stats", "tokensupplyhistory"):
            _check_contract(params, clients)
            req_supply = tpb.GetTotalSupplyRequest(at_block=_blockno(params))
            return ok((await clients.call("token", "GetTotalSupply", req_supply)).total_supply)
        if (module, action) == ("account", "tokentx"):
            return await _tokentx(params, clients)
        if (module, action) == ("logs", "getLogs"):
            return await _get_logs(params, clients)
        return notok(f"unsupported module/action {module!r}/{action!r}")
    except EtherscanError as exc:
        return notok(str(exc))
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return notok(exc.message)


def _blockno(params: dict[str, str]) -> int:
    """The ``blockno`` of the *history actions (required, as on Etherscan)."""
    if not params.get("blockno"):
        raise EtherscanError("Missing blockno")
    return _int(params, "blockno", 0, lo=1)


def _check_contract(params: dict[str, str], clients: Clients) -> None:
    if "contractaddress" in params:
        contract = _address(params, "contractaddress")
        if clients.token_address and contract != clients.token_address:
            raise EtherscanError(f"only NOVA ({clients.token_address}) is indexed here")


async def _tokentx(params: dict[str, str], clients: Clients) -> dict[str, Any]:
    _check_contract(params, clients)
    address = _address(params, "address") if params.get("address") else ""
    start = _int(params, "startblock", 0)
    end = _int(params, "endblock", 0)
    page = _int(params, "page", 1, 1, 10**6)
    # like Etherscan: without paging, up to the last 10,000 transfers in one answer
    size = _int(params, "offset", MAX_RESULTS if page == 1 else 100, 1, MAX_RESULTS)

    sort = params.get("sort", "asc")
    if sort not in ("asc", "desc"):
        raise EtherscanError("Invalid sort: use asc or desc")
    if page * size > MAX_RESULTS:
        raise EtherscanError(
            f"Result window is too large, PageNo x Offset size must be less "
            f"than or equal to {MAX_RESULTS}"
        )
    if end and end < start:
        raise EtherscanError("endblock is below startblock")
    req = tpb.GetTransfersRequest(
        address=address,
        from_block=start,
        to_block=end,
        oldest_first=sort == "asc",
        offset=(page - 1) * size,
    )
    limit = size
    items: list[Any] = []
    while limit > 0:  # the service pages at most 1000 at a time; the next from its cursor
        req.limit = min(limit, 1000)
        reply = await clients.call("token", "GetTransfers", req)
        items.extend(reply.transfers)
        if len(reply.transfers) < req.limit or not reply.next_cursor:
            break
        limit -= req.limit
        req.offset, req.cursor = 0, reply.next_cursor
    info = clients.token_info or {}
    return ok(
        [
            {
                "blockNumber": str(t.block_number),
                "timeStamp": str(t.timestamp),
                "hash": t.hash,
                "from": t.from_address.lower(),
                "to": t.to_address.lower(),
                "value": t.value,
                "contractAddress": (clients.token_address or "").lower(),
                "tokenName": info.get("name", "NovaToken"),
                "tokenSymbol": info.get("symbol", "NOVA"),
                "tokenDecimal": str(info.get("decimals", 18)),
                "transactionIndex": str(t.tx_index),
                "logIndex": str(t.log_index),
            }
            for t in items
        ]
    )


async def _get_logs(params: dict[str, str], clients: Clients) -> dict[str, Any]:
    address = _address(params, "address") if params.get("address") else ""
    first = _int(params, "fromBlock", 0)
    last_raw = params.get("toBlock", "latest")
    last = None if last_raw in ("", "latest") else _int(params, "toBlock", 0)
    topics: dict[int, str] = {}
    for i in range(4):
        value = params.get(f"topic{i}")
        if value:
            try:
                topics[i] = validation.tx_hash(value, f"topic{i}")
            except validation.InvalidInput as exc:
                raise EtherscanError(f"Invalid topic{i}") from exc
    oprs = {}
    for i in range(4):
        for j in range(i + 1, 4):
            opr = params.get(f"topic{i}_{j}_opr")
            if opr is not None:
                if opr not in ("and", "or"):
                    raise EtherscanError(f"Invalid topic{i}_{j}_opr: use and / or")
                oprs[(i, j)] = opr
    only_and = all(v == "and" for v in oprs.values())
    req = bpb.GetLogsRequest(
        address=address,
        from_block=first,
        to_block=last or 0,
        to_latest=last is None,
        # with "or" between topics the service cannot filter: read logs and match them here
        limit=LOGS_RESULTS if only_and else MAX_RESULTS,
    )
    if only_and:
        for i, t in topics.items():
            setattr(req, f"topic{i}", t)
    logs: list[Any] = []
    for _ in range(LOGS_CALLS):  # the service reads a bounded scan per call: continue it
        reply = await clients.call("block_sync", "GetLogs", req)
        logs += [lg for lg in reply.logs if only_and or _match(lg, topics, oprs)]
        if len(logs) >= LOGS_RESULTS or not reply.next_cursor:
            break
        req.cursor = reply.next_cursor
    else:
        raise EtherscanError("Query Timeout occured. Please select a smaller result dataset")
    logs = logs[:LOGS_RESULTS]
    return ok(
        [
            {
                "address": lg.address.lower(),
                "topics": list(lg.topics),
                "data": "0x" + lg.data.hex(),
                "blockNumber": hex(lg.block_number),
                "blockHash": lg.block_hash,
                "transactionHash": lg.tx_hash,
                "transactionIndex": hex(lg.tx_index),
                "logIndex": hex(lg.log_index),
            }
            for lg in logs
        ]
    )


def _match(lg: Any, topics: dict[int, str], oprs: dict[tuple[int, int], str]) -> bool:
    """Evaluate the given topics left to right, joined by their pairwise operators."""
    present = sorted(topics)
    if not present:
        return True

    def hit(i: int) -> bool:
        return len(lg.topics) > i and lg.topics[i].lower() == topics[i]

    result = hit(present[0])
    for prev, cur in itertools.pairwise(present):
        joined_by_or = oprs.get((prev, cur), "and") == "or"
        result = (result or hit(cur)) if joined_by_or else (result and hit(cur))
    return result
