"""Input validation shared by gRPC servicers and the gateway: one place says what is valid."""

from __future__ import annotations

import base64
import re
import string
from dataclasses import dataclass
from typing import Generic, TypeVar

from eth_hash.auto import keccak

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
MAX_BLOCK = 2**63 - 1
# how deep a list pages by offset: an offset costs the rows it skips (transfers: 0.45 s at
# 500,000 on MariaDB; active stakes 84 ms at 90,000), so a request's cost is bounded here;
# the cursor reaches any depth at the cost of a first page
MAX_OFFSET = 10_000
T = TypeVar("T")


def is_decimal(text: str) -> bool:
    """A non-negative integer in ASCII decimal digits. ``str.isdigit`` alone also takes other
    scripts' digits and superscripts, which ``int`` then reads ("٣" is 3) or refuses ("¹")."""
    return text.isascii() and text.isdigit()


class InvalidInput(ValueError):
    """Bad input; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class BadCursor(InvalidInput):
    """A ``cursor`` that is not a ``next_cursor`` this list gave out."""

    def __init__(self, cursor: str) -> None:
        super().__init__("cursor", f"malformed cursor {cursor!r}")


class OutOfRange(ValueError):
    """A well-formed block outside what the index can answer for, e.g. above what it holds
    yet (gRPC OUT_OF_RANGE; the verifiers' exit code 2)."""


def address(value: str, field: str = "address") -> str:
    """0x + 40 hex; a mixed-case address must carry a valid EIP-55 checksum. Returns EIP-55."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise InvalidInput(field, f"not an address (0x + 40 hex digits): {value!r}")
    body = value[2:]
    checksummed = checksum(body)
    if body != checksummed[2:] and body != body.lower() and body != body.upper():
        raise InvalidInput(field, f"bad EIP-55 checksum: {value!r}")
    return checksummed


def checksum(body: str) -> str:
    """EIP-55 of 40 hex digits: a letter is upper case where the keccak of the lower-case hex
    has a nibble >= 8. (eth_utils does the same; importing it cost each process ~40 ms.)"""
    lower = body.lower()
    digest = keccak(lower.encode()).hex()
    return "0x" + "".join(
        c.upper() if d in "89abcdef" else c for c, d in zip(lower, digest[:40], strict=True)
    )


def tx_hash(value: str, field: str = "hash") -> str:
    if not isinstance(value, str) or not _HASH.match(value):
        raise InvalidInput(field, f"not a 32-byte hash (0x + 64 hex digits): {value!r}")
    return value.lower()


def block_number(value: int, field: str = "block_number") -> int:
    if value < 0 or value > MAX_BLOCK:
        raise InvalidInput(field, f"block number out of range: {value}")
    return value


def make_cursor(*fields: object) -> str:
    """An opaque page cursor: where a page ended, as its fields joined in URL-safe base64."""
    return base64.urlsafe_b64encode(":".join(map(str, fields)).encode()).decode()


def cursor_fields(cursor: str, count: int) -> list[str]:
    """The ``count`` fields of a :func:`make_cursor` cursor; BadCursor when it is not one."""
    try:
        fields = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
    except ValueError as exc:  # bad base64 or not UTF-8
        raise BadCursor(cursor) from exc
    if len(fields) != count:
        raise BadCursor(cursor)
    return fields


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of a keyset-paged list: ``next_cursor`` continues after it ("" on the last)."""

    items: list[T]
    total: int
    next_cursor: str


def position_cursor(cursor: str) -> tuple[int, int]:
    """A (block number, log index) cursor's position; BadCursor when it is not one."""
    block, log_index = cursor_fields(cursor, 2)
    if not (is_bigint(block) and is_bigint(log_index)):
        raise BadCursor(cursor)
    return int(block), int(log_index)


def ranked_cursor(cursor: str) -> tuple[int, str]:
    """The (amount, address) a page ranked by an amount ended at (holders by balance,
    delegates by votes; made by ``make_cursor(amount, address)``); BadCursor when it is not
    one."""
    amount, address = cursor_fields(cursor, 2)
    if not (is_decimal(amount) and len(amount) <= 65 and _is_address(address)):
        raise BadCursor(cursor)
    return int(amount), address


def address_cursor(cursor: str) -> str:
    """The address a page listed by address ended at (``make_cursor(address)``)."""
    (address,) = cursor_fields(cursor, 1)
    if not _is_address(address):
        raise BadCursor(cursor)
    return address


def _is_address(text: str) -> bool:
    return len(text) == 42 and text[:2] == "0x" and all(c in string.hexdigits for c in text[2:])


def is_bigint(text: str) -> bool:
    """Decimal digits of a number a signed 64-bit column holds (a cursor's position: a larger
    one would overflow SQLite's integers, a server error instead of a bad cursor)."""
    return is_decimal(text) and len(text) <= 19 and int(text) <= MAX_BLOCK


def paging(
    limit: int, offset: int, default: int = 100, maximum: int = 1000, *, cursor: bool = True
) -> tuple[int, int]:
    """(limit, offset) of a page request: 0 < limit <= ``maximum`` (0 = ``default``) and an
    offset up to :data:`MAX_OFFSET`; a list with a ``cursor`` says to page further by it."""
    if limit < 0:
        raise InvalidInput("limit", f"must be >= 0, got {limit}")
    if offset < 0:
        raise InvalidInput("offset", f"must be >= 0, got {offset}")
    if limit > maximum:
        raise InvalidInput("limit", f"must be <= {maximum}, got {limit}")
    if offset > MAX_OFFSET:
        further = ": page further with next_cursor" if cursor else ""
        raise InvalidInput("offset", f"must be <= {MAX_OFFSET:,}, got {offset}{further}")
    return (limit or default), offset
