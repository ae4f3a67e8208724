from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(_message.Message):
    __slots__ = ("target", "value", "calldata", "signature")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CALLDATA_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    target: str
    value: str
    calldata: str
    signature: str
    def __init__(self, target: _Optional[str] = ..., value: _Optional[str] = ..., calldata: _Optional[str] = ..., signature: _Optional[str] = ...) -> None: ...

class Proposal(_message.Message):
    __slots__ = ("id", "proposer", "actions", "description", "vote_start", "vote_end", "for_votes", "against_votes", "abstain_votes", "state", "created_block", "quorum", "eta", "state_at_block", "timelock_id", "timelock")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VOTE_START_FIELD_NUMBER: _ClassVar[int]
    VOTE_END_FIELD_NUMBER: _ClassVar[int]
    FOR_VOTES_FIELD_NUMBER: _ClassVar[int]
    AGAINST_VOTES_FIELD_NUMBER: _ClassVar[int]
    ABSTAIN_VOTES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATED_BLOCK_FIELD_NUMBER: _ClassVar[int]
    QUORUM_FIELD_NUMBER: _ClassVar[int]
    ETA_FIELD_NUMBER: _ClassVar[int]
    STATE_AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    TIMELOCK_ID_FIELD_NUMBER: _ClassVar[int]
    TIMELOCK_FIELD_NUMBER: _ClassVar[int]
    id: str
    proposer: str
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    description: str
    vote_start: int
    vote_end: int
    for_votes: str
    against_votes: str
    abstain_votes: str
    state: str
    created_block: int
    quorum: str
    eta: int
    state_at_block: int
    timelock_id: str
    timelock: str
    def __init__(self, id: _Optional[str] = ..., proposer: _Optional[str] = ..., actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., description: _Optional[str] = ..., vote_start: _Optional[int] = ..., vote_end: _Optional[int] = ..., for_votes: _Optional[str] = ..., against_votes: _Optional[str] = ..., abstain_votes: _Optional[str] = ..., state: _Optional[str] = ..., created_block: _Optional[int] = ..., quorum: _Optional[str] = ..., eta: _Optional[int] = ..., state_at_block: _Optional[int] = ..., timelock_id: _Optional[str] = ..., timelock: _Optional[str] = ...) -> None: ...

class ListProposalsRequest(_message.Message):
    __slots__ = ("state", "limit", "offset")
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    state: str
    limit: int
    offset: int
    def __init__(self, state: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListProposalsResponse(_message.Message):
    __slots__ = ("proposals", "total")
    PROPOSALS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    proposals: _containers.RepeatedCompositeFieldContainer[Proposal]
    total: int
    def __init__(self, proposals: _Optional[_Iterable[_Union[Proposal, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetProposalRequest(_message.Message):
    __slots__ = ("id", "at_block")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    id: str
    at_block: int
    def __init__(self, id: _Optional[str] = ..., at_block: _Optional[int] = ...) -> None: ...

class GetProposalResponse(_message.Message):
    __slots__ = ("proposal",)
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    proposal: Proposal
    def __init__(self, proposal: _Optional[_Union[Proposal, _Mapping]] = ...) -> None: ...

class Vote(_message.Message):
    __slots__ = ("proposal_id", "voter", "support", "weight", "reason", "block_number", "tx_hash")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    VOTER_FIELD_NUMBER: _ClassVar[int]
    SUPPORT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    voter: str
    support: int
    weight: str
    reason: str
    block_number: int
    tx_hash: str
    def __init__(self, proposal_id: _Optional[str] = ..., voter: _Optional[str] = ..., support: _Optional[int] = ..., weight: _Optional[str] = ..., reason: _Optional[str] = ..., block_number: _Optional[int] = ..., tx_hash: _Optional[str] = ...) -> None: ...

class GetVotesRequest(_message.Message):
    __slots__ = ("proposal_id", "limit", "offset", "cursor")
    PROPOSAL_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    proposal_id: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, proposal_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetVotesResponse(_message.Message):
    __slots__ = ("votes", "total", "next_cursor")
    VOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    total: int
    next_cursor: str
    def __init__(self, votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetVoterRequest(_message.Message):
    __slots__ = ("address", "limit", "offset", "cursor")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    address: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, address: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetVoterResponse(_message.Message):
    __slots__ = ("votes", "total", "next_cursor")
    VOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    votes: _containers.RepeatedCompositeFieldContainer[Vote]
    total: int
    next_cursor: str
    def __init__(self, votes: _Optional[_Iterable[_Union[Vote, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class GetDelegateRequest(_message.Message):
    __slots__ = ("address", "at_block")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    address: str
    at_block: int
    def __init__(self, address: _Optional[str] = ..., at_block: _Optional[int] = ...) -> None: ...

class GetDelegateResponse(_message.Message):
    __slots__ = ("address", "votes", "votes_at_block", "at_block", "delegators", "delegatee", "delegators_total")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    VOTES_AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    AT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    DELEGATORS_FIELD_NUMBER: _ClassVar[int]
    DELEGATEE_FIELD_NUMBER: _ClassVar[int]
    DELEGATORS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    address: str
    votes: str
    votes_at_block: str
    at_block: int
    delegators: _containers.RepeatedScalarFieldContainer[str]
    delegatee: str
    delegators_total: int
    def __init__(self, address: _Optional[str] = ..., votes: _Optional[str] = ..., votes_at_block: _Optional[str] = ..., at_block: _Optional[int] = ..., delegators: _Optional[_Iterable[str]] = ..., delegatee: _Optional[str] = ..., delegators_total: _Optional[int] = ...) -> None: ...

class ListDelegatesRequest(_message.Message):
    __slots__ = ("limit", "offset", "cursor")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    cursor: str
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class RankedDelegate(_message.Message):
    __slots__ = ("address", "votes")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    address: str
    votes: str
    def __init__(self, address: _Optional[str] = ..., votes: _Optional[str] = ...) -> None: ...

class ListDelegatesResponse(_message.Message):
    __slots__ = ("delegates", "total", "next_cursor", "block_number")
    DELEGATES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    delegates: _containers.RepeatedCompositeFieldContainer[RankedDelegate]
    total: int
    next_cursor: str
    block_number: int
    def __init__(self, delegates: _Optional[_Iterable[_Union[RankedDelegate, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...

class ListDelegatorsRequest(_message.Message):
    __slots__ = ("address", "limit", "offset", "cursor")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    address: str
    limit: int
    offset: int
    cursor: str
    def __init__(self, address: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., cursor: _Optional[str] = ...) -> None: ...

class Delegator(_message.Message):
    __slots__ = ("address", "since_block")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SINCE_BLOCK_FIELD_NUMBER: _ClassVar[int]
    address: str
    since_block: int
    def __init__(self, address: _Optional[str] = ..., since_block: _Optional[int] = ...) -> None: ...

class ListDelegatorsResponse(_message.Message):
    __slots__ = ("delegators", "total", "next_cursor", "block_number")
    DELEGATORS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BLOCK_NUMBER_FIELD_NUMBER: _ClassVar[int]
    delegators: _containers.RepeatedCompositeFieldContainer[Delegator]
    total: int
    next_cursor: str
    block_number: int
    def __init__(self, delegators: _Optional[_Iterable[_Union[Delegator, _Mapping]]] = ..., total: _Optional[int] = ..., next_cursor: _Optional[str] = ..., block_number: _Optional[int] = ...) -> None: ...
