"""Deploy NovaToken, NovaStaking, NovaTimelock and NovaGovernor to a dev chain and write the
manifest the services read (chain id, addresses, deployment blocks, parameters)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from common.jsonrpc import JsonRpcClient
from nova.devnet import artifacts
from nova.devnet.chain import DevChain, Tx

TOKEN = 10**18
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class DeployParams:
    cap: int = 1_000_000_000 * TOKEN
    reward_rate: int = 1  # percent per whole hour, divided by 100 (the seed's rule)
    min_stake: int = 1 * TOKEN
    reward_pool: int = 1_000_000 * TOKEN  # the simulator tops it up when it runs low
    treasury: int = 1_000_000 * TOKEN
    dev_account_grant: int = 10_000 * TOKEN
    voting_delay: int = 1  # blocks
    voting_period: int = 20  # blocks
    proposal_threshold: int = 0
    quorum_percent: int = 4
    timelock_delay: int = 60  # seconds


@dataclass
class Manifest:
    chain_id: int
    rpc_url: str
    deployer: str
    contracts: dict[str, dict[str, Any]]  # name -> {"address", "block", "tx"}
    start_block: int
    params: dict[str, int] = field(default_factory=dict)

    def address(self, name: str) -> str:
        return str(self.contracts[name]["address"])

    def to_json(self) -> str:
        data = asdict(self)
        data["params"] = {k: str(v) for k, v in self.params.items()}  # uint256 as strings
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["params"] = {k: int(v) for k, v in data.get("params", {}).items()}
        return cls(**data)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            return cls.from_json(path.read_text())
        except OSError as exc:
            raise FileNotFoundError(f"no devnet manifest at {path}: run `nova devnet up`") from exc


def role(name: str) -> bytes:
    return keccak(text=name)


async def deploy(rpc: JsonRpcClient, params: DeployParams | None = None) -> Manifest:
    """Deploy the four contracts from the node's first unlocked account (anvil account 0)."""
    params = params or DeployParams()
    chain = DevChain(rpc)
    await chain.set_automine(False)
    deployer = to_checksum_address((await chain.accounts())[0])
    deployed: dict[str, dict[str, Any]] = {}

    async def create(name: str, *args: Any) -> str:
        art = artifacts.load(name)
        data = art.abi.encode_constructor(art.bytecode, *args)
        (rcpt,) = await chain.transact([Tx(deployer, None, data, 12_000_000, f"deploy {name}")])
        address = to_checksum_address(str(rcpt["contractAddress"]))
        deployed[name] = {
            "address": address,
            "block": int(rcpt["blockNumber"], 16),
            "tx": rcpt["transactionHash"],
        }
        return address

    token = await create("NovaToken", deployer, params.cap)
    staking = await create("NovaStaking", token, params.reward_rate, params.min_stake)
    timelock = await create("NovaTimelock", params.timelock_delay, [], [ZERO], deployer)
    governor = await create(
        "NovaGovernor",
        token,
        timelock,
        params.voting_delay,
        params.voting_period,
        params.proposal_threshold,
        params.quorum_percent,
    )

    tok = artifacts.load("NovaToken").abi
    tl = artifacts.load("NovaTimelock").abi
    dev_accounts = (await chain.accounts())[1:]
    setup = [
        Tx(
            deployer,
            timelock,
            tl.encode_call("grantRole", role("PROPOSER_ROLE"), governor),
            200_000,
            "grant proposer",
        ),
        Tx(
            deployer,
            timelock,
            tl.encode_call("grantRole", role("CANCELLER_ROLE"), governor),
            200_000,
            "grant canceller",
        ),
        Tx(
            deployer,
            timelock,
            tl.encode_call("renounceRole", b"\x00" * 32, deployer),
            200_000,
            "renounce admin",
        ),
        Tx(
            deployer,
            token,
            tok.encode_call("mint", staking, params.reward_pool),
            300_000,
            "fund reward pool",
        ),
        Tx(
            deployer,
            token,
            tok.encode_call("mint", timelock, params.treasury),
            300_000,
            "fund treasury",
        ),
    ] + [
        Tx(
            deployer,
            token,
            tok.encode_call("mint", a, params.dev_account_grant),
            300_000,
            f"grant {a}",
        )
        for a in dev_accounts
    ]
    await chain.transact(setup)
    await chain.set_automine(True)
    return Manifest(
        chain_id=await chain.chain_id(),
        rpc_url=rpc.url,
        deployer=deployer,
        contracts=deployed,
        start_block=min(c["block"] for c in deployed.values()),
        params=asdict(params),
    )


async def is_deployed(rpc: JsonRpcClient, manifest: Manifest) -> bool:
    """True when the chain answers with code at every manifest address (same chain id)."""
    try:
        if int(await rpc.call("eth_chainId"), 16) != manifest.chain_id:
            return False
        codes = await rpc.batch(
            [("eth_getCode", [c["address"], "latest"]) for c in manifest.contracts.values()]
        )
    except Exception:  # noqa: BLE001 - an unreachable chain is "not deployed"
        return False
    return all(code not in ("0x", "", None) for code in codes)
