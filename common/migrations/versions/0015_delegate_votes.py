"""Governance: every delegate's current votes, ranked.

``gov_vote_checkpoints`` holds a delegate's votes at each DelegateVotesChanged; a list of
delegates by voting power (GET /governance/delegates) needs each one's latest, in an index
ordered by it. The consumer keeps this table in the batch's transaction (the latest of each
delegate in the batch, upserted) and a revert recomputes the delegates it touched from the
checkpoints left. ``gov_stats.delegates`` counts those with votes, kept in the same
transactions, so a page does not count them (a COUNT(*) over 100,000 delegates took 14 ms
of a 16 ms page). Filled here from the checkpoints.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from common.sqltypes import Amount, amount_column_type

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gov_delegate_votes",
        sa.Column("delegate", sa.String(42), primary_key=True),
        sa.Column("votes", amount_column_type(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    # by votes, then address: a page (and the cursor after it) is read off this index
    op.create_index("idx_gov_delegate_votes_rank", "gov_delegate_votes", ["votes", "delegate"])
    op.execute(
        "INSERT INTO gov_delegate_votes (delegate, votes)"
        " SELECT c.delegate, c.votes FROM gov_vote_checkpoints c WHERE NOT EXISTS ("
        "  SELECT 1 FROM gov_vote_checkpoints l WHERE l.delegate = c.delegate"
        "  AND (l.block_number > c.block_number"
        "   OR (l.block_number = c.block_number AND l.log_index > c.log_index)))"
    )
    op.create_table(
        "gov_stats",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("delegates", sa.BigInteger, nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )
    # an Amount's 0 as the dialect stores it (SQLite: 65 digits of text, which compare with
    # a bare 0 as text)
    ranked = sa.table("gov_delegate_votes", sa.column("votes", Amount))
    with_votes = sa.select(sa.func.count()).select_from(ranked).where(ranked.c.votes > 0)
    delegates = with_votes.scalar_subquery()
    op.execute(
        sa.table("gov_stats", sa.column("id"), sa.column("delegates"))
        .insert()
        .values(id=1, delegates=delegates)
    )


def downgrade() -> None:
    op.drop_table("gov_stats")
    op.drop_table("gov_delegate_votes")
