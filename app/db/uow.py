"""The unit of work: the one place that commits on success and rolls back on error.

Services change rows and flush; they never commit. A web request runs in one unit of work
(see :mod:`app.web.transaction`); a command or script opens one with :func:`unit_of_work`.
Issuing a memo reads its snapshot in :func:`consistent_read`, a read-only transaction that
sees one state of the database from its first read to its last.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session

from app.db.engine import get_engine, is_sqlite, new_session


@contextmanager
def unit_of_work(*, write: bool = True, engine: Engine | None = None) -> Iterator[Session]:
    """A session whose transaction commits when the block ends and rolls back if it raises."""
    session = new_session(write=write, engine=engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def consistent_read(engine: Engine | None = None) -> Iterator[Session]:
    """A read-only transaction with one view of the database (REPEATABLE READ on
    PostgreSQL; a WAL read transaction on SQLite sees one snapshot from its first read)."""
    engine = engine or get_engine()
    if not is_sqlite(engine):
        engine = engine.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    session = new_session(write=False, engine=engine)
    try:
        with session.begin():
            yield session
    finally:
        session.close()
