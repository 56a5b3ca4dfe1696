"""missing_policy: how a missing or N/A score counts in a decision's totals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:00:00

- ``decision.missing_policy``: ``skip`` (left out, weights rescaled: the rule so far, which
  existing decisions keep), ``midpoint`` or ``worst``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "decision",
        sa.Column("missing_policy", sa.String(length=16), nullable=False, server_default="skip"),
    )


def downgrade() -> None:
    with op.batch_alter_table("decision") as batch:  # SQLite rebuilds the table to drop a column
        batch.drop_column("missing_policy")
