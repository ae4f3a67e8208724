"""Response models: uint256 values are decimal strings, addresses EIP-55."""

from __future__ import annotations

from pydantic import BaseModel, Field

Uint = Field(pattern=r"^[0-9]+$", description="uint256 as a decimal string")


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
    truncated: bool


class SyncStatusModel(BaseModel):
    is_syncing: bool
    chain_id: int
    latest_block: int
    synced_block: int
    lag: int
    last_reorg_block: int
    last_reorg_depth: int
    last_reorg_at: int
    events_per_second: float
    alarm: str


class BalanceModel(BaseModel):
    address: str
    balance: str = Uint
    block_number: int


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
    total: int
    next_cursor: str | None


class AllowanceModel(BaseModel):
    owner: str
    spender: str
    allowance: str = Uint
    block_number: int
    source: str


class SupplyModel(BaseModel):
    total_supply: str = Uint
    block_number: int


class HolderModel(BaseModel):
    address: str
    balance: str = Uint


class HoldersPage(BaseModel):
    holders: list[HolderModel]
    total: int


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
    rewards: str = Uint
    start_time: int
    end_time: int
    block_number: int
    status: str
    tx_hash: str


class StakesPage(BaseModel):
    stakes: list[StakeModel]
    total: int


class ClaimModel(BaseModel):
    id: str
    user: str
    amount: str = Uint
    block_number: int
    timestamp: int


class ClaimsPage(BaseModel):
    claims: list[ClaimModel]
    total: int


class StakingTotalsModel(BaseModel):
    total_staked: str = Uint
    active_stakes: int
    block_number: int


class UserTotalsModel(BaseModel):
    address: str
    total_staked: str = Uint
    total_claimed: str = Uint
    active_stakes: int


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
