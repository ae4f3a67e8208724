"""Staking service: stakes, reward claims (with the stake times each claim moved, so a revert is
exact), per-user and global totals.

Seed defects fixed: the stake id is the contract's own id (not "user-blockNumber"); amounts are
DECIMAL(65,0) instead of DECIMAL(78,0); no `rewards` column accumulated on read: rewards owed are
computed from the stake and a block timestamp; times are block timestamps.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from common.sqltypes import amount_column_type

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "stakes",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("user", sa.String(42), nullable=False),
        sa.Column("amount", amount_column_type(), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("last_claim_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("unstaked_block", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        **MYSQL,
    )
    op.create_index("idx_stakes_user_status", "stakes", ["user", "status"])
    op.create_index("idx_stakes_status", "stakes", ["status", "id"])
    op.create_index("idx_stakes_block", "stakes", ["block_number"])
    op.create_table(
        "reward_claims",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("user", sa.String(42), nullable=False),
        sa.Column("amount", amount_column_type(), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_claims_user", "reward_claims", ["user", "block_number"])
    op.create_index("idx_claims_block", "reward_claims", ["block_number"])
    op.create_table(
        "claim_effects",
        sa.Column("claim_id", sa.String(80), primary_key=True),
        sa.Column("stake_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("prev_last_claim_time", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_claim_effects_block", "claim_effects", ["block_number"])
    op.create_table(
        "staking_user_totals",
        sa.Column("user", sa.String(42), primary_key=True),
        sa.Column("staked", amount_column_type(), nullable=False),
        sa.Column("claimed", amount_column_type(), nullable=False),
        sa.Column("active_stakes", sa.Integer, nullable=False),
        **MYSQL,
    )
    op.create_table(
        "staking_stats",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("total_staked", amount_column_type(), nullable=False),
        sa.Column("active_stakes", sa.Integer, nullable=False),
        sa.Column("last_block", sa.BigInteger, nullable=False),
        sa.Column("last_timestamp", sa.BigInteger, nullable=False),
        **MYSQL,
    )


def downgrade() -> None:
    for table in (
        "staking_stats",
        "staking_user_totals",
        "claim_effects",
        "reward_claims",
        "stakes",
    ):
        op.drop_table(table)
