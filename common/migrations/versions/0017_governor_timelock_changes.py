"""Governance: the governor's timelock by block, and which timelock each proposal was queued on.

OpenZeppelin's GovernorTimelockControl asks its *current* timelock about a queued proposal's
operation. After ``updateTimelock`` (event ``TimelockChange``) a proposal queued on the former
timelock reads Canceled, also one executed or cancelled there directly, until the governor
moves back. The consumer keeps the governor's ``TimelockChange`` events
(``gov_timelock_changes``; the constructor emits the first), the timelock a proposal was queued
on (``queued_on``) and whether it was executed or cancelled on that timelock only, with no
governor event (``by_timelock``): such an outcome holds only while the governor's timelock is
that one.

Rows from before this migration: ``queued_on`` is "" (the timelock before the first change the
index holds), and a proposal executed or cancelled on the timelock directly counts as done
through the governor (the two were one column): after a later change it stays Executed here
where ``state()`` says Canceled, until the index is rebuilt (``nova verify governance`` reports
it). The governor's earlier ``TimelockChange`` events were not kept; while none is, every
proposal is taken as queued on the one timelock known.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gov_proposals") as batch:
        batch.add_column(sa.Column("queued_on", sa.String(42), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("by_timelock", sa.Boolean, nullable=False, server_default=sa.false())
        )
    op.create_table(
        "gov_timelock_changes",
        sa.Column("block_number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("old_timelock", sa.String(42), nullable=False),
        sa.Column("new_timelock", sa.String(42), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("gov_timelock_changes")
    with op.batch_alter_table("gov_proposals") as batch:
        batch.drop_column("by_timelock")
        batch.drop_column("queued_on")
