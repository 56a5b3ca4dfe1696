"""The PostgreSQL database a test process reuses comes back to each test as if new: no rows,
ids from 1, and the append-only triggers on revisions and memos still in force."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from app.db.migrate import head_revision
from app.db.models import Revision
from tests.conftest import ReusedPostgresDatabase
from tests.factories import make_world


def test_the_reused_database_is_emptied_between_tests(
    reused_postgresql: ReusedPostgresDatabase,
) -> None:
    engine = create_engine(reused_postgresql.url())
    left_open = engine.connect()  # as a careless test might leave behind
    try:
        with Session(engine) as session:
            first = make_world(session)
            session.commit()
            assert session.scalar(select(func.count()).select_from(Revision))
        left_open.execute(text("SELECT 1 FROM decision FOR UPDATE"))
    finally:
        engine.dispose()

    engine = create_engine(reused_postgresql.url())  # what the next test gets
    try:
        with Session(engine) as session:
            for table in SQLModel.metadata.sorted_tables:
                assert session.scalar(select(func.count()).select_from(table)) == 0, table.name
            again = make_world(session)
            session.commit()
        assert again == first  # the same ids as in a new database
        with engine.connect() as conn:
            for statement in (
                "TRUNCATE revision",
                "TRUNCATE memo",
                "DELETE FROM revision",
                "UPDATE revision SET action = 'tampered'",
            ):
                with pytest.raises(DBAPIError, match="append-only|cannot be changed"):
                    conn.execute(text(statement))
                conn.rollback()
    finally:
        engine.dispose()
        left_open.invalidate()


@pytest.mark.fresh_db
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_test_marked_fresh_db_gets_a_database_of_its_own(
    db_url: str, reused_postgresql: ReusedPostgresDatabase
) -> None:
    name = make_url(db_url).database
    assert name is not None and name != reused_postgresql.name
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT current_database()")) == name
            assert conn.scalar(text("SELECT count(*) FROM revision")) == 0
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
    finally:
        engine.dispose()
