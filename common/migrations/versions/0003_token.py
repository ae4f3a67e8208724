"""Token service: balances, transfers, approvals, mint/burn records, stats; consumer marks.

Seed defects fixed: transfer identity is (tx_hash, log_index), not a UNIQUE tx hash; amounts are
DECIMAL(65,0) (balances/supply; refused above 10^65) or VARCHAR(78) (allowances, where
2^256-1 occurs) instead of the DECIMAL(78,0) no MySQL accepts; times are block timestamps.
``consumer_marks`` holds each consumer's last applied event position, to drop re-published
duplicates in the same transaction as the effects.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from common.sqltypes import amount_column_type

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "consumer_marks",
        sa.Column("consumer_group", sa.String(128), primary_key=True),
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("log_index", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "token_balances",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("balance", amount_column_type(), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_balances_balance", "token_balances", ["balance"])
    op.create_table(
        "transfers",
        sa.Column("tx_hash", sa.String(66), primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("from_address", sa.String(42), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=False),
        sa.Column("value", amount_column_type(), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_transfers_block", "transfers", ["block_number", "log_index"])
    op.create_index("idx_transfers_from", "transfers", ["from_address", "block_number"])
    op.create_index("idx_transfers_to", "transfers", ["to_address", "block_number"])
    op.create_table(
        "approvals",
        sa.Column("tx_hash", sa.String(66), primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("owner", sa.String(42), nullable=False),
        sa.Column("spender", sa.String(42), nullable=False),
        sa.Column("value", sa.String(78), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_approvals_pair", "approvals", ["owner", "spender", "block_number"])
    op.create_index("idx_approvals_block", "approvals", ["block_number"])
    op.create_table(
        "token_supply_events",
        sa.Column("tx_hash", sa.String(66), primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("amount", amount_column_type(), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_supply_events_block", "token_supply_events", ["block_number"])
    op.create_table(
        "token_stats",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("minted", amount_column_type(), nullable=False),
        sa.Column("burned", amount_column_type(), nullable=False),
        sa.Column("holders", sa.BigInteger, nullable=False),
        sa.Column("last_block", sa.BigInteger, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    for table in (
        "token_stats",
        "token_supply_events",
        "approvals",
        "transfers",
        "token_balances",
        "consumer_marks",
    ):
        op.drop_table(table)
