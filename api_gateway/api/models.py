"""Response models: uint256 values are decimal strings, addresses EIP-55."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Uint = Field(pattern=r"^[0-9]+$", description="uint256 as a decimal string")
HEAD = Field(
    description="The indexed head: the block the index has applied every event through "
    "(it follows the chain whether or not the block held an event of this domain)"
)


class LogModel(BaseModel):
    address: str
    topics: list[str]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    removed: bool


class TransactionModel(BaseModel):
    hash: str
    block_number: int
    block_hash: str
    from_address: str
    to_address: str | None
    value: str = Uint
    gas: int
    gas_price: str = Uint
    input: str
    status: int
    tx_index: int
    logs: list[LogModel]


class BlockModel(BaseModel):
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    gas_used: int
    gas_limit: int
    miner: str
    size: int
    transactions: list[TransactionModel]


class LogsPage(BaseModel):
    logs: list[LogModel]
    count: int
    truncated: bool = Field(description="More logs may match: continue with next_cursor")
    next_cursor: str | None = Field(description="Null when this page holds every match left")


class IndexStatusModel(BaseModel):
    available: bool = Field(description="The service answered (false: see `error`)")
    applied_through: int | None = Field(
        None,
        description="The block the index has applied every event through (its head): what "
        "its answers' block numbers say",
    )
    lag: int | None = Field(None, description="synced_block - applied_through")
    running: bool | None = Field(None, description="Its consumer runs (false: see `error`)")
    error: str = Field("", description="Why it stopped, or why it could not be reached")


class FollowedContractModel(BaseModel):
    name: str
    address: str
    from_block: int


class SyncStatusModel(BaseModel):
    is_syncing: bool = Field(
        description="The sync runs and follows the chain (also when caught up: see `lag`); "
        "false when it stopped (see `alarm`)"
    )
    chain_id: int
    latest_block: int
    synced_block: int
    final_block: int = Field(
        description="The block the sync follows: latest_block - confirmations, or the node's "
        "finalized / safe block; synced_block equals it when caught up."
    )
    lag: int
    last_reorg_block: int
    last_reorg_depth: int
    last_reorg_at: int
    events_per_second: float
    alarm: str
    archived_block: int | None = Field(
        None,
        description="The block the raw log archive holds every log through (its archiver may "
        "lag the sync); null without an archive or before it has passed one",
    )
    indexes: dict[str, IndexStatusModel] = Field(
        default_factory=dict,
        description="Each consumer service's index (token, staking, governance) behind the sync",
    )
    followed: list[FollowedContractModel] = Field(
        default_factory=list,
        description="Contracts followed since an event of a tracked one named them (the "
        "timelock the governor moved to), each from that event's block",
    )


class BalanceModel(BaseModel):
    address: str
    balance: str = Uint
    block_number: int = HEAD


class TransferModel(BaseModel):
    tx_hash: str
    log_index: int
    tx_index: int
    from_address: str
    to_address: str
    value: str = Uint
    block_number: int
    timestamp: int


class TransfersPage(BaseModel):
    transfers: list[TransferModel]
    total: int = Field(
        description="How many transfers match; with a block range, counted up to 10,000"
    )
    total_capped: bool = Field(
        description="More than 10,000 transfers match the block range: total is 10,000"
    )
    next_cursor: str | None


class SpenderAllowanceModel(BaseModel):
    spender: str
    allowance: str = Uint
    block_number: int = Field(
        description="The block it is read at: the indexed head, or the chain's"
    )
    source: Literal["indexed", "chain"] = Field(
        description="`indexed`: the pair's last Approval; `chain`: allowance() by eth_call, asked"
        " for, or because the owner sent tokens since that Approval (transferFrom spends an"
        " allowance without an event)"
    )
    exact: bool = Field(
        description="The value is allowance() at block_number; false only when the owner sent"
        " tokens since the Approval and the token service has no RPC URL to ask the chain"
    )
    approved_at_block: int = Field(
        description="The block of the pair's last indexed Approval; 0: none, or `on_chain=true`"
    )


class AllowanceModel(SpenderAllowanceModel):
    owner: str


class AllowancesPage(BaseModel):
    owner: str
    allowances: list[SpenderAllowanceModel]
    total: int
    next_cursor: str | None
    block_number: int = Field(description="The indexed head the list is read at")


class SupplyModel(BaseModel):
    total_supply: str = Uint
    block_number: int


class HolderModel(BaseModel):
    address: str
    balance: str = Uint


class HoldersPage(BaseModel):
    holders: list[HolderModel]
    total: int
    next_cursor: str | None
    block_number: int = Field(description="The indexed head the page is read at")


class TokenInfoModel(BaseModel):
    address: str
    name: str
    symbol: str
    decimals: int
    total_supply: str = Uint
    holders: int
    last_indexed_block: int


class StakeModel(BaseModel):
    id: str
    user: str
    amount: str = Uint
    rewards: str = Field(
        pattern=r"^[0-9]+$",
        description="Rewards owed at the indexed head's timestamp (the contract's "
        "pendingRewards there), uint256 as a decimal string",
    )
    start_time: int
    end_time: int
    block_number: int
    status: str
    tx_hash: str


class StakesPage(BaseModel):
    stakes: list[StakeModel]
    total: int
    next_cursor: str | None = Field(description="Null on the last page")


class ClaimModel(BaseModel):
    id: str
    user: str
    amount: str = Uint
    block_number: int
    timestamp: int


class ClaimsPage(BaseModel):
    claims: list[ClaimModel]
    total: int
    next_cursor: str | None = Field(description="Null on the last page")


class StakingTotalsModel(BaseModel):
    total_staked: str = Uint
    active_stakes: int
    block_number: int


class UserTotalsModel(BaseModel):
    address: str
    total_staked: str = Uint
    total_claimed: str = Uint
    active_stakes: int
    block_number: int = Field(
        description="The block they are the totals at: at_block, or the indexed head"
    )


class RewardsModel(BaseModel):
    stake_id: str
    rewards: str = Uint
    at_timestamp: int


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorModel(BaseModel):
    error: ErrorDetail


class ActionModel(BaseModel):
    target: str
    value: str = Uint
    calldata: str
    signature: str


class ProposalModel(BaseModel):
    id: str = Uint
    proposer: str
    state: Literal[
        "Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed"
    ]
    actions: list[ActionModel]
    description: str
    vote_start: int = Field(description="Block number (the governor's clock)")
    vote_end: int
    for_votes: str = Uint
    against_votes: str = Uint
    abstain_votes: str = Uint
    quorum: str = Uint
    created_block: int
    eta: int = Field(description="Queued: earliest execution time (unix seconds); else 0")
    state_at_block: int = Field(
        description="The indexed head (the block the index has applied through) that the state "
        "and quorum were derived at"
    )
    timelock_id: str | None = Field(
        description="Queued: the timelock operation (bytes32) it is scheduled as; executed or "
        "cancelled on the timelock directly, the proposal is Executed or Canceled"
    )
    timelock: str | None = Field(
        description="Queued: the timelock it was queued on (EIP-55). The governor's state() "
        "asks its timelock at the time: once the governor moved to another one (updateTimelock) "
        "the proposal is Canceled"
    )


class ProposalsPage(BaseModel):
    proposals: list[ProposalModel]
    total: int


class VoteModel(BaseModel):
    proposal_id: str = Uint
    voter: str
    support: Literal["against", "for", "abstain"]
    weight: str = Uint
    reason: str
    block_number: int
    tx_hash: str


class VotesPage(BaseModel):
    votes: list[VoteModel]
    total: int
    next_cursor: str | None = Field(description="Null on the last page")


class DelegateModel(BaseModel):
    address: str
    votes: str = Uint
    votes_at_block: str = Uint
    at_block: int
    delegatee: str | None = Field(description="Whom this address delegates to")
    delegators: list[str] = Field(
        description="By address, the first 1,000 (all of them: /delegates/{address}/delegators)"
    )
    delegators_total: int = Field(description="How many delegate to this address")


class RankedDelegateModel(BaseModel):
    address: str
    votes: str = Uint


class DelegatorModel(BaseModel):
    address: str
    since_block: int = Field(description="The block of its latest delegation")


class DelegatorsPage(BaseModel):
    delegators: list[DelegatorModel]
    total: int
    next_cursor: str | None
    block_number: int = Field(description="The indexed head the list is read at")


class DelegatesPage(BaseModel):
    delegates: list[RankedDelegateModel]
    total: int = Field(description="Delegates with voting power")
    next_cursor: str | None
    block_number: int = Field(description="The indexed head the list is read at")


# ---------------------------------------------------------------------------- verification

Hash = Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="0x + 64 hex")
Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="0x + 40 hex; EIP-55 if mixed case")
Confirmations = Field(0, ge=0, le=1_000_000, description="Confirmations required (0 = 1)")


# a request body refuses keys it does not take: a misspelt optional check (say `amount` for
# `value`) would otherwise be skipped, and the transaction reported verified without it
REQUEST_BODY = ConfigDict(extra="forbid")


class VerifyTransferBody(BaseModel):
    model_config = REQUEST_BODY

    tx_hash: str = Hash
    from_address: str | None = Field(None, alias="from", pattern=r"^0x[0-9a-fA-F]{40}$")
    to: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{40}$")
    value: str | None = Field(None, pattern=r"^[0-9]{1,78}$", description="uint256, decimal")
    min_confirmations: int = Confirmations


class VerifyContractCallBody(BaseModel):
    model_config = REQUEST_BODY

    tx_hash: str = Hash
    contract: str = Address
    method: str | None = Field(
        None,
        max_length=512,
        description="0x + 8 hex selector, or a signature like transfer(address,uint256)",
    )
    min_confirmations: int = Confirmations


class VerifySenderBody(BaseModel):
    model_config = REQUEST_BODY

    tx_hash: str = Hash
    expected_address: str = Address
    min_confirmations: int = Confirmations


class VerifySignatureBody(BaseModel):
    model_config = REQUEST_BODY

    address: str = Address
    signature: str = Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=8194)
    message: str | None = Field(None, max_length=65536, description="EIP-191 personal_sign text")
    message_hex: str | None = Field(
        None, pattern=r"^0x([0-9a-fA-F]{2})*$", max_length=131074, description="EIP-191 bytes"
    )
    typed_data: dict[str, Any] | None = Field(
        None, description="EIP-712: {types, primaryType, domain, message}"
    )


class MismatchModel(BaseModel):
    field: str
    expected: str
    actual: str


class TxVerdictModel(BaseModel):
    verdict: Literal["verified", "pending", "not_found", "failed", "mismatch", "reorged"]
    reasons: list[str]
    block_number: int
    block_hash: str
    confirmations: int
    log_index: int | None = Field(description="VerifyTransfer: the matching Transfer log")
    mismatches: list[MismatchModel]
    final: bool = Field(description="Deeper than the reorg window: this answer never changes")


class SignatureVerdictModel(BaseModel):
    valid: bool
    method: Literal["eip191", "eip712", "erc1271"]
    recovered: str | None
    reason: str
