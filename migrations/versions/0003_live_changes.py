"""live changes: each decision's change number, shared group views, scores by analyst

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:45:00

- ``decision_change``: counters per decision, raised by every transaction that records
  a revision of it (and, for changes to more than scores, its structure number); live pages
  poll with them. Existing decisions start at their latest
  revision id, so a page opened before the upgrade sees one change and refreshes.
- ``group_view_cache``: computed group views shared by every worker (when no Redis is set).
- ``ix_score_round_analyst`` (round_id, analyst_id): one analyst's scores of a round.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_change",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("structure_number", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("decision_id"),
    )
    op.execute(
        "INSERT INTO decision_change (decision_id, number, structure_number) "
        "SELECT d.id, COALESCE((SELECT MAX(r.id) FROM revision r WHERE r.decision_id = d.id), 0), "
        "0 FROM decision d"
    )
    op.create_table(
        "group_view_cache",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("change_number", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_group_view_cache_decision",
        "group_view_cache",
        ["decision_id", "change_number"],
        unique=False,
    )
    op.create_index("ix_score_round_analyst", "score", ["round_id", "analyst_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_score_round_analyst", table_name="score")
    op.drop_index("ix_group_view_cache_decision", table_name="group_view_cache")
    op.drop_table("group_view_cache")
    op.drop_table("decision_change")
