"""history indexes: revisions by entity, by kind, by criterion and by time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00

- ``ix_revision_entity`` (decision_id, entity, entity_id, id): the "as of" reconstruction
  picks each entity's latest revision up to N from this index alone.
- ``ix_revision_kind`` (decision_id, entity, id): the feed filtered by kind, newest first.
- ``ix_revision_criterion`` (criterion_id, id): the feed filtered by criterion.
- ``ix_revision_created`` (decision_id, created_at): "as of" a date and time.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_revision_entity": ["decision_id", "entity", "entity_id", "id"],
    "ix_revision_kind": ["decision_id", "entity", "id"],
    "ix_revision_criterion": ["criterion_id", "id"],
    "ix_revision_created": ["decision_id", "created_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "revision", columns, unique=False)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="revision")
