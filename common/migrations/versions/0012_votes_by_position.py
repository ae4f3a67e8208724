"""Governance: votes paged by their chain position, per proposal and per voter.

A proposal's votes and a voter's are listed in chain order (block, log index), and pages
continue by cursor after the last vote's position. The proposal's votes had no index in
that order (its key is (proposal_id, voter)), so every page sorted all of them; the voter's
index stopped at the block. Both indexes end with the position now, so a page is read off
the index from where the cursor points.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "idx_gov_votes_proposal_position",
        "gov_votes",
        ["proposal_id", "block_number", "log_index"],
    )
    op.create_index(
        "idx_gov_votes_voter_position", "gov_votes", ["voter", "block_number", "log_index"]
    )
    op.drop_index("idx_gov_votes_voter", table_name="gov_votes")


def downgrade() -> None:
    op.create_index("idx_gov_votes_voter", "gov_votes", ["voter", "block_number"])
    op.drop_index("idx_gov_votes_voter_position", table_name="gov_votes")
    op.drop_index("idx_gov_votes_proposal_position", table_name="gov_votes")
