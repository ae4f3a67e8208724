"""Fork generation: the block sync counts the reorgs it reverted (sync_state.generation) and
stamps every published record with it; each consumer keeps the generation of its position
(consumer_marks.generation), so a replayed record from an older fork, a revert marker among
them, is recognised and dropped instead of rewinding the state.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("sync_state", "consumer_marks"):
        op.add_column(
            table, sa.Column("generation", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    for table in ("consumer_marks", "sync_state"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("generation")
