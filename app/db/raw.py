"""Plain tuples straight from the database driver, for the few large reads that feed numpy.

SQLAlchemy wraps every fetched row in a ``Row``; for the few thousand score rows behind a
group view that wrapping costs several times the query itself. The statement is still built
and compiled by SQLAlchemy (so it is the same SQL on SQLite and PostgreSQL) and runs on the
session's own connection and transaction (so it sees the session's snapshot).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlmodel import Session


def driver_rows(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    params: Any = compiled.params
    if connection.dialect.positional:
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
