from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyTransferRequest(_message.Message):
    __slots__ = ("tx_hash", "to", "value", "min_confirmations")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: str
    to: str
    value: str
    min_confirmations: int
    def __init__(self, tx_hash: _Optional[str] = ..., to: _Optional[str] = ..., value: _Optional[str] = ..., min_confirmations: _Optional[int] = ..., **kwargs) -> None: ...

class VerifyContractCallRequest(_message.Message):
    __slots__ = ("tx_hash", "contract", "method", "min_confirmations")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: str
    contract: str
    method: str
    min_confirmations: int
    def __init__(self, tx_hash: _Optional[str] = ..., contract: _Optional[str] = ..., method: _Optional[str] = ..., min_confirmations: _Optional[int] = ...) -> None: ...

class VerifySenderRequest(_message.Message):
    __slots__ = ("tx_hash", "expected_address", "min_confirmations")
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    tx_hash: str
    expected_address: str
    min_confirmations: int
    def __init__(self, tx_hash: _Optional[str] = ..., expected_address: _Optional[str] = ..., min_confirmations: _Optional[int] = ...) -> None: ...

class Mismatch(_message.Message):
    __slots__ = ("field", "expected", "actual")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    field: str
    expected: str
    actual: str
    def __init__(self, field: _Optional[str] = ..., expected: _Optional[str] = ..., actual: _Optional[str] = ...) -> None: ...

class TxVerdict(_message.Message):
    __slots__ = ("verdict", "reasons", "block_number", "block_hash", "confirmations", "log_index", "mismatches", "final")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    verdict: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    block_number: int
    block_hash: str
    confirmations: int
    log_index: int
    mismatches: _containers.RepeatedCompositeFieldContainer[Mismatch]
    final: bool
    def __init__(self, verdict: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., block_number: _Optional[int] = ..., block_hash: _Optional[str] = ..., confirmations: _Optional[int] = ..., log_index: _Optional[int] = ..., mismatches: _Optional[_Iterable[_Union[Mismatch, _Mapping]]] = ..., final: _Optional[bool] = ...) -> None: ...

class VerifyMessageSignatureRequest(_message.Message):
    __slots__ = ("address", "message", "message_hex", "typed_data_json", "signature")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_HEX_FIELD_NUMBER: _ClassVar[int]
    TYPED_DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    address: str
    message: str
    message_hex: str
    typed_data_json: str
    signature: str
    def __init__(self, address: _Optional[str] = ..., message: _Optional[str] = ..., message_hex: _Optional[str] = ..., typed_data_json: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class SignatureVerdict(_message.Message):
    __slots__ = ("valid", "method", "recovered", "reason")
    VALID_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    RECOVERED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    method: str
    recovered: str
    reason: str
    def __init__(self, valid: _Optional[bool] = ..., method: _Optional[str] = ..., recovered: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
