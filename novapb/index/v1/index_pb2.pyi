from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetIndexStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetIndexStatusResponse(_message.Message):
    __slots__ = ("domain", "applied_through", "running", "events_applied", "duplicates_dropped", "reverts_applied", "error")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    APPLIED_THROUGH_FIELD_NUMBER: _ClassVar[int]
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    EVENTS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    REVERTS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    domain: str
    applied_through: int
    running: bool
    events_applied: int
    duplicates_dropped: int
    reverts_applied: int
    error: str
    def __init__(self, domain: _Optional[str] = ..., applied_through: _Optional[int] = ..., running: _Optional[bool] = ..., events_applied: _Optional[int] = ..., duplicates_dropped: _Optional[int] = ..., reverts_applied: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...
