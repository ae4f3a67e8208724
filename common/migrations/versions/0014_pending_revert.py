"""Block sync: a revert is recorded before its marker is published.

``sync_state.revert_to`` holds the block a revert (a reorg's, or `nova rewind`'s) goes back
to, written with its new fork generation before the revert marker is published and cleared
by the transaction that deletes the rows above it and moves the checkpoint. A sync that died
in between finds it on start and completes the revert (the marker again, then the rows),
instead of going on from the old checkpoint in the new generation: the consumers, which had
undone everything above the block, would have received nothing of it again.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sync_state", sa.Column("revert_to", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("revert_to")
