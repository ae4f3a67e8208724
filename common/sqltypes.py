"""Exact integer columns for chain amounts (never floats).

- ``Amount``: sums that realistic supply bounds (balances, supply, stakes): DECIMAL(65,0) on
  MySQL/MariaDB (their maximum precision); values >= 10^65 are refused with AmountOverflow (an
  alarm, never a silent truncation). On SQLite, whose NUMERIC affinity would turn big integers
  into REAL, a zero-padded 65-digit string: exact, and ordered like the number.
- ``Uint256``: full-width values where 2^256-1 really occurs (allowances: "infinite approval"),
  a decimal string of up to 78 digits everywhere (VARCHAR(78)). Not used for ordering or sums.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

AMOUNT_LIMIT = 10**65
UINT256_MAX = 2**256 - 1


class AmountOverflow(ValueError):
    """An amount does not fit DECIMAL(65,0): refuse and alarm."""


def amount_column_type() -> sa.types.TypeEngine[Any]:
    """The migration-side type of an Amount column."""
    return sa.Numeric(65, 0).with_variant(sa.String(65), "sqlite")


class Amount(TypeDecorator[int]):
    impl = sa.Numeric(65, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(65))
        return dialect.type_descriptor(sa.Numeric(65, 0, asdecimal=True))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"amounts are ints, got {type(value).__name__}")
        if value < 0 or value >= AMOUNT_LIMIT:
            raise AmountOverflow(f"amount {value} outside [0, 10^65): refusing to store it")
        if dialect.name == "sqlite":
            return f"{value:065d}"
        # the int itself: the driver and common.db's literals write its digits, which MySQL
        # reads as an exact DECIMAL (a Decimal round trip cost a consumer ~1 us per amount)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        return int(value)


class Uint256(TypeDecorator[int]):
    impl = sa.String(78)
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
            raise ValueError(f"not a uint256: {value!r}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)
