"""Contracts, devnet deployment, the traffic simulator and forced reorgs, on a private anvil."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from eth_utils.crypto import keccak
from typer.testing import CliRunner

from common.abi import ContractABI
from common.jsonrpc import JsonRpcClient
from nova.cli import app
from nova.devnet import artifacts
from nova.devnet.chain import DevChain
from nova.devnet.deploy import Manifest, deploy, is_deployed
from nova.devnet.reorg import ReorgError, force_reorg
from nova.devnet.simulate import Simulator

# Written out by hand, independent of the code under test.
EXPECTED_SIGNATURES = {
    "NovaToken": [
        "Transfer(address,address,uint256)",
        "Approval(address,address,uint256)",
        "Mint(address,uint256)",
        "Burn(address,uint256)",
        "DelegateChanged(address,address,address)",
        "DelegateVotesChanged(address,uint256,uint256)",
    ],
    "NovaStaking": [
        "Staked(address,uint256,uint256)",
        "Unstaked(address,uint256,uint256)",
        "RewardsClaimed(address,uint256)",
    ],
    "NovaGovernor": [
        "ProposalCreated(uint256,address,address[],uint256[],string[],bytes[],uint256,uint256,string)",
        "VoteCast(address,uint256,uint8,uint256,string)",
        "VoteCastWithParams(address,uint256,uint8,uint256,string,bytes)",
        "ProposalQueued(uint256,uint256)",
        "ProposalExecuted(uint256)",
        "ProposalCanceled(uint256)",
    ],
}
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def test_committed_artifacts_are_built_from_the_committed_sources(tmp_path: Path) -> None:
    artifacts.compile_contracts(tmp_path)
    for name in artifacts.NAMES:
        fresh = json.loads((tmp_path / f"{name}.json").read_text())
        committed = json.loads((artifacts.ARTIFACTS_DIR / f"{name}.json").read_text())
        assert fresh == committed, f"{name}: artifacts are stale, run `nova devnet compile`"


def test_event_topics_are_keccak_of_the_signatures() -> None:
    for contract, sigs in EXPECTED_SIGNATURES.items():
        abi = artifacts.load(contract).abi
        for sig in sigs:
            name = sig.split("(")[0]
            assert abi.events[name].signature == sig
            assert abi.events[name].topic0 == "0x" + keccak(text=sig).hex()
    assert artifacts.load("NovaToken").abi.events["Transfer"].topic0 == TRANSFER_TOPIC


@pytest.fixture(scope="module")
async def devnet(anvil_url: str):
    rpc = JsonRpcClient(anvil_url)
    manifest = await deploy(rpc)
    chain = DevChain(rpc)
    await chain.set_automine(False)
    sim = Simulator(chain, manifest, seed=11, holders=30)
    await sim.setup()
    await sim.run(events=20_000)  # long enough to execute two proposals
    yield rpc, manifest, sim
    await rpc.close()


async def test_manifest_points_at_the_contracts(devnet, tmp_path: Path) -> None:
    rpc, manifest, _ = devnet
    assert manifest.chain_id == 31337
    assert set(manifest.contracts) == {"NovaToken", "NovaStaking", "NovaTimelock", "NovaGovernor"}
    assert await is_deployed(rpc, manifest)
    path = tmp_path / "m.json"
    manifest.save(path)
    assert Manifest.load(path) == manifest
    tok = artifacts.load("NovaToken").abi
    symbol = await DevChain(rpc).call(manifest.address("NovaToken"), tok.encode_call("symbol"))
    assert tok.decode_result("symbol", symbol) == "NOVA"


async def test_traffic_emits_every_event_kind_decodable_by_the_abi(devnet) -> None:
    rpc, manifest, sim = devnet
    head = await sim.chain.block_number()
    seen: Counter[str] = Counter()
    per_tx: Counter[str] = Counter()
    per_block: Counter[int] = Counter()
    for contract, sigs in EXPECTED_SIGNATURES.items():
        abi: ContractABI = artifacts.load(contract).abi
        logs = await rpc.call(
            "eth_getLogs",
            {
                "address": manifest.address(contract),
                "fromBlock": hex(manifest.start_block),
                "toBlock": hex(head),
            },
        )
        for log in logs:
            spec = abi.events_by_topic[log["topics"][0]]  # every log is one of the ABI's events
            args = spec.decode(log["topics"], log["data"])
            assert len(args) == len(spec.indexed) + len(spec.data)
            seen[spec.signature] += 1
            if spec.name == "Transfer":
                per_tx[log["transactionHash"]] += 1
                per_block[int(log["blockNumber"], 16)] += 1
        for sig in sigs:
            assert seen[sig] > 0, f"no {sig} event in the simulated history"
    # proposals executed through the governor and on the timelock directly (no governor event)
    executed = await _executions(rpc, manifest, head)
    assert {"through the governor", "on the timelock"} <= set(executed.values()), executed
    assert max(per_tx.values()) >= 10, "no transaction with many transfers"
    assert max(per_block.values()) >= 50, "no block with many transfers"


async def test_simulator_counts_the_token_events_it_mines(devnet) -> None:
    """The benchmarks size histories by NovaToken events: the count must be the chain's."""
    rpc, manifest, sim = devnet
    first = await sim.chain.block_number() + 1
    before = (sim.stats.events, sim.stats.token_events)
    stats = await sim.run(token_events=500)
    head = await sim.chain.block_number()
    logs = await rpc.call(
        "eth_getLogs",
        {
            "fromBlock": hex(first),
            "toBlock": hex(head),
            "address": [manifest.address(c) for c in manifest.contracts],
        },
    )
    token = [x for x in logs if x["address"].lower() == manifest.address("NovaToken").lower()]
    assert stats.token_events - before[1] == len(token) >= 500
    assert stats.events - before[0] == len(logs) > len(token)


async def test_simulator_model_equals_the_chain(devnet) -> None:
    _, manifest, sim = devnet
    expected = sim.expected_balances()
    actual = await sim.chain_balances(list(expected))
    assert {a: b for a, b in expected.items() if b != actual[a]} == {}
    tok = artifacts.load("NovaToken").abi
    supply = await sim.chain.call(manifest.address("NovaToken"), tok.encode_call("totalSupply"))
    assert tok.decode_result("totalSupply", supply) == sim.supply
    max_uint = 2**256 - 1
    assert max_uint in sim.allowances.values(), "no infinite approval in the traffic"


async def test_forced_reorg_replaces_blocks_and_traffic_goes_on(devnet) -> None:
    rpc, manifest, sim = devnet
    for depth in (1, 3):
        head = await sim.chain.block_number()
        old_logs = await rpc.call(
            "eth_getLogs",
            {
                "fromBlock": hex(head - depth + 1),
                "toBlock": hex(head),
                "address": manifest.address("NovaToken"),
            },
        )
        result = await force_reorg(rpc, manifest, depth, seed=depth)
        assert result.first_orphaned == head - depth + 1
        assert len(result.new_hashes) == depth
        assert all(a != b for a, b in zip(result.orphaned_hashes, result.new_hashes, strict=True))
        new_logs = await rpc.call(
            "eth_getLogs",
            {
                "fromBlock": hex(head - depth + 1),
                "toBlock": hex(head),
                "address": manifest.address("NovaToken"),
            },
        )
        assert {x["transactionHash"] for x in new_logs}.isdisjoint(
            {x["transactionHash"] for x in old_logs}
        )
        await sim.resync()
        await sim.run(blocks=3)
        expected = sim.expected_balances()
        actual = await sim.chain_balances(list(expected))
        assert {a for a in expected if expected[a] != actual[a]} == set()


async def test_reorg_deeper_than_the_contracts_is_refused(devnet) -> None:
    rpc, manifest, _ = devnet
    head = int(await rpc.call("eth_blockNumber"), 16)
    with pytest.raises(ReorgError, match="orphan the deployment"):
        await force_reorg(rpc, manifest, head)
    with pytest.raises(ReorgError, match="depth must be"):
        await force_reorg(rpc, manifest, 0)


def test_cli_errors_are_clear(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "none.json"
    result = runner.invoke(app, ["devnet", "simulate", "--manifest", str(missing)])
    assert result.exit_code == 1
    assert "no devnet manifest" in result.output
    result = runner.invoke(app, ["devnet", "simulate", "--events", "0"])
    assert result.exit_code == 2  # a bad option value: a usage error
    assert "--events must be >= 1" in result.output


async def _executions(rpc: JsonRpcClient, manifest: Manifest, head: int) -> dict[str, str]:
    """Each transaction that executed a timelock operation, and whether the governor did it."""
    found: dict[str, str] = {}
    for contract, event in (("NovaTimelock", "CallExecuted"), ("NovaGovernor", "ProposalExecuted")):
        abi = artifacts.load(contract).abi
        topic = next(t for t, spec in abi.events_by_topic.items() if spec.name == event)
        logs = await rpc.call(
            "eth_getLogs",
            {
                "address": manifest.address(contract),
                "topics": [topic],
                "fromBlock": hex(manifest.start_block),
                "toBlock": hex(head),
            },
        )
        for log in logs:
            if event == "CallExecuted":
                found.setdefault(log["transactionHash"], "on the timelock")
            else:
                found[log["transactionHash"]] = "through the governor"
    return found
