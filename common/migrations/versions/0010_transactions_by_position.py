"""The block sync's ``transactions`` keyed by chain position (block_number, tx_index), with the
hash as a unique secondary key.

The table only holds canonical rows (a revert deletes every row above the common ancestor with
the checkpoint), so the position is unique; as the clustered key it makes the backfill's
inserts appends instead of inserts at random places (a transaction hash is random), as 0007 did
for ``logs`` and 0009 for the token service's events. Reads by hash use the unique key; reads and
reverts by block use the clustered one, so the by-block index is gone. Measured on MariaDB,
300,000 rows in batches of 500: 16.8 s of server CPU keyed by hash, 4.5 s by position.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
COLUMNS = (
    "hash, block_number, block_hash, from_address, to_address, value, gas, gas_price, input, "
    "status, tx_index"
)


def _rebuild(key: tuple[str, ...]) -> None:
    # portable (MySQL and SQLite): build the new table, copy, swap; indexes after the swap
    # (SQLite's index names are global)
    op.create_table(
        "transactions_next",
        sa.Column("hash", sa.String(66), nullable=False),
        sa.Column(
            "block_number",
            sa.BigInteger,
            sa.ForeignKey("blocks.number", ondelete="CASCADE"),
            nullable=False,
            autoincrement=False,
        ),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("from_address", sa.String(42), nullable=False),
        sa.Column("to_address", sa.String(42), nullable=True),
        sa.Column("value", sa.String(78), nullable=False),
        sa.Column("gas", sa.BigInteger, nullable=False),
        sa.Column("gas_price", sa.String(78), nullable=False),
        sa.Column("input", sa.LargeBinary(length=2**32 - 1), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("tx_index", sa.Integer, nullable=False, autoincrement=False),
        sa.PrimaryKeyConstraint(*key),
        **MYSQL,
    )
    op.execute(
        f"INSERT INTO transactions_next ({COLUMNS}) SELECT {COLUMNS} FROM transactions"  # noqa: S608
    )
    op.drop_table("transactions")
    op.rename_table("transactions_next", "transactions")
    op.create_index("idx_tx_from", "transactions", ["from_address"])
    op.create_index("idx_tx_to", "transactions", ["to_address"])


def upgrade() -> None:
    _rebuild(("block_number", "tx_index"))
    op.create_index("uq_tx_hash", "transactions", ["hash"], unique=True)


def downgrade() -> None:
    _rebuild(("hash",))
    op.create_index("idx_tx_block", "transactions", ["block_number"])
