"""Revisions are append-only: the database itself refuses UPDATE, DELETE (and TRUNCATE on
PostgreSQL) on the revision table, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.db.engine import get_engine
from app.db.models import Revision
from app.db.uow import unit_of_work
from tests.factories import World


def _snapshot(app: Flask) -> list[tuple]:
    with app.app_context(), unit_of_work(write=False) as session:
        return [tuple(r) for r in session.execute(select(Revision.__table__).order_by(Revision.id))]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE revision SET action = 'tampered' WHERE id = :id",
        "UPDATE revision SET after = NULL",
        "DELETE FROM revision WHERE id = :id",
        "DELETE FROM revision",
    ],
)
def test_the_database_refuses_to_change_or_delete_revisions(
    app: Flask, world: World, statement: str
) -> None:
    before = _snapshot(app)
    assert before, "the world writes revisions"
    with app.app_context(), get_engine().connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement), {"id": before[0][0]})
        conn.rollback()
    assert _snapshot(app) == before


def test_the_orm_cannot_delete_or_edit_a_revision_either(app: Flask, world: World) -> None:
    before = _snapshot(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as session:
            session.delete(session.scalars(select(Revision)).first())
        with pytest.raises(DBAPIError, match="append-only"), unit_of_work() as session:
            revision = session.scalars(select(Revision)).first()
            revision.action = "tampered"
    assert _snapshot(app) == before


def test_truncate_is_refused_on_postgresql_and_adding_still_works(app: Flask, world: World) -> None:
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                with pytest.raises(DBAPIError, match="append-only"):
                    conn.execute(text("TRUNCATE revision"))
                conn.rollback()
        with unit_of_work() as session:
            count = session.scalar(select(func.count()).select_from(Revision))
            session.add(
                Revision(
                    decision_id=world.decision_id,
                    actor_id=None,
                    entity="decision",
                    entity_id=str(world.decision_id),
                    action="update",
                    before={},
                    after={},
                )
            )
        with unit_of_work(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Revision)) == count + 1
