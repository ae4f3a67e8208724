"""The token service's event tables keyed by chain position: transfers, approvals and supply
events by (block_number, log_index) instead of (tx_hash, log_index).

As with the block sync's ``logs`` (0007): these tables only hold canonical rows (a revert
deletes every row above the common ancestor in the transaction that moves the consumer's
position back), so the position is unique, and as the clustered key it makes inserts appends
instead of inserts at random places (a transaction hash is random). The by-block indexes the
key now serves are gone. Measured on MariaDB, 600,000 transfer rows in batches of 2,500:
26.0 s of server CPU keyed by hash, 6.6 s by position.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from common.sqltypes import amount_column_type

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _transfers() -> list[sa.Column[object]]:
    return [
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("from_address", sa.String(42), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=False),
        sa.Column("value", amount_column_type(), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    ]


def _approvals() -> list[sa.Column[object]]:
    return [
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("block_number", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("owner", sa.String(42), nullable=False),
        sa.Column("spender", sa.String(42), nullable=False),
        sa.Column("value", sa.String(78), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    ]


def _supply_events() -> list[sa.Column[object]]:
    return [
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("amount", amount_column_type(), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    ]


# table -> (columns, its indexes besides the key)
TABLES: dict[str, tuple[Callable[[], list[sa.Column[object]]], dict[str, list[str]]]] = {
    "transfers": (
        _transfers,
        {
            "idx_transfers_from": ["from_address", "block_number"],
            "idx_transfers_to": ["to_address", "block_number"],
        },
    ),
    "approvals": (_approvals, {"idx_approvals_pair": ["owner", "spender", "block_number"]}),
    "token_supply_events": (_supply_events, {}),
}
BY_BLOCK = {  # the indexes a key by hash needs for reading and reverting by block
    "transfers": ("idx_transfers_block", ["block_number", "log_index"]),
    "approvals": ("idx_approvals_block", ["block_number"]),
    "token_supply_events": ("idx_supply_events_block", ["block_number"]),
}


def _rekey(name: str, key: tuple[str, str], by_block_index: bool) -> None:
    # portable (MySQL and SQLite): build the new table, copy, swap; indexes after the swap
    # (SQLite's index names are global)
    columns, indexes = TABLES[name]
    cols = columns()
    names = ", ".join(c.name for c in cols)
    op.create_table(f"{name}_next", *cols, sa.PrimaryKeyConstraint(*key), **MYSQL)
    op.execute(f"INSERT INTO {name}_next ({names}) SELECT {names} FROM {name}")  # noqa: S608
    op.drop_table(name)
    op.rename_table(f"{name}_next", name)
    for index, on in indexes.items():
        op.create_index(index, name, on)
    if by_block_index:
        op.create_index(BY_BLOCK[name][0], name, BY_BLOCK[name][1])


def upgrade() -> None:
    for name in TABLES:
        _rekey(name, ("block_number", "log_index"), by_block_index=False)


def downgrade() -> None:
    for name in TABLES:
        _rekey(name, ("tx_hash", "log_index"), by_block_index=True)
