from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArgValue(_message.Message):
    __slots__ = ("scalar", "list")
    SCALAR_FIELD_NUMBER: _ClassVar[int]
    LIST_FIELD_NUMBER: _ClassVar[int]
    scalar: str
    list: ArgList
    def __init__(self, scalar: _Optional[str] = ..., list: _Optional[_Union[ArgList, _Mapping]] = ...) -> None: ...

class ArgList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, items: _Optional[_Iterable[str]] = ...) -> None: ...

class RawLog(_message.Message):
    __slots__ = ("topics", "data")
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    topics: _containers.RepeatedScalarFieldContainer[str]
    data: str
    def __init__(self, topics: _Optional[_Iterable[str]] = ..., data: _Optional[str] = ...) -> None: ...

class ContractEvent(_message.Message):
    __slots__ = ("contract", "event", "signature", "block_number", "block_hash", "tx_hash", "tx_index", "log_index", "block_timestamp", "args", "raw", "historical")
    class ArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ArgValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ArgValue, _Mapping]] = ...) -> None: ...
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    TX_INDEX_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    HISTORICAL_FIELD_NUMBER: _ClassVar[int]
    contract: str
    event: str
    signature: str
    block_number: int
    block_hash: str
    tx_hash: str
    tx_index: int
    log_index: int
    block_timestamp: int
    args: _containers.MessageMap[str, ArgValue]
    raw: RawLog
    historical: bool
    def __init__(self, contract: _Optional[str] = ..., event: _Optional[str] = ..., signature: _Optional[str] = ..., block_number: _Optional[int] = ..., block_hash: _Optional[str] = ..., tx_hash: _Optional[str] = ..., tx_index: _Optional[int] = ..., log_index: _Optional[int] = ..., block_timestamp: _Optional[int] = ..., args: _Optional[_Mapping[str, ArgValue]] = ..., raw: _Optional[_Union[RawLog, _Mapping]] = ..., historical: _Optional[bool] = ...) -> None: ...

class RevertMarker(_message.Message):
    __slots__ = ("to_block", "orphaned_hashes", "orphaned_from", "orphaned_to")
    TO_BLOCK_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_HASHES_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_FROM_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_TO_FIELD_NUMBER: _ClassVar[int]
    to_block: int
    orphaned_hashes: _containers.RepeatedScalarFieldContainer[str]
    orphaned_from: int
    orphaned_to: int
    def __init__(self, to_block: _Optional[int] = ..., orphaned_hashes: _Optional[_Iterable[str]] = ..., orphaned_from: _Optional[int] = ..., orphaned_to: _Optional[int] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("block_number", "block_hash", "block_timestamp", "historical")
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    BLOCK_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    HISTORICAL_FIELD_NUMBER: _ClassVar[int]
    block_number: int
    block_hash: str
    block_timestamp: int
    historical: bool
    def __init__(self, block_number: _Optional[int] = ..., block_hash: _Optional[str] = ..., block_timestamp: _Optional[int] = ..., historical: _Optional[bool] = ...) -> None: ...

class EventEnvelope(_message.Message):
    __slots__ = ("version", "chain_id", "generation", "event", "revert", "progress")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REVERT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    version: int
    chain_id: int
    generation: int
    event: ContractEvent
    revert: RevertMarker
    progress: Progress
    def __init__(self, version: _Optional[int] = ..., chain_id: _Optional[int] = ..., generation: _Optional[int] = ..., event: _Optional[_Union[ContractEvent, _Mapping]] = ..., revert: _Optional[_Union[RevertMarker, _Mapping]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ...) -> None: ...
