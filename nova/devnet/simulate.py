"""Deterministic traffic for the NovaToken contracts.

From a seed, the simulator builds blocks of transactions (automine off, explicit nonces and gas,
timestamps it sets itself) that exercise every event kind: transfers among many holders (also
many in one transaction through ``multicall`` and many in one block), approvals (including
max uint256) and transferFrom, mints, burns, delegation, stakes, unstakes, reward claims (time
travels forward so rewards accrue), proposals, votes for/against/abstain (also with params),
queue, execute and cancel.

It keeps an exact model of what every transaction does (balances, supply, allowances, stakes),
so ``expected_balances()`` can be checked against ``balanceOf``. Every transaction must
succeed: a revert means the model is wrong, and stops the run with the transaction named.
After a reorg (which drops the orphaned transactions) call :meth:`Simulator.resync`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from nova.devnet import artifacts
from nova.devnet.chain import DevChain, Tx
from nova.devnet.deploy import TOKEN, Manifest

MAX_UINT256 = 2**256 - 1
HOUR = 3600

# gas limits per action (upper bounds; the block gas limit bounds a block's sum)
GAS_TRANSFER = 200_000
GAS_PER_MULTI_TRANSFER = 100_000
GAS_SIMPLE = 150_000
GAS_STAKE = 600_000
GAS_GOV = 800_000


@dataclass
class StakeModel:
    user: str
    amount: int
    last_claim: int
    active: bool = True


@dataclass
class ProposalModel:
    pid: int
    proposer: str
    recipient: str
    amount: int
    description: str
    created_block: int
    vote_start: int
    vote_end: int
    voters: set[str] = field(default_factory=set)
    phase: str = "pending"  # pending -> voting -> ended -> queued -> done
    eta: int = 0
    cancel: bool = False
    quiet: bool = False  # one small For vote: below quorum, so Defeated by the quorum rule


@dataclass
class SimStats:
    blocks: int = 0
    txs: int = 0
    events: int = 0
    token_events: int = 0  # of them NovaToken's
    by_event: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.events / self.seconds if self.seconds else 0.0  # busy time, not pauses
        return (
            f"blocks={self.blocks} txs={self.txs} events={self.events} "
            f"events/s={rate:.0f} kinds={len(self.by_event)}"
        )


def holder_addresses(seed: int, n: int) -> list[str]:
    return [to_checksum_address(keccak(f"nova-holder:{seed}:{i}".encode())[12:]) for i in range(n)]


class Simulator:
    def __init__(
        self,
        chain: DevChain,
        manifest: Manifest,
        *,
        seed: int = 1,
        holders: int = 40,
        txs_per_block: int = 40,
        block_time: int = 12,
        multi_transfer_size: int = 25,
        block_gas_limit: int = 30_000_000,
    ) -> None:
        self.chain = chain
        self.m = manifest
        self.rng = random.Random(seed)
        self.seed = seed
        self.holders = holder_addresses(seed, holders)
        self.txs_per_block = txs_per_block
        self.block_time = block_time
        self.multi = multi_transfer_size
        self.gas_budget = int(block_gas_limit * 0.9)
        self.token = manifest.address("NovaToken")
        self._token_lower = self.token.lower()
        self.staking = manifest.address("NovaStaking")
        self.governor = manifest.address("NovaGovernor")
        self.timelock = manifest.address("NovaTimelock")
        self.deployer = to_checksum_address(manifest.deployer)
        self.tok = artifacts.load("NovaToken").abi
        self.stk = artifacts.load("NovaStaking").abi
        self.gov = artifacts.load("NovaGovernor").abi
        self.tl = artifacts.load("NovaTimelock").abi
        self.params = manifest.params
        # the model
        self.balances: dict[str, int] = {}
        self.supply = 0
        self.allowances: dict[tuple[str, str], int] = {}
        self.delegates: dict[str, str] = {}
        self.stakes: dict[int, StakeModel] = {}
        self.next_stake_id = 1
        self.proposals: list[ProposalModel] = []
        self.proposal_seq = 0
        self.executions = 0  # proposals executed: every second one on the timelock directly
        self.now = 0
        self.head = 0
        self.stats = SimStats()

    # ------------------------------------------------------------------ setup / resync

    async def setup(self) -> None:
        """Fund the holders (gas and NOVA), let everyone delegate, and read the model."""
        await self.chain.impersonate_all()
        await self.chain.set_balances([*self.holders, self.deployer], 10**24)
        await self.resync()
        txs = []
        grants = [self.rng.randint(1_000, 50_000) * TOKEN for _ in self.holders]
        for holder, amount in zip(self.holders, grants, strict=True):
            txs.append(self._mint(holder, amount))
        for holder in self.holders:  # most holders delegate (to themselves or a friend)
            if self.rng.random() < 0.85:
                txs.append(self._delegate(holder, self._pick_delegatee(holder)))
        await self._commit(txs)

    async def resync(self) -> None:
        """Reload the model from the chain (after a reorg, or on start)."""
        self.chain.forget_nonces()
        block = await self.chain.block()
        self.head = int(block["number"], 16)
        self.now = int(block["timestamp"], 16)
        addrs = self._known_addresses()
        calls: list[tuple[str, list[Any]]] = [
            (
                "eth_call",
                [{"to": self.token, "data": self.tok.encode_call("balanceOf", a)}, "latest"],
            )
            for a in addrs
        ]
        calls.append(
            (
                "eth_call",
                [{"to": self.token, "data": self.tok.encode_call("totalSupply")}, "latest"],
            )
        )
        calls.append(
            (
                "eth_call",
                [{"to": self.staking, "data": self.stk.encode_call("nextStakeId")}, "latest"],
            )
        )
        out = await self.chain.rpc.batch(calls)
        self.balances = {
            a: self.tok.decode_result("balanceOf", r) for a, r in zip(addrs, out, strict=False)
        }
        self.supply = self.tok.decode_result("totalSupply", out[-2])
        self.next_stake_id = self.stk.decode_result("nextStakeId", out[-1])
        # allowances and delegates of the holders
        pairs = list(self.allowances)
        if pairs:
            res = await self.chain.rpc.batch(
                [
                    (
                        "eth_call",
                        [
                            {"to": self.token, "data": self.tok.encode_call("allowance", o, s)},
                            "latest",
                        ],
                    )
                    for o, s in pairs
                ]
            )
            self.allowances = {
                p: self.tok.decode_result("allowance", r) for p, r in zip(pairs, res, strict=True)
            }
        res = await self.chain.rpc.batch(
            [
                (
                    "eth_call",
                    [{"to": self.token, "data": self.tok.encode_call("delegates", h)}, "latest"],
                )
                for h in self.holders
            ]
        )
        self.delegates = {}
        for h, r in zip(self.holders, res, strict=True):
            d = self.tok.decode_result("delegates", r)
            if int(d, 16) != 0:
                self.delegates[h] = d
        ids = list(range(1, self.next_stake_id))
        self.stakes = {}
        if ids:
            res = await self.chain.rpc.batch(
                [
                    (
                        "eth_call",
                        [
                            {"to": self.staking, "data": self.stk.encode_call("getStake", i)},
                            "latest",
                        ],
                    )
                    for i in ids
                ]
            )
            for i, r in zip(ids, res, strict=True):
                user, amount, _start, last, _end, active = self.stk.decode_result("getStake", r)
                self.stakes[i] = StakeModel(user, amount, last, active)
        # proposals: keep the ones the chain still knows, with their phase re-derived
        kept = []
        for p in self.proposals:
            state = await self._proposal_state(p.pid)
            if state is None:
                continue
            p.phase = {
                0: "pending",
                1: "voting",
                2: "done",
                3: "ended",
                4: "ended",
                5: "queued",
                7: "done",
            }.get(state, "done")
            kept.append(p)
        self.proposals = kept

    def _known_addresses(self) -> list[str]:
        return list(
            dict.fromkeys(
                [*self.holders, self.deployer, self.staking, self.timelock, *self.balances]
            )
        )

    # ------------------------------------------------------------------ running

    async def run(
        self,
        *,
        events: int | None = None,
        token_events: int | None = None,
        blocks: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_block: Callable[[SimStats], None] | None = None,
        interval_s: float = 0.0,
    ) -> SimStats:
        """Mine blocks of traffic until ``events`` logs, ``token_events`` NovaToken logs or
        ``blocks`` blocks (or should_stop).

        ``interval_s`` > 0 paces the chain: one block per interval (a live devnet); 0 = as fast
        as the node goes (history generation, benchmarks).
        """
        start_events, start_blocks = self.stats.events, self.stats.blocks
        start_token = self.stats.token_events
        while True:
            if events is not None and self.stats.events - start_events >= events:
                break
            if token_events is not None and self.stats.token_events - start_token >= token_events:
                break
            if blocks is not None and self.stats.blocks - start_blocks >= blocks:
                break
            if should_stop is not None and should_stop():
                break
            began = time.monotonic()
            await self.step()
            self.stats.seconds += time.monotonic() - began
            if on_block is not None:
                on_block(self.stats)
            if interval_s > 0:
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - began)))
        return self.stats

    async def step(self) -> None:
        """Build, mine and check one block of traffic."""
        await self.settle_governance()
        if self.stats.blocks % 40 == 39:  # time travel: rewards accrue, timelocks expire
            self.now += self.rng.choice([1, 2, 3]) * HOUR
        ts = self.now + self.block_time
        block = self.head + 1
        txs = self._governance_txs(block, ts)
        staked = sum(s.amount for s in self.stakes.values() if s.active)
        if self.balances.get(self.staking, 0) - staked < 200_000 * TOKEN:
            txs.append(self._mint(self.staking, 1_000_000 * TOKEN))  # refill the reward pool
        gas = sum(t.gas for t in txs)
        attempts = 0
        while (
            len(txs) < self.txs_per_block
            and gas < self.gas_budget
            and attempts < 4 * (self.txs_per_block)
        ):
            attempts += 1
            made = self._random_action(ts)
            for tx in made:
                txs.append(tx)
                gas += tx.gas
        await self._commit(txs, ts)

    async def _commit(self, txs: list[Tx], ts: int | None = None) -> None:
        if ts is None:
            ts = self.now + self.block_time
        receipts = await self.chain.transact(txs, ts)
        self.now = ts
        self.head += 1
        self.stats.blocks += 1
        self.stats.txs += len(txs)
        for rcpt in receipts:
            for log in rcpt["logs"]:
                self.stats.events += 1
                if log["address"].lower() == self._token_lower:
                    self.stats.token_events += 1
                name = self._event_name(log)
                self.stats.by_event[name] = self.stats.by_event.get(name, 0) + 1

    def _event_name(self, log: dict[str, Any]) -> str:
        topic = log["topics"][0] if log["topics"] else ""
        for abi in (self.tok, self.stk, self.gov, self.tl):
            spec = abi.events_by_topic.get(topic)
            if spec is not None:
                return spec.name
        return "unknown"

    # ------------------------------------------------------------------ token actions

    def _random_action(self, ts: int) -> list[Tx]:
        r = self.rng.random()
        if r < 0.34:
            return self._maybe(self._transfer_action())
        if r < 0.46:
            return self._maybe(self._multi_transfer_action())
        if r < 0.54:
            return self._maybe(self._approve_action())
        if r < 0.62:
            return self._maybe(self._transfer_from_action())
        if r < 0.66:
            return [self._mint(self.rng.choice(self.holders), self.rng.randint(1, 500) * TOKEN)]
        if r < 0.71:
            return self._maybe(self._burn_action())
        if r < 0.75:
            holder = self.rng.choice(self.holders)
            return [self._delegate(holder, self._pick_delegatee(holder))]
        if r < 0.86:
            return self._stake_action(ts)
        if r < 0.93:
            return self._maybe(self._unstake_action(ts))
        return self._maybe(self._claim_action(ts))

    @staticmethod
    def _maybe(tx: Tx | list[Tx] | None) -> list[Tx]:
        if tx is None:
            return []
        return tx if isinstance(tx, list) else [tx]

    def _rich_holder(self, minimum: int = 1) -> str | None:
        for _ in range(8):
            h = self.rng.choice(self.holders)
            if self.balances.get(h, 0) >= minimum:
                return h
        return None

    def _amount_of(self, balance: int) -> int:
        if balance <= 1:
            return balance
        return self.rng.randint(1, max(1, balance // 20))

    def _move(self, src: str, dst: str, amount: int) -> None:
        self.balances[src] = self.balances.get(src, 0) - amount
        self.balances[dst] = self.balances.get(dst, 0) + amount
        assert self.balances[src] >= 0, f"model went negative for {src}"

    def _transfer_action(self) -> Tx | None:
        src = self._rich_holder()
        if src is None:
            return None
        dst = self.rng.choice(self.holders)
        amount = self._amount_of(self.balances[src])
        self._move(src, dst, amount)
        return Tx(
            src,
            self.token,
            self.tok.encode_call("transfer", dst, amount),
            GAS_TRANSFER,
            f"transfer {amount} {src}->{dst}",
        )

    def _multi_transfer_action(self) -> Tx | None:
        src = self._rich_holder(self.multi * 2)
        if src is None:
            return None
        calls = []
        for _ in range(self.multi):
            dst = self.rng.choice(self.holders)
            amount = self.rng.randint(1, max(1, self.balances[src] // (self.multi * 4)))
            self._move(src, dst, amount)
            calls.append(bytes.fromhex(self.tok.encode_call("transfer", dst, amount)[2:]))
        return Tx(
            src,
            self.token,
            self.tok.encode_call("multicall", calls),
            GAS_PER_MULTI_TRANSFER * self.multi + 50_000,
            f"multicall of {self.multi} transfers from {src}",
        )

    def _approve_action(self) -> Tx:
        owner = self.rng.choice(self.holders)
        spender = self.rng.choice([h for h in self.holders if h != owner])
        amount = MAX_UINT256 if self.rng.random() < 0.15 else self.rng.randint(0, 5_000) * TOKEN
        self.allowances[(owner, spender)] = amount
        return Tx(
            owner,
            self.token,
            self.tok.encode_call("approve", spender, amount),
            GAS_SIMPLE,
            f"approve {owner}->{spender} {amount}",
        )

    def _transfer_from_action(self) -> Tx | None:
        usable = [
            (o, s)
            for (o, s), a in self.allowances.items()
            if a > 0 and self.balances.get(o, 0) > 0 and s in self.holders
        ]
        if not usable:
            return None
        owner, spender = self.rng.choice(sorted(usable))
        allowance = self.allowances[(owner, spender)]
        amount = self.rng.randint(1, max(1, min(allowance, self.balances[owner]) // 4))
        amount = min(amount, allowance, self.balances[owner])
        dst = self.rng.choice(self.holders)
        if allowance != MAX_UINT256:  # OpenZeppelin 5 keeps an infinite allowance as is
            self.allowances[(owner, spender)] = allowance - amount
        self._move(owner, dst, amount)
        return Tx(
            spender,
            self.token,
            self.tok.encode_call("transferFrom", owner, dst, amount),
            GAS_TRANSFER,
            f"transferFrom {owner}->{dst} by {spender} {amount}",
        )

    def _mint(self, to: str, amount: int) -> Tx:
        cap = self.params.get("cap", 10**27)
        amount = min(amount, cap - self.supply)
        self.supply += amount
        self.balances[to] = self.balances.get(to, 0) + amount
        return Tx(
            self.deployer,
            self.token,
            self.tok.encode_call("mint", to, amount),
            GAS_SIMPLE,
            f"mint {amount} to {to}",
        )

    def _burn_action(self) -> Tx | None:
        holder = self._rich_holder()
        if holder is None:
            return None
        amount = self._amount_of(self.balances[holder])
        self.balances[holder] -= amount
        self.supply -= amount
        return Tx(
            holder,
            self.token,
            self.tok.encode_call("burn", amount),
            GAS_SIMPLE,
            f"burn {amount} by {holder}",
        )

    def _pick_delegatee(self, holder: str) -> str:
        return holder if self.rng.random() < 0.6 else self.rng.choice(self.holders)

    def _delegate(self, holder: str, delegatee: str) -> Tx:
        self.delegates[holder] = delegatee
        return Tx(
            holder,
            self.token,
            self.tok.encode_call("delegate", delegatee),
            200_000,
            f"delegate {holder}->{delegatee}",
        )

    # ------------------------------------------------------------------ staking actions

    def _stake_action(self, ts: int) -> list[Tx]:
        min_stake = self.params.get("min_stake", TOKEN)
        user = self._rich_holder(min_stake * 2)
        if user is None:
            return []
        amount = self.rng.randint(min_stake, max(min_stake, self.balances[user] // 10))
        sid = self.next_stake_id
        self.next_stake_id += 1
        self.stakes[sid] = StakeModel(user, amount, ts)
        self._move(user, self.staking, amount)
        self.allowances[(user, self.staking)] = 0
        return [
            Tx(
                user,
                self.token,
                self.tok.encode_call("approve", self.staking, amount),
                GAS_SIMPLE,
                f"approve staking {amount} by {user}",
            ),
            Tx(
                user,
                self.staking,
                self.stk.encode_call("stake", amount),
                GAS_STAKE,
                f"stake #{sid} {amount} by {user}",
            ),
        ]

    def _claim_all(self, user: str, ts: int) -> None:
        rate = self.params.get("reward_rate", 1)
        paid = 0
        for s in self.stakes.values():
            if s.active and s.user == user:
                hours = (ts - s.last_claim) // HOUR
                if hours > 0:
                    paid += s.amount * rate * hours // 100
                    s.last_claim += hours * HOUR
        if paid:
            self._move(self.staking, user, paid)

    def _unstake_action(self, ts: int) -> Tx | None:
        active = [i for i, s in self.stakes.items() if s.active]
        if not active:
            return None
        sid = self.rng.choice(active)
        s = self.stakes[sid]
        self._claim_all(s.user, ts)
        s.active = False
        self._move(self.staking, s.user, s.amount)
        return Tx(
            s.user,
            self.staking,
            self.stk.encode_call("unstake", sid),
            GAS_STAKE * 2,
            f"unstake #{sid} by {s.user}",
        )

    def _claim_action(self, ts: int) -> Tx | None:
        users = sorted({s.user for s in self.stakes.values() if s.active})
        if not users:
            return None
        user = self.rng.choice(users)
        self._claim_all(user, ts)
        return Tx(
            user,
            self.staking,
            self.stk.encode_call("claimRewards"),
            GAS_STAKE * 2,
            f"claim by {user}",
        )

    # ------------------------------------------------------------------ governance

    def _proposal_args(self, p: ProposalModel) -> tuple[list[str], list[int], list[bytes], str]:
        calldata = bytes.fromhex(self.tok.encode_call("transfer", p.recipient, p.amount)[2:])
        return [self.token], [0], [calldata], p.description

    def _proposal_id(self, p: ProposalModel) -> int:
        targets, values, calldatas, desc = self._proposal_args(p)
        encoded = abi_encode(
            ["address[]", "uint256[]", "bytes[]", "bytes32"],
            [targets, values, calldatas, keccak(text=desc)],
        )
        return int.from_bytes(keccak(encoded), "big")

    async def _proposal_state(self, pid: int) -> int | None:
        try:
            out = await self.chain.call(self.governor, self.gov.encode_call("state", pid))
        except Exception:  # noqa: BLE001 - unknown proposal (orphaned by a reorg)
            return None
        return int(self.gov.decode_result("state", out))

    def _governance_txs(self, block: int, ts: int) -> list[Tx]:
        txs: list[Tx] = []
        delay = self.params.get("voting_delay", 1)
        period = self.params.get("voting_period", 20)
        open_ = [p for p in self.proposals if p.phase != "done"]
        if len(open_) < 2 or (len(open_) < 3 and self.rng.random() < 0.08):
            self.proposal_seq += 1
            proposer = self.rng.choice(self.holders)
            p = ProposalModel(
                pid=0,
                proposer=proposer,
                recipient=self.rng.choice(self.holders),
                amount=self.rng.randint(1, 100) * TOKEN,
                description=f"NIP-{self.seed}-{block}-{self.proposal_seq}: pay a contributor",
                created_block=block,
                vote_start=block + delay,
                vote_end=block + delay + period,
                cancel=self.proposal_seq % 3 == 2,  # every third proposal is cancelled
                quiet=self.proposal_seq % 5 == 4,
            )
            p.pid = self._proposal_id(p)
            self.proposals.append(p)
            targets, values, calldatas, desc = self._proposal_args(p)
            txs.append(
                Tx(
                    proposer,
                    self.governor,
                    self.gov.encode_call("propose", targets, values, calldatas, desc),
                    GAS_GOV,
                    f"propose {p.description}",
                )
            )
            return txs
        for p in open_:
            if (
                p.phase == "pending"
                and block > p.created_block
                and p.cancel
                and block <= (p.vote_start)
            ):
                targets, values, calldatas, desc = self._proposal_args(p)
                txs.append(
                    Tx(
                        p.proposer,
                        self.governor,
                        self.gov.encode_call(
                            "cancel", targets, values, calldatas, keccak(text=desc)
                        ),
                        GAS_GOV,
                        f"cancel {p.description}",
                    )
                )
                p.phase = "done"
            elif p.phase in ("pending", "voting") and p.vote_start < block <= p.vote_end:
                p.phase = "voting"
                candidates = [h for h in self.holders if h not in p.voters]
                if p.quiet:  # one vote, by the smallest self-delegated holder
                    small = sorted(
                        (self.balances.get(h, 0), h)
                        for h in candidates
                        if self.delegates.get(h) == h and self.balances.get(h, 0) > 0
                    )
                    candidates = [] if p.voters or not small else [small[0][1]]

                for voter in self.rng.sample(candidates, min(len(candidates), 3)):
                    p.voters.add(voter)
                    support = self.rng.choices([0, 1, 2], weights=[2, 6, 1])[0]
                    if p.quiet:
                        support = 1

                    if self.rng.random() < 0.2:
                        data = self.gov.encode_call(
                            "castVoteWithReasonAndParams", p.pid, support, "with params", b"\x01"
                        )
                    elif self.rng.random() < 0.5:
                        data = self.gov.encode_call(
                            "castVoteWithReason", p.pid, support, f"vote {support}"
                        )
                    else:
                        data = self.gov.encode_call("castVote", p.pid, support)
                    txs.append(
                        Tx(
                            voter,
                            self.governor,
                            data,
                            GAS_GOV,
                            f"vote {support} on {p.description} by {voter}",
                        )
                    )
            elif p.phase in ("pending", "voting") and block > p.vote_end:
                p.phase = "ended"  # decided after the chain says Succeeded (see below)
            elif p.phase == "succeeded":
                targets, values, calldatas, desc = self._proposal_args(p)
                txs.append(
                    Tx(
                        p.proposer,
                        self.governor,
                        self.gov.encode_call(
                            "queue", targets, values, calldatas, keccak(text=desc)
                        ),
                        GAS_GOV,
                        f"queue {p.description}",
                    )
                )
                p.phase = "queued"
                p.eta = ts + self.params.get("timelock_delay", 60)
            elif p.phase == "queued" and ts >= p.eta and p.eta:
                targets, values, calldatas, desc = self._proposal_args(p)
                # every second execution on the timelock directly (its executor role is open):
                # the governor emits nothing, and its state() says Executed
                direct = self.executions % 2 == 1
                self.executions += 1
                if direct:
                    salt = bytes(
                        a ^ b
                        for a, b in zip(
                            bytes.fromhex(self.governor[2:]) + bytes(12),
                            keccak(text=desc),
                            strict=True,
                        )
                    )
                    to, data = (
                        self.timelock,
                        self.tl.encode_call(
                            "executeBatch", targets, values, calldatas, bytes(32), salt
                        ),
                    )
                else:
                    to, data = (
                        self.governor,
                        self.gov.encode_call(
                            "execute", targets, values, calldatas, keccak(text=desc)
                        ),
                    )
                how = "on the timelock" if direct else "through the governor"
                txs.append(Tx(p.proposer, to, data, GAS_GOV, f"execute {p.description} {how}"))
                self._move(self.timelock, p.recipient, p.amount)
                p.phase = "done"
        return txs

    async def settle_governance(self) -> None:
        """Ask the chain which ended proposals succeeded (4) so they get queued next block."""
        for p in self.proposals:
            if p.phase == "ended":
                state = await self._proposal_state(p.pid)
                p.phase = "succeeded" if state == 4 else "done"

    # ------------------------------------------------------------------ checks

    def expected_balances(self) -> dict[str, int]:
        return {a: b for a, b in self.balances.items()}

    async def chain_balances(self, addresses: list[str]) -> dict[str, int]:
        out = await self.chain.rpc.batch(
            [
                (
                    "eth_call",
                    [{"to": self.token, "data": self.tok.encode_call("balanceOf", a)}, "latest"],
                )
                for a in addresses
            ]
        )
        return {
            a: self.tok.decode_result("balanceOf", r) for a, r in zip(addresses, out, strict=True)
        }
