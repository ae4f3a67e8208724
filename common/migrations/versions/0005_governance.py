"""Governance service: proposals (with the block of each transition, so a revert is exact),
votes (one per voter per proposal), delegation changes and current delegations, and the
checkpoints the governor's rules read in the past: delegates' votes, total supply, quorum
numerator.

Proposal ids are uint256 (hashes): VARCHAR(78). Weights and votes are DECIMAL(65,0).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from common.sqltypes import amount_column_type

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MYSQL = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}
LONG_TEXT = sa.Text(length=2**32 - 1)


def upgrade() -> None:
    op.create_table(
        "gov_proposals",
        sa.Column("id", sa.String(78), primary_key=True),
        sa.Column("proposer", sa.String(42), nullable=False),
        sa.Column("actions", LONG_TEXT, nullable=False),  # JSON: targets, values, sigs, calldatas
        sa.Column("description", LONG_TEXT, nullable=False),
        sa.Column("vote_start", sa.BigInteger, nullable=False),
        sa.Column("vote_end", sa.BigInteger, nullable=False),
        sa.Column("created_block", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("for_votes", amount_column_type(), nullable=False),
        sa.Column("against_votes", amount_column_type(), nullable=False),
        sa.Column("abstain_votes", amount_column_type(), nullable=False),
        sa.Column("canceled_block", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("queued_block", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("eta", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("executed_block", sa.BigInteger, nullable=False, server_default="0"),
        **MYSQL,
    )
    op.create_index("idx_gov_proposals_created", "gov_proposals", ["created_block"])
    op.create_table(
        "gov_votes",
        sa.Column("proposal_id", sa.String(78), primary_key=True),
        sa.Column("voter", sa.String(42), primary_key=True),
        sa.Column("support", sa.SmallInteger, nullable=False),
        sa.Column("weight", amount_column_type(), nullable=False),
        sa.Column("reason", LONG_TEXT, nullable=False),
        sa.Column("params", LONG_TEXT, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("log_index", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        **MYSQL,
    )
    op.create_index("idx_gov_votes_voter", "gov_votes", ["voter", "block_number"])
    op.create_index("idx_gov_votes_block", "gov_votes", ["block_number"])
    op.create_table(
        "gov_delegation_changes",
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("delegator", sa.String(42), nullable=False),
        sa.Column("from_delegate", sa.String(42), nullable=False),
        sa.Column("to_delegate", sa.String(42), nullable=False),
        **MYSQL,
    )
    op.create_index(
        "idx_gov_delegation_changes_delegator",
        "gov_delegation_changes",
        ["delegator", "block_number", "log_index"],
    )
    op.create_table(
        "gov_delegations",
        sa.Column("delegator", sa.String(42), primary_key=True),
        sa.Column("delegatee", sa.String(42), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        **MYSQL,
    )
    op.create_index("idx_gov_delegations_delegatee", "gov_delegations", ["delegatee"])
    op.create_table(
        "gov_vote_checkpoints",
        sa.Column("delegate", sa.String(42), primary_key=True),
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("votes", amount_column_type(), nullable=False),
        **MYSQL,
    )
    op.create_index("idx_gov_vote_checkpoints_block", "gov_vote_checkpoints", ["block_number"])
    for name, column in (
        ("gov_supply_checkpoints", sa.Column("total_supply", amount_column_type(), nullable=False)),
        ("gov_quorum_checkpoints", sa.Column("numerator", sa.BigInteger, nullable=False)),
    ):
        op.create_table(
            name,
            sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
            column,
            **MYSQL,
        )


def downgrade() -> None:
    for table in (
        "gov_quorum_checkpoints",
        "gov_supply_checkpoints",
        "gov_vote_checkpoints",
        "gov_delegations",
        "gov_delegation_changes",
        "gov_votes",
        "gov_proposals",
    ):
        op.drop_table(table)
