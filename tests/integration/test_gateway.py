"""The REST gateway over the real services (block sync, token, staking) on the real stack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from typing import Any

import grpc
import httpx
import pytest
import schemathesis
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api_gateway.main import create_app
from api_gateway.settings import GatewaySettings
from block_sync_service.bootstrap import bootstrap as sync_bootstrap
from common.db import migrate
from common.metrics import isolated_registry
from governance_service.bootstrap import bootstrap as gov_bootstrap
from governance_service.settings import GovernanceSettings
from nova import stack
from nova.devnet import artifacts
from nova.devnet.chain import Tx
from nova.devnet.reorg import force_reorg
from nova.gateway_server import GatewayServer
from novapb.block_sync.v1 import block_sync_pb2
from novapb.governance.v1 import governance_pb2
from novapb.staking.v1 import staking_pb2
from novapb.token.v1 import token_pb2
from novapb.verification.v1 import verification_pb2
from staking_service.bootstrap import bootstrap as staking_bootstrap
from staking_service.settings import StakingSettings
from tests.chain_helpers import (
    DELEGATION,
    Devnet,
    last_event_block,
    make_devnet,
    running,
    started,
    wait_for,
)
from tests.integration.test_block_sync import settings_for
from tests.names import cache_prefix
from token_service.bootstrap import bootstrap as token_bootstrap
from token_service.infrastructure.verify import verify_token
from token_service.settings import TokenSettings

TOK = artifacts.load("NovaToken").abi
GOV = artifacts.load("NovaGovernor").abi
STK = artifacts.load("NovaStaking").abi
STATES = ["Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"]


def _drop_database(conn: Any, name: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
async def system(anvil_url, tmp_path_factory, endpoints):
    """Every service in this event loop, the gateway on a loopback port; torn down at the end,
    also when setting up fails half-way (a service left running would hold on to the stack)."""
    async with contextlib.AsyncExitStack() as down:
        yield await _start_system(down, anvil_url, tmp_path_factory, endpoints)


async def _start_system(
    down: contextlib.AsyncExitStack, anvil_url, tmp_path_factory, endpoints
) -> dict[str, Any]:
    import pymysql

    net = await make_devnet(
        anvil_url, tmp_path_factory.mktemp("devnet"), seed=71, blocks=60, txs_per_block=10
    )
    down.push_async_callback(net.rpc.close)
    db = f"nova_test_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=stack.Ports().mariadb, user="root")
    down.callback(conn.close)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
    down.callback(_drop_database, conn, db)
    db_url = f"{endpoints.mysql_url}/{db}"
    migrate(db_url)
    # a small scan budget: topic-filtered logs come in several answers, continued by cursor
    sync_settings = settings_for(net, endpoints, db_url, reorg_window=32, logs_scan_budget=300)
    sync = await started(down, sync_bootstrap(sync_settings, registry=isolated_registry()))
    common = dict(
        database_url=db_url,
        kafka_bootstrap_servers=endpoints.kafka_bootstrap,
        kafka_topic_prefix=sync_settings.kafka_topic_prefix,
        manifest=net.manifest_path,
        rpc_urls=net.rpc.url,
        grpc_port=0,
        redis_url=endpoints.redis_url,
        cache_prefix=cache_prefix(),
    )
    token = await started(
        down, token_bootstrap(TokenSettings(**common), registry=isolated_registry())
    )
    staking = await started(
        down, staking_bootstrap(StakingSettings(**common), registry=isolated_registry())
    )
    gov = gov_bootstrap(
        GovernanceSettings(
            **{
                k: v
                for k, v in common.items()
                if k not in ("rpc_urls", "redis_url", "cache_prefix")
            }
        ),
        registry=isolated_registry(),
    )
    await started(down, gov)
    ports = {
        "block_sync": await sync.serve_grpc(0),
        "token": await token.serve_grpc(0),
        "staking": await staking.serve_grpc(0),
        "governance": await gov.serve_grpc(0),
    }
    running(down, sync.run, token.run, staking.run, gov.run)
    gw_settings = GatewaySettings(
        block_sync_addr=f"127.0.0.1:{ports['block_sync']}",
        token_addr=f"127.0.0.1:{ports['token']}",
        staking_addr=f"127.0.0.1:{ports['staking']}",
        governance_addr=f"127.0.0.1:{ports['governance']}",
        grpc_deadline_s=2.0,
        immutable_depth=32,
        # the response cache on the services' Redis, with a TTL far beyond any wait below: a
        # token answer that changes must be retired by the token index's announcement
        redis_url=endpoints.redis_url,
        cache_prefix=common["cache_prefix"],
        response_cache_ttl_s=600,
    )
    gw_port = stack.free_port()
    server = GatewayServer(create_app(gw_settings), "127.0.0.1", gw_port)
    await server.start()
    down.push_async_callback(server.stop)

    async def caught_up() -> bool:
        head = await net.chain.block_number()
        if sync.syncer.status.synced < head or await gov.views.head() < head:
            return False
        # each index up to the chain's last event of its own (its last_block moves with its
        # events only); the token consumer may trail the governance one by many blocks
        last_token = await last_event_block(
            net.rpc, net.manifest.address("NovaToken"), 0, head, skip=DELEGATION
        )
        last_stake = await last_event_block(net.rpc, net.manifest.address("NovaStaking"), 0, head)
        if (await token.views.stats()).last_block < last_token:
            return False
        if (await staking.views.stats()).last_block < last_stake:
            return False
        drift = await verify_token(token.views, net.rpc, net.manifest.address("NovaToken"), TOK)
        return drift.ok

    await wait_for(caught_up, "the services to catch up", 120)
    return {
        "net": net,
        "grpc_ports": ports,
        "base": f"http://127.0.0.1:{gw_port}",
        "sync": sync,
        "token": token,
        "staking": staking,
        "gov": gov,
    }


async def test_routes_answer_what_the_chain_says(system):
    net, base = system["net"], system["base"]
    token = net.manifest.address("NovaToken")
    async with httpx.AsyncClient(base_url=base) as http:
        holder = net.sim.holders[0]
        r = await http.get(f"/api/v1/accounts/{holder}/balance", headers={"X-Request-ID": "abc"})
        assert r.status_code == 200
        assert r.headers["x-request-id"] == "abc"
        chain = TOK.decode_result(
            "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder))
        )
        assert r.json()["balance"] == str(chain)
        supply = (await http.get("/api/v1/token/supply")).json()
        assert supply["total_supply"] == str(
            TOK.decode_result(
                "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"))
            )
        )
        # at a past block: what balanceOf / totalSupply said at that block
        head = r.json()["block_number"]
        for at in sorted({1, head // 3, head // 2, head - 1, head}):
            for who in net.sim.holders[:4]:
                past = await http.get(f"/api/v1/accounts/{who}/balance", params={"at_block": at})
                assert past.status_code == 200, past.text
                then = TOK.decode_result(
                    "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", who), at)
                )
                assert past.json() == {"address": who, "balance": str(then), "block_number": at}
            past = (await http.get("/api/v1/token/supply", params={"at_block": at})).json()
            then = TOK.decode_result(
                "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"), at)
            )
            assert past == {"total_supply": str(then), "block_number": at}
        for path in (f"/api/v1/accounts/{holder}/balance", "/api/v1/token/supply"):
            above = await http.get(path, params={"at_block": head + 1000})
            assert above.status_code == 400 and above.json()["error"]["field"] == "at_block"
            assert "above the indexed head" in above.json()["error"]["message"]
            zero = await http.get(path, params={"at_block": 0})
            assert zero.status_code == 422 and zero.json()["error"]["field"] == "at_block"
        page = (await http.get(f"/api/v1/accounts/{holder}/transfers", params={"limit": 3})).json()
        assert len(page["transfers"]) == 3
        nxt = (
            await http.get(
                f"/api/v1/accounts/{holder}/transfers",
                params={"limit": 3, "cursor": page["next_cursor"]},
            )
        ).json()
        assert nxt["transfers"][0]["block_number"] <= page["transfers"][-1]["block_number"]
        assert page["total"] == nxt["total"] > 3 and not page["total_capped"]
        oldest = (
            await http.get(
                f"/api/v1/accounts/{holder}/transfers",
                params={"limit": 1000, "order": "asc"},
            )
        ).json()
        assert [(t["block_number"], t["log_index"]) for t in oldest["transfers"][::-1][:3]] == [
            (t["block_number"], t["log_index"]) for t in page["transfers"]
        ]
        tx = page["transfers"][0]["tx_hash"]
        t = await http.get(f"/api/v1/transactions/{tx}")
        assert t.status_code == 200
        assert t.json()["status"] == 1
        block = await http.get(f"/api/v1/blocks/{t.json()['block_number']}")
        assert block.json()["hash"] == t.json()["block_hash"]
        logs = (
            await http.get(
                "/api/v1/logs",
                params={"address": token, "from_block": 0, "to_block": "latest", "limit": 5},
            )
        ).json()
        assert logs["count"] == 5
        assert logs["truncated"] and logs["next_cursor"]
        # a holder's transfers out as logs, every page by cursor == the chain's
        transfer = TOK.events["Transfer"].topic0
        padded = "0x" + "00" * 12 + holder[2:].lower()
        listed, params = [], {"address": token, "topic0": transfer, "topic1": padded, "limit": 2}
        for _ in range(1000):
            page = (await http.get("/api/v1/logs", params=params)).json()
            listed += [(x["block_number"], x["log_index"]) for x in page["logs"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        chain_logs = await net.rpc.call(
            "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": [transfer, padded]}
        )
        assert listed == sorted(
            (int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in chain_logs
        )
        status = (await http.get("/api/v1/sync/status")).json()
        assert status["synced_block"] == status["final_block"] == await net.chain.block_number()
        assert set(status["indexes"]) == {"token", "staking", "governance"}
        assert status["followed"] == []  # the governor's timelock is the manifest's, tracked

        async def indexed_through_the_sync() -> bool:
            now = (await http.get("/api/v1/sync/status")).json()
            return all(
                (i["available"], i["running"], i["applied_through"], i["lag"], i["error"])
                == (True, True, now["synced_block"], 0, "")
                for i in now["indexes"].values()
            )

        await wait_for(indexed_through_the_sync, "every index through the synced block", 30)
        old = await http.get(f"/api/v1/blocks/{logs['logs'][0]['block_number']}")
        assert "immutable" in old.headers["cache-control"]  # 32+ blocks below the synced head
        recent = await http.get(f"/api/v1/blocks/{status['synced_block']}")
        assert recent.status_code in (200, 404)
        if recent.status_code == 200:
            assert recent.headers["cache-control"] == "public, max-age=2"
        totals = (await http.get("/api/v1/staking/totals")).json()
        assert int(totals["total_staked"]) > 0
        # at past blocks: what totalStaked() said at that block
        staking = net.manifest.address("NovaStaking")
        users_staked: list[int] = []
        for at in sorted({1, totals["block_number"] // 2, totals["block_number"]}):
            then = (await http.get("/api/v1/staking/totals", params={"at_block": at})).json()
            raw = await net.chain.call(staking, STK.encode_call("totalStaked"), at)
            chain = STK.decode_result("totalStaked", raw) if raw != "0x" else 0  # not deployed
            assert (then["total_staked"], then["block_number"]) == (str(chain), at), at
            for who in net.sim.holders[:3]:  # and each user's stakedOf() then
                mine = await http.get(
                    f"/api/v1/staking/users/{who}/totals", params={"at_block": at}
                )
                raw = await net.chain.call(staking, STK.encode_call("stakedOf", who), at)
                chain = STK.decode_result("stakedOf", raw) if raw != "0x" else 0
                assert mine.json()["total_staked"] == str(chain), (at, who)
                assert mine.json()["block_number"] == at
                users_staked.append(chain)
        assert any(users_staked), "some user had a stake at one of those blocks"
        ahead = await http.get("/api/v1/staking/totals", params={"at_block": 10**12})
        assert ahead.status_code == 400 and ahead.json()["error"]["field"] == "at_block"
        stakes = (await http.get("/api/v1/staking/stakes", params={"limit": 2})).json()
        sid = stakes["stakes"][0]["id"]
        # every active stake by cursor, two a page: the one-page list, in order
        every = (await http.get("/api/v1/staking/stakes", params={"limit": 1000})).json()
        assert every["next_cursor"] is None and every["total"] == len(every["stakes"]) > 2
        paged, params = [], {"limit": 2}
        for _ in range(1000):
            page = (await http.get("/api/v1/staking/stakes", params=params)).json()
            paged += [x["id"] for x in page["stakes"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert paged == [x["id"] for x in every["stakes"]]
        assert (await http.get(f"/api/v1/staking/stakes/{sid}")).json()["id"] == sid
        assert (await http.get(f"/api/v1/staking/stakes/{sid}/rewards")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.json()["services"]["token"]["ok"]
        assert ready.status_code == 200 and ready.json()["services"]["governance"]["ok"]
        metrics = (await http.get("/metrics")).text
        assert 'nova_gateway_http_requests_total{route="/api/v1/accounts/{address}/balance"' in (
            metrics
        )
        for path, status_code, field in [
            ("/api/v1/accounts/0xZZ/balance", 400, "address"),
            (f"/api/v1/accounts/{holder.lower()[:-1]}X/balance", 400, "address"),
            ("/api/v1/transactions/0x12", 400, "tx_hash"),
            ("/api/v1/blocks/999999999", 404, None),
            ("/api/v1/logs?from_block=9&to_block=3", 400, "from_block"),
            ("/api/v1/token/holders?limit=0", 422, "limit"),
            ("/api/v1/token/holders?cursor=x", 400, "cursor"),
            ("/api/v1/transfers?cursor=x", 400, "cursor"),
            ("/api/v1/logs?cursor=x", 400, "cursor"),
            ("/api/v1/staking/stakes?cursor=x", 400, "cursor"),
            (f"/api/v1/staking/claims?user={holder}&cursor=x", 400, "cursor"),
            (f"/api/v1/governance/voters/{holder}/votes?cursor=x", 400, "cursor"),
            ("/api/v1/logs?topic2=0x12", 400, "topic2"),
            ("/api/v1/transfers?offset=10001", 422, "offset"),
            ("/api/v1/token/holders?offset=10001", 422, "offset"),
            ("/api/v1/staking/stakes?offset=10001", 422, "offset"),
            ("/api/v1/governance/proposals?offset=10001", 422, "offset"),
            ("/api/v1/transfers?order=up", 422, "order"),
            ("/api/v1/staking/stakes/424242", 404, None),
            ("/api/v1/governance/proposals/424242", 404, None),
            ("/api/v1/governance/proposals?state=Won", 422, "state"),
            ("/api/v1/governance/delegates/0x12", 400, "address"),
            ("/api/v1/governance/delegates?cursor=MTA6MTA=", 400, "cursor"),
            ("/api/v1/governance/delegates?limit=0", 422, "limit"),
            (f"/api/v1/governance/delegates/{holder}/delegators?cursor=MTA=", 400, "cursor"),
            ("/api/v1/governance/delegates/0x12/delegators", 400, "address"),
            (f"/api/v1/governance/delegates/{holder}?at_block=99999999", 400, "at_block"),
            # a parameter the route does not take is refused, not ignored
            (f"/api/v1/accounts/{holder}/balance?block=3", 400, "block"),
            ("/api/v1/transfers?from_block=1&to_blok=5", 400, "to_blok"),
            ("/api/v1/token?limit=1", 400, "limit"),
        ]:
            r = await http.get(path)
            assert r.status_code == status_code, (path, r.text)
            body = r.json()["error"]
            assert body["field"] == field
            assert "Traceback" not in r.text


def _cache_results(metrics: str) -> dict[str, float]:
    out = {}
    for line in metrics.splitlines():
        if line.startswith("nova_gateway_response_cache_total{"):
            name, value = line.rsplit(" ", 1)
            out[name.split('"')[1]] = float(value)
    return out


async def test_cached_answers_change_with_the_chain(system):
    """Token answers are served from the gateway's response cache, and a transfer (a new
    block) or a reorg retires them at once: the TTL (600 s here) plays no part."""
    net, base = system["net"], system["base"]
    token = net.manifest.address("NovaToken")
    holder, sender = net.sim.holders[0], net.sim.holders[1]
    path = f"/api/v1/accounts/{holder}/balance"

    async def chain_balance() -> int:
        raw = await net.chain.call(token, TOK.encode_call("balanceOf", holder))
        return int(TOK.decode_result("balanceOf", raw))

    async with httpx.AsyncClient(base_url=base) as http:

        async def shows(balance: int) -> bool:
            return (await http.get(path)).json()["balance"] == str(balance)

        async def rest_equals_chain() -> bool:
            return await shows(await chain_balance())

        await wait_for(rest_equals_chain, "REST = chain", 30)
        before = _cache_results((await http.get("/metrics")).text)
        first, second = await http.get(path), await http.get(path)
        assert first.json() == second.json()
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
        assert second.headers["cache-control"] == "public, max-age=2"
        after = _cache_results((await http.get("/metrics")).text)
        assert after.get("hit", 0) >= before.get("hit", 0) + 2
        # a bad request is never cached: still a clear 400 the second time
        for _ in range(2):
            bad = await http.get("/api/v1/accounts/0x12/balance")
            assert bad.status_code == 400

        await net.chain.transact(
            [Tx(sender, token, TOK.encode_call("transfer", holder, 12_345), 300_000, "t")]
        )
        moved = await chain_balance()
        await wait_for(lambda: shows(moved), "the transfer on REST", 30)
        # a reorg orphans the transfer's block (the new block mints to someone instead)
        await force_reorg(net.rpc, net.manifest, 1, seed=4242)
        net.chain.forget_nonces()
        back = await chain_balance()
        assert back != moved
        await wait_for(lambda: shows(back), "the reorg on REST", 60)


async def test_an_allowance_is_the_chains_also_after_transfer_from(system):
    """An Approval is answered from the index; once transferFrom spends from it (no event
    says so) the chain answers, never from the response cache; a new Approval is the
    index's again."""
    net, base = system["net"], system["base"]
    token = net.manifest.address("NovaToken")
    owner = max(net.sim.holders, key=lambda h: net.sim.balances.get(h, 0))
    spender, to = [h for h in net.sim.holders if h != owner][:2]
    path = f"/api/v1/allowances/{owner}/{spender}"

    async def approve(value: int) -> None:
        call = TOK.encode_call("approve", spender, value)
        await net.chain.transact([Tx(owner, token, call, 300_000, "approve")])

    async with httpx.AsyncClient(base_url=base) as http:

        async def answers(value: int, source: str) -> bool:
            got = (await http.get(path)).json()
            return (got["allowance"], got["source"], got["exact"]) == (str(value), source, True)

        await approve(1_000)
        await wait_for(lambda: answers(1_000, "indexed"), "the Approval on REST", 30)
        call = TOK.encode_call("transferFrom", owner, to, 300)
        await net.chain.transact([Tx(spender, token, call, 300_000, "transferFrom")])
        await wait_for(lambda: answers(700, "chain"), "the spent allowance on REST", 30)
        before = _cache_results((await http.get("/metrics")).text)
        first, second = (await http.get(path)).json(), (await http.get(path)).json()
        assert first["source"] == second["source"] == "chain"
        assert first["approved_at_block"] == second["approved_at_block"] > 0
        after = _cache_results((await http.get("/metrics")).text)
        assert after.get("hit", 0) == before.get("hit", 0)  # a chain answer is not kept
        # the owner's list says the same of this spender
        listed: dict[str, Any] = {}
        url: str | None = f"/api/v1/accounts/{owner}/allowances?limit=2"
        while url:
            page = (await http.get(url)).json()
            listed |= {a["spender"]: a for a in page["allowances"]}
            url = page["next_cursor"] and f"{url.split('&')[0]}&cursor={page['next_cursor']}"
        assert page["total"] == len(listed) and page["owner"] == owner
        same = ("allowance", "source", "exact", "approved_at_block")
        assert [listed[spender][k] for k in same] == [first[k] for k in same]
        assert first["allowance"] == "700"
        await approve(50)
        await wait_for(lambda: answers(50, "indexed"), "the new Approval on REST", 30)


async def test_governance_routes(system):
    net, base = system["net"], system["base"]
    governor = net.manifest.address("NovaGovernor")
    token = net.manifest.address("NovaToken")
    async with httpx.AsyncClient(base_url=base) as http:
        page = (await http.get("/api/v1/governance/proposals", params={"limit": 1000})).json()
        assert page["total"] == len(page["proposals"]) > 0
        for p in page["proposals"]:  # the governor's state at the block the answer names
            assert p["state_at_block"] >= p["created_block"] > 0
            state = GOV.decode_result(
                "state",
                await net.chain.call(
                    governor, GOV.encode_call("state", int(p["id"])), p["state_at_block"]
                ),
            )
            assert p["state"] == STATES[state], p
            # queued on the one timelock there is (None until queued)
            timelock = net.manifest.address("NovaTimelock") if p["timelock_id"] else None
            assert p["timelock"] == timelock, p
        # at past blocks: the state and tallies the governor gave then, every block of a
        # proposal's life for a few proposals (pending, active, decided, queued, executed...)
        seen = set()
        for p in page["proposals"][:6]:
            pid = int(p["id"])
            for at in range(p["created_block"], p["state_at_block"] + 1):
                past = await http.get(
                    f"/api/v1/governance/proposals/{p['id']}", params={"at_block": at}
                )
                assert past.status_code == 200, past.text
                then = past.json()
                state = GOV.decode_result(
                    "state", await net.chain.call(governor, GOV.encode_call("state", pid), at)
                )
                against, yes, abstain = GOV.decode_result(
                    "proposalVotes",
                    await net.chain.call(governor, GOV.encode_call("proposalVotes", pid), at),
                )
                assert (then["state"], then["state_at_block"]) == (STATES[state], at), (p, at)
                assert (then["for_votes"], then["against_votes"], then["abstain_votes"]) == (
                    str(yes),
                    str(against),
                    str(abstain),
                ), (p, at)
                seen.add(then["state"])
            early = await http.get(
                f"/api/v1/governance/proposals/{p['id']}",
                params={"at_block": p["created_block"] - 1},
            )
            assert early.status_code == 404, early.text
        assert len(seen) >= 3, seen
        voted = next(p for p in page["proposals"] if int(p["for_votes"]) > 0)
        one = (await http.get(f"/api/v1/governance/proposals/{voted['id']}")).json()
        assert one == voted
        votes = (await http.get(f"/api/v1/governance/proposals/{voted['id']}/votes")).json()
        assert sum(int(v["weight"]) for v in votes["votes"] if v["support"] == "for") == int(
            voted["for_votes"]
        )
        voter = votes["votes"][0]["voter"]
        mine = (await http.get(f"/api/v1/governance/voters/{voter}/votes")).json()
        assert any(v["proposal_id"] == voted["id"] for v in mine["votes"])
        delegate = (await http.get(f"/api/v1/governance/delegates/{voter}")).json()
        assert int(delegate["votes"]) == TOK.decode_result(
            "getVotes", await net.chain.call(token, TOK.encode_call("getVotes", voter))
        )
        # delegates by voting power, each as getVotes says (at the head the list names)
        ranked = (await http.get("/api/v1/governance/delegates", params={"limit": 3})).json()
        assert len(ranked["delegates"]) == 3 and ranked["next_cursor"], ranked
        votes = [int(d["votes"]) for d in ranked["delegates"]]
        assert votes == sorted(votes, reverse=True) and votes[-1] > 0
        for d in ranked["delegates"]:
            assert int(d["votes"]) == TOK.decode_result(
                "getVotes",
                await net.chain.call(
                    token, TOK.encode_call("getVotes", d["address"]), ranked["block_number"]
                ),
            ), d
        top = ranked["delegates"][0]["address"]
        fans = (await http.get(f"/api/v1/governance/delegates/{top}/delegators")).json()
        listed = (await http.get(f"/api/v1/governance/delegates/{top}")).json()["delegators"]
        assert [d["address"] for d in fans["delegators"]] == listed and fans["total"] == len(listed)
        assert all(d["since_block"] <= fans["block_number"] for d in fans["delegators"])
        after = await http.get(
            "/api/v1/governance/delegates", params={"cursor": ranked["next_cursor"]}
        )
        assert after.status_code == 200 and after.json()["total"] == ranked["total"]
        assert int(after.json()["delegates"][0]["votes"]) <= votes[-1]


async def test_verify_routes(system):
    net, base = system["net"], system["base"]
    holder = net.sim.holders[0]
    async with httpx.AsyncClient(base_url=base) as http:
        page = (await http.get(f"/api/v1/accounts/{holder}/transfers", params={"limit": 1})).json()
        t = page["transfers"][0]
        r = await http.post(
            "/api/v1/verify/transfer",
            json={
                "tx_hash": t["tx_hash"],
                "from": t["from_address"],
                "to": t["to_address"],
                "value": t["value"],
                "min_confirmations": 1,
            },
        )
        assert r.status_code == 200, r.text
        assert r.json()["verdict"] == "verified"
        assert r.json()["log_index"] == t["log_index"]
        wrong = (
            await http.post("/api/v1/verify/transfer", json={"tx_hash": t["tx_hash"], "value": "1"})
        ).json()
        assert wrong["verdict"] == "mismatch" and wrong["mismatches"][0]["field"] == "value"
        who = await http.post(
            "/api/v1/verify/sender",
            json={"tx_hash": t["tx_hash"], "expected_address": t["from_address"]},
        )
        assert who.status_code == 200
        for path, body, status_code, field in [
            ("/api/v1/verify/transfer", {"tx_hash": "0x12"}, 422, "tx_hash"),
            (
                "/api/v1/verify/transfer",
                {"tx_hash": t["tx_hash"], "to": holder.lower()[:-1] + "X"},
                422,
                "to",
            ),
            (
                "/api/v1/verify/contract-call",
                {"tx_hash": t["tx_hash"], "contract": holder, "method": "nope"},
                400,
                "method",
            ),
            (
                "/api/v1/verify/signature",
                {"address": holder, "signature": "0x00", "message": "a", "message_hex": "0x00"},
                400,
                "message",
            ),
            # a key the body does not take is refused: `amount` is not `value`, and ignoring
            # it would report the transfer verified without checking an amount
            ("/api/v1/verify/transfer", {"tx_hash": t["tx_hash"], "amount": "1"}, 422, "amount"),
            (
                "/api/v1/verify/transfer",
                {"tx_hash": t["tx_hash"], "from_address": holder},
                422,
                "from_address",
            ),
        ]:
            r = await http.post(path, json=body)
            assert r.status_code == status_code, (path, r.text)
            assert r.json()["error"]["field"] == field, r.text
        for content, words in [
            (b"", "a JSON object is required"),
            (b'{"tx_hash": ', "not valid JSON at character 12"),
            (b"[]", "a JSON object is required"),
        ]:
            r = await http.post(
                "/api/v1/verify/sender",
                content=content,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert error["field"] == "body" and words in error["message"], r.text


async def test_etherscan_subset(system):

    net, base = system["net"], system["base"]
    token = net.manifest.address("NovaToken")
    holder = net.sim.holders[1]
    async with httpx.AsyncClient(base_url=base) as http:

        async def api(**params: str) -> dict[str, Any]:
            r = await http.get("/api", params=params)
            assert r.status_code == 200
            return r.json()

        bal = await api(
            module="account",
            action="tokenbalance",
            contractaddress=token,
            address=holder,
            tag="latest",
        )
        chain = TOK.decode_result(
            "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder))
        )
        assert bal == {"status": "1", "message": "OK", "result": str(chain)}
        supply = await api(module="stats", action="tokensupply", contractaddress=token)
        assert int(supply["result"]) > 0
        # the PRO actions at a block: what the chain said then
        at = (await http.get("/api/v1/token/supply")).json()["block_number"] // 2
        then = await api(
            module="account",
            action="tokenbalancehistory",
            contractaddress=token,
            address=holder,
            blockno=str(at),
        )
        chain = TOK.decode_result(
            "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder), at)
        )
        assert then == {"status": "1", "message": "OK", "result": str(chain)}
        then = await api(module="stats", action="tokensupplyhistory", blockno=str(at))
        chain = TOK.decode_result(
            "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"), at)
        )
        assert then["result"] == str(chain)
        for blockno, words in (("", "Missing blockno"), ("x", "Invalid blockno"),
                               ("99999999999", "above the indexed head")):  # fmt: skip
            refused = await api(module="stats", action="tokensupplyhistory", blockno=blockno)
            assert refused["status"] == "0" and words in refused["result"], refused
        asc = await api(
            module="account",
            action="tokentx",
            contractaddress=token,
            address=holder,
            page="1",
            offset="5",
            sort="asc",
        )
        desc = await api(
            module="account",
            action="tokentx",
            contractaddress=token,
            address=holder,
            page="1",
            offset="5",
            sort="desc",
        )
        transfer = TOK.events["Transfer"].topic0
        padded = "0x" + "00" * 12 + holder[2:].lower()

        def positions(result: list[dict[str, str]]) -> list[tuple[int, int]]:
            return [(int(x["blockNumber"]), int(x["logIndex"])) for x in result]

        sent, got = [
            await net.rpc.call(
                "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": topics}
            )
            for topics in ([transfer, padded], [transfer, None, padded])
        ]
        mine = sorted({(int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in sent + got})
        assert positions(asc["result"]) == mine[:5]
        assert positions(desc["result"]) == mine[::-1][:5]
        assert asc["result"][0]["tokenSymbol"] == "NOVA"
        for sort, want in (("asc", mine), ("desc", mine[::-1])):
            second = await api(
                module="account", action="tokentx", address=holder, page="2", offset="5", sort=sort
            )
            assert positions(second["result"]) == want[5:10]
        # without paging: up to 10,000 transfers, oldest first (the gateway reads them from
        # the service 1,000 at a time)
        every = await net.rpc.call(
            "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": [transfer]}
        )
        assert len(every) > 1000
        listed = await api(module="account", action="tokentx", contractaddress=token)
        chain_order = sorted((int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in every)
        assert positions(listed["result"]) == chain_order[:10_000]
        both = await api(
            module="logs",
            action="getLogs",
            address=token,
            fromBlock="0",
            toBlock="latest",
            topic0=transfer,
            topic1=padded,
            topic0_1_opr="and",
        )
        chain_logs = await net.rpc.call(
            "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": [transfer, padded]}
        )
        assert len(both["result"]) == len(chain_logs)
        either = await api(
            module="logs",
            action="getLogs",
            address=token,
            fromBlock="0",
            toBlock="latest",
            topic1=padded,
            topic2=padded,
            topic1_2_opr="or",
        )
        sides = [
            await net.rpc.call(
                "eth_getLogs", {"address": token, "fromBlock": "0x0", "topics": topics}
            )
            for topics in ([None, padded], [None, None, padded])
        ]

        def at(logs: list[dict[str, str]]) -> list[tuple[int, int]]:
            return sorted({(int(x["blockNumber"], 16), int(x["logIndex"], 16)) for x in logs})

        assert at(either["result"]) == at(sides[0] + sides[1])[:1000]
        assert at(both["result"]) == at(chain_logs) and chain_logs
        # every Transfer: the first 1,000, gathered over several scan-budgeted calls
        transfers = await api(module="logs", action="getLogs", address=token, topic0=transfer)
        assert at(transfers["result"]) == chain_order[:1000]
        bad = await api(module="account", action="tokenbalance", address="0x1")
        assert bad["status"] == "0"
        assert bad["message"] == "NOTOK"


def _etherscan_python(base: str, token: str, holder: str) -> tuple[str, str, list[dict[str, Any]]]:
    """PyPI etherscan-python, unchanged but for its base URL (a class attribute)."""
    from etherscan import Etherscan
    from etherscan.enums.fields_enum import FieldsEnum

    original = FieldsEnum.PREFIX
    FieldsEnum.PREFIX = f"{base}/api?"  # what a user changes to point it at this gateway
    try:
        eth = Etherscan("any-key")
        balance = eth.get_acc_balance_by_token_and_contract_address(
            contract_address=token, address=holder
        )
        supply = eth.get_total_supply_by_contract_address(contract_address=token)
        transfers = eth.get_erc20_token_transfer_events_by_address(
            address=holder, startblock=0, endblock=99_999_999, sort="asc"
        )
    finally:
        FieldsEnum.PREFIX = original
    return balance, supply, transfers


async def test_an_etherscan_client_library_works_against_the_gateway(system):
    net, base = system["net"], system["base"]
    token = net.manifest.address("NovaToken")
    holder = net.sim.holders[2]
    balance, supply, transfers = await asyncio.to_thread(_etherscan_python, base, token, holder)
    assert balance == str(
        TOK.decode_result(
            "balanceOf", await net.chain.call(token, TOK.encode_call("balanceOf", holder))
        )
    )
    assert supply == str(
        TOK.decode_result(
            "totalSupply", await net.chain.call(token, TOK.encode_call("totalSupply"))
        )
    )
    chain_logs = await net.rpc.call(
        "eth_getLogs",
        {"address": token, "fromBlock": "0x0", "topics": [TOK.events["Transfer"].topic0]},
    )
    padded = "0x" + "00" * 12 + holder[2:].lower()
    mine = [lg for lg in chain_logs if padded in (lg["topics"][1], lg["topics"][2])]
    assert len(transfers) == len(mine) > 0
    assert [t["hash"] for t in transfers] == [lg["transactionHash"] for lg in mine]
    assert all(t["contractAddress"].lower() == token.lower() for t in transfers)
    me = holder.lower()
    assert sum(
        int(t["value"]) * ((t["to"].lower() == me) - (t["from"].lower() == me)) for t in transfers
    ) == int(balance)


async def test_generated_requests_never_get_a_5xx_or_break_the_schema(system):

    base = system["base"]
    async with httpx.AsyncClient(base_url=base) as http:
        spec = (await http.get("/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(spec)

    counted = {"requests": 0}
    # /readyz and /metrics take no input and are asserted explicitly in the other tests.
    operations = [
        op.ok() for op in schema.get_all_operations() if op.ok().path not in ("/readyz", "/metrics")
    ]

    per_operation = max(1, 2500 // len(operations))  # small input spaces end early

    def run_operation(operation) -> None:
        @settings(
            max_examples=per_operation,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case) -> None:
            counted["requests"] += 1
            response = case.call(base_url=base, timeout=10)
            assert response.status_code < 500 or response.status_code == 503, (
                case.method,
                case.formatted_path,
                case.query,
                response.text,
            )
            # The schema cannot say "EIP-55 checksum when mixed case" or "32-byte hash" for every
            # field, so schema-valid data may be rightly refused with 400: that check is off.
            # Everything else (response schema, status codes, content types) stays on.
            case.validate_response(response, excluded_checks=[positive_data_acceptance])

        check()

    for operation in operations:
        await asyncio.to_thread(run_operation, operation)
    assert counted["requests"] >= 1000


# what a well-formed or malformed call may answer; UNKNOWN, INTERNAL, UNAVAILABLE (every
# dependency is up) or a deadline are failures
CLIENT_ERRORS = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.FAILED_PRECONDITION,
}
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def _message_strategy(descriptor: Any, texts: Any, depth: int = 0) -> Any:
    """Messages of ``descriptor`` with any subset of fields set to values of their type:
    strings from ``texts`` (random text and plausible values), integers over their whole range
    (edges included), unknown enum numbers, nested messages two levels deep."""
    cls = message_factory.GetMessageClass(descriptor)
    fields = {}
    for f in descriptor.fields:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            if depth >= 2:
                continue
            value = _message_strategy(f.message_type, texts, depth + 1)
        elif f.type == FieldDescriptor.TYPE_STRING:
            value = texts
        elif f.type == FieldDescriptor.TYPE_BYTES:
            value = st.binary(max_size=80)
        elif f.type == FieldDescriptor.TYPE_BOOL:
            value = st.booleans()
        elif f.type == FieldDescriptor.TYPE_ENUM:
            value = st.sampled_from([v.number for v in f.enum_type.values] + [99])
        elif f.type in _INT_RANGES:
            lo, hi = _INT_RANGES[f.type]
            value = st.one_of(st.sampled_from([lo, hi, 0, 1]), st.integers(lo, hi))
        else:
            value = st.floats(allow_nan=True)
        if f.is_repeated:
            value = st.lists(value, max_size=3)
        fields[f.name] = st.one_of(st.none(), value)

    def build(values: dict[str, Any]) -> Any:
        msg = cls()
        for name, v in values.items():
            if v is None:
                continue
            if isinstance(v, list):
                getattr(msg, name).extend(v)
            elif hasattr(v, "DESCRIPTOR"):
                getattr(msg, name).CopyFrom(v)
            else:
                setattr(msg, name, v)
        return msg

    return st.fixed_dictionaries(fields).map(build)


def _status(call: Any, request: Any) -> tuple[grpc.StatusCode, str]:
    try:
        call(request, timeout=20)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, "answered"


async def _texts(net: Devnet) -> Any:
    """Strings for generated input: random text, and values that pass the first checks
    (a holder's address in both cases, a tracked log's hashes, block numbers, JSON)."""
    holder = net.sim.holders[0]
    logs = await net.rpc.call("eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
    known = [
        holder,
        holder.lower(),
        net.manifest.address("NovaToken"),
        logs[0]["transactionHash"],
        logs[0]["blockHash"],
        logs[0]["topics"][0],
        "latest",
        "0",
        "1",
        str(2**256),
        "0x",
        '{"types": {}, "primaryType": "Mail", "domain": {}, "message": {}}',
    ]
    return st.one_of(
        st.text(max_size=80),
        st.sampled_from(known),
        st.from_regex(r"\A0x[0-9a-fA-F]{40}\Z"),
        st.integers(0, 2**260).map(str),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=10), inner, max_size=3)
            ),
            max_leaves=8,
        ).map(json.dumps),
    )


async def test_generated_grpc_calls_get_client_errors_only(system):
    """Every unary method of every service, called directly (not through the gateway, which
    validates first) with generated messages: an answer or a client error, never an internal
    one."""
    texts = await _texts(system["net"])
    ports = system["grpc_ports"]
    targets = [
        (ports["block_sync"], block_sync_pb2, "BlockSyncService"),
        (ports["block_sync"], verification_pb2, "VerificationService"),
        (ports["token"], token_pb2, "TokenService"),
        (ports["staking"], staking_pb2, "StakingService"),
        (ports["governance"], governance_pb2, "GovernanceService"),
    ]
    counted = {"calls": 0}
    failures: list[str] = []

    def fuzz_method(call: Any, name: str, requests: Any) -> None:
        @settings(
            max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(request=requests)
        def check(request: Any) -> None:
            counted["calls"] += 1
            code, details = _status(call, request)
            assert code in CLIENT_ERRORS, (name, request, code, details)
            assert details, (name, request, code, "no message")

        try:
            check()
        except AssertionError as exc:
            failures.append(str(exc)[:600])

    def fuzz(port: int, module: Any, service: str) -> None:
        descriptor = module.DESCRIPTOR.services_by_name[service]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            for method in descriptor.methods:
                call = channel.unary_unary(
                    f"/{descriptor.full_name}/{method.name}",
                    request_serializer=lambda m: m.SerializeToString(),
                    response_deserializer=lambda b: b,
                )
                fuzz_method(call, method.full_name, _message_strategy(method.input_type, texts))

    for target in targets:
        await asyncio.to_thread(fuzz, *target)
    assert failures == [], "\n".join(failures)
    assert counted["calls"] >= 1000


ETHERSCAN_PARAMS = (
    "address", "contractaddress", "startblock", "endblock", "page", "offset", "sort",
    "fromBlock", "toBlock", "topic0", "topic1", "topic2", "topic3", "topic0_1_opr",
    "topic0_2_opr", "topic1_2_opr", "topic2_3_opr", "apikey", "tag",
)  # fmt: skip
ETHERSCAN_ACTIONS = (
    ("account", "tokenbalance"), ("stats", "tokensupply"), ("account", "tokentx"),
    ("logs", "getLogs"), ("account", "balance"), ("", ""),
)  # fmt: skip


async def test_generated_etherscan_queries_get_etherscan_answers(system):
    """The Etherscan route reads its query itself (the OpenAPI schema cannot describe it, so
    schemathesis sends it nothing): generated module/action pairs and parameters must get an
    Etherscan answer ({status "1"|"0", message, result}), never a 5xx."""
    texts = await _texts(system["net"])
    values = st.one_of(texts, st.sampled_from(["and", "or", "asc", "desc", "latest", "10000"]))
    queries = st.tuples(
        st.one_of(st.sampled_from(ETHERSCAN_ACTIONS), st.tuples(texts, texts)),
        st.dictionaries(st.one_of(st.sampled_from(ETHERSCAN_PARAMS), texts), values, max_size=6),
    )
    answers: Counter[str] = Counter()

    def run() -> None:
        with httpx.Client(base_url=system["base"], timeout=20) as http:

            @settings(
                max_examples=400,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(query=queries)
            def check(query: tuple[tuple[str, str], dict[str, str]]) -> None:
                (module, action), params = query
                r = http.get("/api", params={**params, "module": module, "action": action})
                assert r.status_code == 200, (query, r.status_code, r.text[:300])
                body = r.json()
                assert body["status"] in ("0", "1") and body["message"] in ("OK", "NOTOK"), body
                assert "result" in body, body
                answers[body["status"]] += 1

            check()

    await asyncio.to_thread(run)
    assert answers["0"] > 0 and answers["1"] > 0, answers  # both kinds were reached


async def test_a_stopped_service_answers_503_fast_and_others_keep_working(system):
    base, staking = system["base"], system["staking"]
    await staking.grpc.stop(0)
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            started = time.monotonic()
            r = await http.get("/api/v1/staking/totals")
            assert r.status_code == 503
            assert r.json()["error"]["code"] == "unavailable"
            assert time.monotonic() - started < 3
            ok = await http.get("/api/v1/token/supply")
            assert ok.status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert not ready.json()["services"]["staking"]["ok"]
            assert ready.json()["services"]["token"]["ok"]
            # the status page still answers, naming the index it cannot reach
            status = await http.get("/api/v1/sync/status")
            assert status.status_code == 200
            indexes = status.json()["indexes"]
            assert indexes["staking"] == {
                "available": False,
                "applied_through": None,
                "lag": None,
                "running": None,
                "error": "UNAVAILABLE",
            }
            assert indexes["token"]["available"] and indexes["governance"]["available"]
    finally:
        staking.grpc = None  # stopped for good in this module (last test)
