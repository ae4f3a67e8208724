"""Staking: stakes indexed by the block they were unstaked in.

The total staked at a past block (GetTotalStaked at_block) is the total now, less the
stakes made above it that are still active, plus those made at or below it and unstaked
above it: the last is read by this index (the first by ``idx_stakes_block``). A revert
reactivates the stakes unstaked above its block by it too (a scan of every stake before).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("idx_stakes_unstaked_block", "stakes", ["unstaked_block"])


def downgrade() -> None:
    op.drop_index("idx_stakes_unstaked_block", table_name="stakes")
