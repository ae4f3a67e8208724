"""Chain data of the block sync service: blocks, transactions, logs and the sync state.

Fixes to the seed schema: block numbers never auto-increment (block 0 stores as 0); wei values
that can reach 2^256-1 (tx value, gas price) are VARCHAR(78) decimal strings, since neither
MySQL nor MariaDB accepts DECIMAL(78,0); log identity is (block_hash, log_index), topic0..3 are
their own indexed columns instead of the MySQL-8-only multi-valued JSON index; times are unix
seconds from block headers (BIGINT), never the wall clock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(66), nullable=False, unique=True),
        sa.Column("parent_hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("gas_used", sa.BigInteger, nullable=False),
        sa.Column("gas_limit", sa.BigInteger, nullable=False),
        sa.Column("miner", sa.String(42), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("log_count", sa.Integer, nullable=False, server_default="0"),
        **MYSQL,
    )
    op.create_index("idx_blocks_timestamp", "blocks", ["timestamp"])
    op.create_table(
        "transactions",
        sa.Column("hash", sa.String(66), primary_key=True),
        sa.Column(
            "block_number",
            sa.BigInteger,
            sa.ForeignKey("blocks.number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("from_address", sa.String(42), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=True),
        sa.Column("value", sa.String(78), nullable=False),
        sa.Column("gas", sa.BigInteger, nullable=False),
        sa.Column("gas_price", sa.String(78), nullable=False),
        sa.Column("input", sa.LargeBinary(length=2**32 - 1), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_tx_block", "transactions", ["block_number"])
    op.create_index("idx_tx_from", "transactions", ["from_address"])
    op.create_index("idx_tx_to", "transactions", ["to_address"])
    op.create_table(
        "logs",
        sa.Column("block_hash", sa.String(66), primary_key=True),
        sa.Column("log_index", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(
            "block_number",
            sa.BigInteger,
            sa.ForeignKey("blocks.number", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("topic0", sa.String(66), nullable=True),
        sa.Column("topic1", sa.String(66), nullable=True),
        sa.Column("topic2", sa.String(66), nullable=True),
        sa.Column("topic3", sa.String(66), nullable=True),
        sa.Column("data", sa.Text(length=2**32 - 1), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False, server_default=sa.false()),
        **MYSQL,
    )
    op.create_index("idx_logs_block", "logs", ["block_number", "log_index"])
    op.create_index("idx_logs_address_block", "logs", ["address", "block_number"])
    op.create_index("idx_logs_topic0_block", "logs", ["topic0", "block_number"])
    op.create_index("idx_logs_tx", "logs", ["tx_hash"])
    op.create_table(
        "sync_state",
        sa.Column("chain_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("synced_block", sa.BigInteger, nullable=False),
        sa.Column("synced_hash", sa.String(66), nullable=False),
        sa.Column("head_block", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("epoch", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("alarm", sa.Text, nullable=True),
        sa.Column("last_reorg_block", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_reorg_depth", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_reorg_at", sa.BigInteger, nullable=False, server_default="0"),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("sync_state")
    op.drop_table("logs")
    op.drop_table("transactions")
    op.drop_table("blocks")
