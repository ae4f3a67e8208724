from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStakeRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetStakeResponse(_message.Message):
    __slots__ = ("stake",)
    STAKE_FIELD_NUMBER: _ClassVar[int]
    stake: Stake
    def __init__(self, stake: _Optional[_Union[Stake, _Mapping]] = ...) -> None: ...

class Stake(_message.Message):
    __slots__ = ("id", "user", "amount", "rewards", "start_time", "end_time", "block_number", "status", "tx_hash")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    id: str
    user: str
    amount: str
    rewards: str
    start_time: int
    end_time: int
    block_number: int
    status: str
    tx_hash: str
    def __init__(self, id: _Optional[str] = ..., user: _Optional[str] = ..., amount: _Optional[str] = ..., rewards: _Optional[str] = ..., start_time: _Optional[int] = ..., end_time: _Optional[int] = ..., block_number: _Optional[int] = ..., status: _Optional[str] = ..., tx_hash: _Optional[str] = ...) -> None: ...

class GetActiveStakesRequest(_message.Message):
    __slots__ = ("user", "limit", "offset", "cursor")
    USER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    user: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, user: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetActiveStakesResponse(_message.Message):
    __slots__ = ("stakes", "total", "next_cursor")
    STAKES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    stakes: _containers.RepeatedCompositeFieldContainer[Stake]
    total: int
    next_cursor: str
    def __init__(self, stakes: _Optional[_Iterable[_Union[Stake, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetRewardClaimsRequest(_message.Message):
    __slots__ = ("user", "limit", "offset", "cursor")
    USER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    user: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, user: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetRewardClaimsResponse(_message.Message):
    __slots__ = ("claims", "total", "next_cursor")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    claims: _containers.RepeatedCompositeFieldContainer[RewardClaim]
    total: int
    next_cursor: str
    def __init__(self, claims: _Optional[_Iterable[_Union[RewardClaim, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class RewardClaim(_message.Message):
    __slots__ = ("id", "user", "amount", "block_number", "timestamp", "stake_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    STAKE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    user: str
    amount: str
    block_number: int
    timestamp: int
    stake_id: str
    def __init__(self, id: _Optional[str] = ..., user: _Optional[str] = ..., amount: _Optional[str] = ..., block_number: _Optional[int] = ..., timestamp: _Optional[int] = ..., stake_id: _Optional[str] = ...) -> None: ...

class GetTotalStakedRequest(_message.Message):
    __slots__ = ("at_block",)
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    at_block: int
    def __init__(self, at_block: _Optional[int] = ...) -> None: ...

class GetTotalStakedResponse(_message.Message):
    __slots__ = ("total_staked", "block_number", "active_stakes")
    TOTAL_STAKED_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_STAKES_FIELD_NUMBER: _ClassVar[int]
    total_staked: str
    block_number: int
    active_stakes: int
    def __init__(self, total_staked: _Optional[str] = ..., block_number: _Optional[int] = ..., active_stakes: _Optional[int] = ...) -> None: ...

class CalculateRewardsRequest(_message.Message):
    __slots__ = ("stake_id", "at_block", "at_timestamp")
    STAKE_ID_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    AT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    stake_id: str
    at_block: int
    at_timestamp: int
    def __init__(self, stake_id: _Optional[str] = ..., at_block: _Optional[int] = ..., at_timestamp: _Optional[int] = ...) -> None: ...

class CalculateRewardsResponse(_message.Message):
    __slots__ = ("rewards", "at_timestamp")
    REWARDS_FIELD_NUMBER: _ClassVar[int]
    AT_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    rewards: str
    at_timestamp: int
    def __init__(self, rewards: _Optional[str] = ..., at_timestamp: _Optional[int] = ...) -> None: ...

class GetUserTotalsRequest(_message.Message):
    __slots__ = ("user", "at_block")
    USER_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    user: str
    at_block: int
    def __init__(self, user: _Optional[str] = ..., at_block: _Optional[int] = ...) -> None: ...

class GetUserTotalsResponse(_message.Message):
    __slots__ = ("total_staked", "total_claimed", "active_stakes", "block_number")
    TOTAL_STAKED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CLAIMED_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_STAKES_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    total_staked: str
    total_claimed: str
    active_stakes: int
    block_number: int
    def __init__(self, total_staked: _Optional[str] = ..., total_claimed: _Optional[str] = ..., active_stakes: _Optional[int] = ..., block_number: _Optional[int] = ...) -> None: ...
