"""Governance: the timelock operation each queued proposal is.

OpenZeppelin's GovernorTimelockControl queues a proposal as a TimelockController operation,
and its ``state()`` follows that operation: executed on the timelock directly (anyone may,
when the executor role is open, as NovaTimelock's is) the proposal is Executed, cancelled
there it is Canceled, with no governor event. The consumer records the operation id when
the proposal is queued (``timelock_id``, 0x-hex) and finds the proposal by it when the
timelock emits ``CallExecuted`` or ``Cancelled``.

Proposals queued before this migration have no id: the timelock events of their operations
were not applied, so a proposal executed on the timelock directly before it stays Queued
here until the index is rebuilt (``nova verify governance`` reports the drift).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gov_proposals") as batch:
        batch.add_column(sa.Column("timelock_id", sa.String(66), nullable=False, server_default=""))
    op.create_index("idx_gov_proposals_timelock_id", "gov_proposals", ["timelock_id"])


def downgrade() -> None:
    op.drop_index("idx_gov_proposals_timelock_id", table_name="gov_proposals")
    with op.batch_alter_table("gov_proposals") as batch:
        batch.drop_column("timelock_id")
