"""The gateway's size limits, over real connections (uvicorn, and a gRPC server on loopback
whose GovernanceService answers a page far above gRPC's default 4 MiB): such a page (a
thousand proposals of a few KB each, as real DAOs write them) is served, not refused as a
429; and a request body above 256 KiB is refused with 413 before it is parsed, whether it
declares its length or comes in chunks, while one below it reaches its route."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx

from api_gateway.main import MAX_BODY_BYTES, create_app
from api_gateway.settings import GatewaySettings
from nova.gateway_server import GatewayServer
from novapb.governance.v1 import governance_pb2 as pb
from novapb.governance.v1 import governance_pb2_grpc as pb_grpc

A = "0x" + "11" * 20
DESCRIPTION = "x" * 1_000_000  # six of them: 6 MB, above gRPC's default 4 MiB


class LongProposals(pb_grpc.GovernanceServiceServicer):
    async def ListProposals(self, request: Any, context: Any) -> pb.ListProposalsResponse:
        proposals = [
            pb.Proposal(
                id=str(i),
                proposer=A,
                description=DESCRIPTION,
                state="Active",
                for_votes="0",
                against_votes="0",
                abstain_votes="0",
                quorum="0",
            )
            for i in range(1, 7)
        ]
        return pb.ListProposalsResponse(proposals=proposals, total=6)


async def test_large_answers_are_served_and_large_bodies_refused() -> None:
    server = grpc.aio.server()
    pb_grpc.add_GovernanceServiceServicer_to_server(LongProposals(), server)
    address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    settings = GatewaySettings(
        block_sync_addr=address, token_addr=address, staking_addr=address, governance_addr=address
    )
    gateway = GatewayServer(create_app(settings), "127.0.0.1", 0)
    await gateway.start()
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{gateway.port}", timeout=30
        ) as http:
            r = await http.get("/api/v1/governance/proposals", params={"limit": 10})
            assert r.status_code == 200, r.text[:300]
            listed = r.json()["proposals"]
            assert [p["id"] for p in listed] == ["1", "2", "3", "4", "5", "6"]
            assert {len(p["description"]) for p in listed} == {len(DESCRIPTION)}

            big = {"address": A, "signature": "0x" + "11" * 65, "typed_data": {"x": "y" * 300_000}}
            data = json.dumps(big).encode()
            assert len(data) > MAX_BODY_BYTES
            r = await http.post("/api/v1/verify/signature", content=data,
                                headers={"content-type": "application/json"})  # fmt: skip
            assert r.status_code == 413, r.text
            assert r.json()["error"]["code"] == "payload_too_large"
            assert str(MAX_BODY_BYTES) in r.json()["error"]["message"]

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
                for i in range(0, len(data), 16_384):
                    yield data[i : i + 16_384]

            r = await http.post("/api/v1/verify/signature", content=chunks(),
                                headers={"content-type": "application/json"})  # fmt: skip
            assert r.status_code == 413, r.text

            # within the bound but nested 30,000 deep: a bad body, named, not the parser's
            # "There was an error parsing the body" with no field
            # (at Python's default recursion limit, as the services run: a test plugin raises
            # it to 100,000 in this process, and json then parses it)
            deep = '{"a":' * 30_000 + "1" + "}" * 30_000
            limit = sys.getrecursionlimit()
            sys.setrecursionlimit(1000)
            try:
                r = await http.post("/api/v1/verify/signature",
                                    content=f'{{"address": "{A}", "typed_data": {deep}}}',
                                    headers={"content-type": "application/json"})  # fmt: skip
            finally:
                sys.setrecursionlimit(limit)
            assert r.status_code == 400, r.text
            assert r.json()["error"]["field"] == "body" and "Traceback" not in r.text

            # within the bound, in chunks too: read by the gateway's edge, handed on whole,
            # validated by its route and sent on (this server has no VerificationService: 501)
            fits = {
                "address": A,
                "signature": "0x" + "11" * 65,
                "message_hex": "0x" + "ab" * 65_000,
            }
            data = json.dumps(fits).encode()
            assert len(data) < MAX_BODY_BYTES
            r = await http.post("/api/v1/verify/signature", content=chunks(),
                                headers={"content-type": "application/json"})  # fmt: skip
            assert r.status_code == 501, r.text
    finally:
        await gateway.stop()
        await server.stop(None)
