"""Where the login rate limiter keeps its counters: Redis when ``REDIS_URL`` is set, else the
application's own database, so every worker and host counts the same failures.

The rate limiting itself is the ``limits`` library's (the one Flask-Limiter is built on): its
fixed-window strategy asks a storage for six operations on counters that expire. ``limits``
ships Redis storage but none over SQL, so :class:`DatabaseStorage` implements its
:class:`limits.storage.Storage` interface over the ``login_throttle`` table: each ``incr`` is
one upsert in a short transaction of its own, atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, cast

from limits.storage import RedisStorage, Storage
from sqlalchemy import CursorResult, Engine, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from app.db.engine import new_session
from app.db.models import LoginThrottle

Clock = Callable[[], float]


class DatabaseStorage(Storage):
    """Fixed-window counters in ``login_throttle``; ``clock`` gives seconds since the epoch
    (the tests pass one they move by hand)."""

    STORAGE_SCHEME = None

    def __init__(self, engine: Engine, *, clock: Clock = time.time) -> None:
        super().__init__()
        self._engine = engine
        self._clock = clock

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the counter; a counter past its expiry starts again at ``amount``
        with a new window of ``expiry`` seconds. Expired counters are pruned on the way."""
        now = self._now_ms()
        table = LoginThrottle.__table__  # type: ignore[attr-defined]
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        statement = insert(table).values(key=key, hits=amount, expires_ms=now + expiry * 1000)
        expired = table.c.expires_ms <= now
        upsert = statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case((expired, amount), else_=table.c.hits + amount),
                "expires_ms": case((expired, now + expiry * 1000), else_=table.c.expires_ms),
            },
        ).returning(table.c.hits)
        session = new_session(write=True, engine=self._engine)
        try:
            hits = int(session.execute(upsert).scalar_one())
            session.execute(delete(LoginThrottle).where(col(LoginThrottle.expires_ms) <= now))
            session.commit()
            return hits
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def _live(self, key: str) -> LoginThrottle | None:
        session = new_session(write=False, engine=self._engine)
        try:
            return session.scalar(
                select(LoginThrottle).where(
                    col(LoginThrottle.key) == key, col(LoginThrottle.expires_ms) > self._now_ms()
                )
            )
        finally:
            session.close()

    def get(self, key: str) -> int:
        row = self._live(key)
        return row.hits if row is not None else 0

    def get_expiry(self, key: str) -> float:
        row = self._live(key)
        return row.expires_ms / 1000 if row is not None else self._clock()

    def check(self) -> bool:
        session = new_session(write=False, engine=self._engine)
        try:
            session.scalar(select(func.count()).select_from(LoginThrottle))
            return True
        except SQLAlchemyError:
            return False
        finally:
            session.close()

    def reset(self) -> int | None:
        return self._delete(None)

    def clear(self, key: str) -> None:
        self._delete(key)

    def _delete(self, key: str | None) -> int:
        statement = delete(LoginThrottle)
        if key is not None:
            statement = statement.where(col(LoginThrottle.key) == key)
        session = new_session(write=True, engine=self._engine)
        try:
            result = cast(CursorResult[Any], session.execute(statement))
            count = result.rowcount
            session.commit()
            return int(count or 0)
        finally:
            session.close()


def make_storage(*, redis_url: str | None, engine: Engine, clock: Clock = time.time) -> Storage:
    """Redis (keys prefixed per database, since one Redis may serve several instances) when
    ``redis_url`` is given, else :class:`DatabaseStorage` over ``engine``."""
    if redis_url:
        database = engine.url.render_as_string(hide_password=True)
        namespace = hashlib.sha256(database.encode()).hexdigest()[:16]
        return RedisStorage(
            redis_url,
            key_prefix=f"options-matrix:{namespace}:login",
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
    return DatabaseStorage(engine, clock=clock)
