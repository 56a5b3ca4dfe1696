"""facilitation_and_memo: lifecycle, anchors, paper, Word copies, comments, notifications

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 12:30:00

- ``user_account.email``: where links and notifications may be sent (optional).
- ``decision.paper`` (``letter``, the default, or ``a4``), ``decision.archived`` (hidden
  from home pages, restorable) and ``decision.deleted`` (a removed draft).
- ``criterion.status`` (``active`` or ``retired``) and ``criterion.anchors`` (verbal
  anchors for the scale points; empty: the defaults for the criterion's direction).
- ``memo.number`` (counted per decision; existing memos numbered in issue order),
  ``memo.docx`` and ``memo.docx_sha256`` (the Word copy).
- ``comment``: discussion threads per cell and per option; append-only (database triggers
  refuse UPDATE and DELETE).
- ``notification``: what a member should know, read or not, emailed or not.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COMMENTS = "Comments are append-only"
MEMOS = "Issued memos cannot be changed or deleted"


def upgrade() -> None:
    op.add_column("user_account", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column(
        "decision",
        sa.Column("paper", sa.String(length=16), nullable=False, server_default="letter"),
    )
    op.add_column(
        "decision",
        sa.Column("archived", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "decision",
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "criterion",
        sa.Column("status", sa.String(length=16), nullable=False, server_default="active"),
    )
    op.add_column("criterion", sa.Column("anchors", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("criterion") as batch:  # existing rows got "[]"; new rows: the app
        batch.alter_column("anchors", existing_type=sa.JSON(), server_default=None)
    # Number the memos already issued: their append-only guard steps aside for this one
    # statement (and SQLite's table rebuild), then stands again.
    _drop_append_only("memo")
    op.add_column("memo", sa.Column("number", sa.Integer(), nullable=True))
    op.add_column("memo", sa.Column("docx", sa.LargeBinary(), nullable=True))
    op.add_column("memo", sa.Column("docx_sha256", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE memo SET number = (SELECT count(*) FROM memo AS earlier "
        "WHERE earlier.decision_id = memo.decision_id AND earlier.id <= memo.id)"
    )
    with op.batch_alter_table("memo") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_memo_decision_number", ["decision_id", "number"])
    _append_only("memo", MEMOS)

    op.create_table(
        "comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.Integer(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["option_id"], ["decision_option.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["criterion_id"], ["criterion.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["parent_id"], ["comment.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_comment_thread", "comment", ["decision_id", "option_id", "criterion_id", "id"]
    )
    op.create_index("ix_comment_round", "comment", ["decision_id", "round_number", "id"])
    _append_only("comment", COMMENTS)

    op.create_table(
        "notification",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("round_number", sa.Integer(), nullable=True),
        sa.Column("memo_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_user", "notification", ["user_id", "read_at", "id"])


def _append_only(table: str, message: str) -> None:
    """Make the database itself refuse UPDATE and DELETE on ``table``."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{message}'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )


def _drop_append_only(table: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def downgrade() -> None:
    op.drop_index("ix_notification_user", table_name="notification")
    op.drop_table("notification")
    _drop_append_only("comment")
    op.drop_index("ix_comment_round", table_name="comment")
    op.drop_index("ix_comment_thread", table_name="comment")
    op.drop_table("comment")
    _drop_append_only("memo")
    with op.batch_alter_table("memo") as batch:
        batch.drop_constraint("uq_memo_decision_number", type_="unique")
        batch.drop_column("docx_sha256")
        batch.drop_column("docx")
        batch.drop_column("number")
    _append_only("memo", MEMOS)
    with op.batch_alter_table("criterion") as batch:
        batch.drop_column("anchors")
        batch.drop_column("status")
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("deleted")
        batch.drop_column("archived")
        batch.drop_column("paper")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("email")
