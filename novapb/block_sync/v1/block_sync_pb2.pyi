from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetBlockRequest(_message.Message):
    __slots__ = ("block_number",)
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    block_number: int
    def __init__(self, block_number: _Optional[int] = ...) -> None: ...

class GetBlockResponse(_message.Message):
    __slots__ = ("block",)
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    block: Block
    def __init__(self, block: _Optional[_Union[Block, _Mapping]] = ...) -> None: ...

class Block(_message.Message):
    __slots__ = ("number", "hash", "parent_hash", "timestamp", "gas_used", "gas_limit", "miner", "size", "transactions")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PARENT_HASH_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    GAS_USED_FIELD_NUMBER: _ClassVar[int]
    GAS_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MINER_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    number: int
    hash: str
    parent_hash: str
    timestamp: int
    gas_used: int
    gas_limit: int
    miner: str
    size: int
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    def __init__(self, number: _Optional[int] = ..., hash: _Optional[str] = ..., parent_hash: _Optional[str] = ..., timestamp: _Optional[int] = ..., gas_used: _Optional[int] = ..., gas_limit: _Optional[int] = ..., miner: _Optional[str] = ..., size: _Optional[int] = ..., transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("hash", "from_address", "to_address", "value", "gas", "gas_price", "input", "status", "tx_index", "logs", "block_number", "block_hash")
    HASH_FIELD_NUMBER: _ClassVar[int]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    GAS_FIELD_NUMBER: _ClassVar[int]
    GAS_PRICE_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    hash: str
    from_address: str
    to_address: str
    value: str
    gas: int
    gas_price: str
    input: bytes
    status: int
    tx_index: int
    logs: _containers.RepeatedCompositeFieldContainer[Log]
    block_number: int
    block_hash: str
    def __init__(self, hash: _Optional[str] = ..., from_address: _Optional[str] = ..., to_address: _Optional[str] = ..., value: _Optional[str] = ..., gas: _Optional[int] = ..., gas_price: _Optional[str] = ..., input: _Optional[bytes] = ..., status: _Optional[int] = ..., tx_index: _Optional[int] = ..., logs: _Optional[_Iterable[_Union[Log, _Mapping]]] = ..., block_number: _Optional[int] = ..., block_hash: _Optional[str] = ...) -> None: ...

class Log(_message.Message):
    __slots__ = ("address", "topics", "data", "block_number", "tx_hash", "tx_index", "log_index", "removed", "block_hash")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    address: str
    topics: _containers.RepeatedScalarFieldContainer[str]
    data: bytes
    block_number: int
    tx_hash: str
    tx_index: int
    log_index: int
    removed: bool
    block_hash: str
    def __init__(self, address: _Optional[str] = ..., topics: _Optional[_Iterable[str]] = ..., data: _Optional[bytes] = ..., block_number: _Optional[int] = ..., tx_hash: _Optional[str] = ..., tx_index: _Optional[int] = ..., log_index: _Optional[int] = ..., removed: _Optional[bool] = ..., block_hash: _Optional[str] = ...) -> None: ...

class GetTransactionRequest(_message.Message):
    __slots__ = ("hash",)
    HASH_FIELD_NUMBER: _ClassVar[int]
    hash: str
    def __init__(self, hash: _Optional[str] = ...) -> None: ...

class GetTransactionResponse(_message.Message):
    __slots__ = ("transaction",)
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    transaction: Transaction
    def __init__(self, transaction: _Optional[_Union[Transaction, _Mapping]] = ...) -> None: ...

class GetLogsRequest(_message.Message):
    __slots__ = ("address", "from_block", "to_block", "to_latest", "topic0", "limit", "topic1", "topic2", "topic3", "offset", "cursor")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TO_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TO_LATEST_FIELD_NUMBER: _ClassVar[int]
    TOPIC0_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TOPIC1_FIELD_NUMBER: _ClassVar[int]
    TOPIC2_FIELD_NUMBER: _ClassVar[int]
    TOPIC3_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    address: str
    from_block: int
    to_block: int
    to_latest: bool
    topic0: str
    limit: int
    topic1: str
    topic2: str
    topic3: str
    offset: int
    cursor: str
    def __init__(self, address: _Optional[str] = ..., from_block: _Optional[int] = ..., to_block: _Optional[int] = ..., to_latest: _Optional[bool] = ..., topic0: _Optional[str] = ..., limit: _Optional[int] = ..., topic1: _Optional[str] = ..., topic2: _Optional[str] = ..., topic3: _Optional[str] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetLogsResponse(_message.Message):
    __slots__ = ("logs", "truncated", "next_cursor")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    logs: _containers.RepeatedCompositeFieldContainer[Log]
    truncated: bool
    next_cursor: str
    def __init__(self, logs: _Optional[_Iterable[_Union[Log, _Mapping]]] = ..., truncated: _Optional[bool] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetSyncStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSyncStatusResponse(_message.Message):
    __slots__ = ("is_syncing", "latest_block", "synced_block", "lag", "last_reorg_block", "last_reorg_depth", "last_reorg_at", "events_per_second", "alarm", "chain_id", "final_block", "archived_block", "followed")
    IS_SYNCING_FIELD_NUMBER: _ClassVar[int]
    LATEST_BLOCK_FIELD_NUMBER: _ClassVar[int]
    SYNCED_BLOCK_FIELD_NUMBER: _ClassVar[int]
    LAG_FIELD_NUMBER: _ClassVar[int]
    LAST_REORG_BLOCK_FIELD_NUMBER: _ClassVar[int]
    LAST_REORG_DEPTH_FIELD_NUMBER: _ClassVar[int]
    LAST_REORG_AT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ALARM_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    FINAL_BLOCK_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_BLOCK_FIELD_NUMBER: _ClassVar[int]
    FOLLOWED_FIELD_NUMBER: _ClassVar[int]
    is_syncing: bool
    latest_block: int
    synced_block: int
    lag: int
    last_reorg_block: int
    last_reorg_depth: int
    last_reorg_at: int
    events_per_second: float
    alarm: str
    chain_id: int
    final_block: int
    archived_block: int
    followed: _containers.RepeatedCompositeFieldContainer[FollowedContract]
    def __init__(self, is_syncing: _Optional[bool] = ..., latest_block: _Optional[int] = ..., synced_block: _Optional[int] = ..., lag: _Optional[int] = ..., last_reorg_block: _Optional[int] = ..., last_reorg_depth: _Optional[int] = ..., last_reorg_at: _Optional[int] = ..., events_per_second: _Optional[float] = ..., alarm: _Optional[str] = ..., chain_id: _Optional[int] = ..., final_block: _Optional[int] = ..., archived_block: _Optional[int] = ..., followed: _Optional[_Iterable[_Union[FollowedContract, _Mapping]]] = ...) -> None: ...

class FollowedContract(_message.Message):
    __slots__ = ("name", "address", "from_block")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FROM_BLOCK_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    from_block: int
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., from_block: _Optional[int] = ...) -> None: ...
