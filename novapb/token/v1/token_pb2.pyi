from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_ANY: _ClassVar[Direction]
    DIRECTION_IN: _ClassVar[Direction]
    DIRECTION_OUT: _ClassVar[Direction]
DIRECTION_ANY: Direction
DIRECTION_IN: Direction
DIRECTION_OUT: Direction

class VerifyRequest(_message.Message):
    __slots__ = ("block",)
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    block: int
    def __init__(self, block: _Optional[int] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("block", "checked", "ok", "drifts")
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    CHECKED_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    block: int
    checked: int
    ok: bool
    drifts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, block: _Optional[int] = ..., checked: _Optional[int] = ..., ok: _Optional[bool] = ..., drifts: _Optional[_Iterable[str]] = ...) -> None: ...

class GetBalanceRequest(_message.Message):
    __slots__ = ("address", "at_block")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    address: str
    at_block: int
    def __init__(self, address: _Optional[str] = ..., at_block: _Optional[int] = ...) -> None: ...

class GetBalanceResponse(_message.Message):
    __slots__ = ("balance", "block_number")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    balance: str
    block_number: int
    def __init__(self, balance: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...

class GetTransfersRequest(_message.Message):
    __slots__ = ("address", "limit", "offset", "direction", "from_block", "to_block", "cursor", "oldest_first")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TO_BLOCK_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    OLDEST_FIRST_FIELD_NUMBER: _ClassVar[int]
    address: str
    limit: int
    offset: int
    direction: Direction
    from_block: int
    to_block: int
    cursor: str
    oldest_first: bool
    def __init__(self, address: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., direction: _Optional[_Union[Direction, str]] = ..., from_block: _Optional[int] = ..., to_block: _Optional[int] = ..., cursor: _Optional[str] = ..., oldest_first: _Optional[bool] = ...) -> None: ...

class GetTransfersResponse(_message.Message):
    __slots__ = ("transfers", "total", "next_cursor", "total_capped")
    TRANSFERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CAPPED_FIELD_NUMBER: _ClassVar[int]
    transfers: _containers.RepeatedCompositeFieldContainer[Transfer]
    total: int
    next_cursor: str
    total_capped: bool
    def __init__(self, transfers: _Optional[_Iterable[_Union[Transfer, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ..., total_capped: _Optional[bool] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("hash", "from_address", "to_address", "value", "block_number", "timestamp", "log_index", "tx_index")
    HASH_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    hash: str
    from_address: str
    to_address: str
    value: str
    block_number: int
    timestamp: int
    log_index: int
    tx_index: int
    def __init__(self, hash: _Optional[str] = ..., from_address: _Optional[str] = ..., to_address: _Optional[str] = ..., value: _Optional[str] = ..., block_number: _Optional[int] = ..., timestamp: _Optional[int] = ..., log_index: _Optional[int] = ..., tx_index: _Optional[int] = ...) -> None: ...

class GetAllowanceRequest(_message.Message):
    __slots__ = ("owner", "spender", "on_chain")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SPENDER_FIELD_NUMBER: _ClassVar[int]
    ON_CHAIN_FIELD_NUMBER: _ClassVar[int]
    owner: str
    spender: str
    on_chain: bool
    def __init__(self, owner: _Optional[str] = ..., spender: _Optional[str] = ..., on_chain: _Optional[bool] = ...) -> None: ...

class GetAllowanceResponse(_message.Message):
    __slots__ = ("allowance", "block_number", "source", "exact", "approved_at_block")
    ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    allowance: str
    block_number: int
    source: str
    exact: bool
    approved_at_block: int
    def __init__(self, allowance: _Optional[str] = ..., block_number: _Optional[int] = ..., source: _Optional[str] = ..., exact: _Optional[bool] = ..., approved_at_block: _Optional[int] = ...) -> None: ...

class ListAllowancesRequest(_message.Message):
    __slots__ = ("owner", "limit", "offset", "cursor")
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    owner: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, owner: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class SpenderAllowance(_message.Message):
    __slots__ = ("spender", "allowance", "block_number", "source", "exact", "approved_at_block")
    SPENDER_FIELD_NUMBER: _ClassVar[int]
    ALLOWANCE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    spender: str
    allowance: str
    block_number: int
    source: str
    exact: bool
    approved_at_block: int
    def __init__(self, spender: _Optional[str] = ..., allowance: _Optional[str] = ..., block_number: _Optional[int] = ..., source: _Optional[str] = ..., exact: _Optional[bool] = ..., approved_at_block: _Optional[int] = ...) -> None: ...

class ListAllowancesResponse(_message.Message):
    __slots__ = ("allowances", "total", "next_cursor", "block_number")
    ALLOWANCES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    allowances: _containers.RepeatedCompositeFieldContainer[SpenderAllowance]
    total: int
    next_cursor: str
    block_number: int
    def __init__(self, allowances: _Optional[_Iterable[_Union[SpenderAllowance, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...

class GetTotalSupplyRequest(_message.Message):
    __slots__ = ("at_block",)
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    at_block: int
    def __init__(self, at_block: _Optional[int] = ...) -> None: ...

class GetTotalSupplyResponse(_message.Message):
    __slots__ = ("total_supply", "block_number")
    TOTAL_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    total_supply: str
    block_number: int
    def __init__(self, total_supply: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...

class GetHoldersRequest(_message.Message):
    __slots__ = ("limit", "offset", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class Holder(_message.Message):
    __slots__ = ("address", "balance")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    address: str
    balance: str
    def __init__(self, address: _Optional[str] = ..., balance: _Optional[str] = ...) -> None: ...

class GetHoldersResponse(_message.Message):
    __slots__ = ("holders", "total", "next_cursor", "block_number")
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    holders: _containers.RepeatedCompositeFieldContainer[Holder]
    total: int
    next_cursor: str
    block_number: int
    def __init__(self, holders: _Optional[_Iterable[_Union[Holder, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...

class GetTokenInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTokenInfoResponse(_message.Message):
    __slots__ = ("address", "name", "symbol", "decimals", "total_supply", "holders", "last_indexed_block")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    DECIMALS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SUPPLY_FIELD_NUMBER: _ClassVar[int]
    HOLDERS_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEXED_BLOCK_FIELD_NUMBER: _ClassVar[int]
    address: str
    name: str
    symbol: str
    decimals: int
    total_supply: str
    holders: int
    last_indexed_block: int
    def __init__(self, address: _Optional[str] = ..., name: _Optional[str] = ..., symbol: _Optional[str] = ..., decimals: _Optional[int] = ..., total_supply: _Optional[str] = ..., holders: _Optional[int] = ..., last_indexed_block: _Optional[int] = ...) -> None: ...
