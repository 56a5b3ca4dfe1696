"""A cache shared by every worker and host, for values whose key never changes meaning.

Two stores behind one small interface: Redis when ``REDIS_URL`` is set, otherwise a table
in the application's database (``group_view_cache``). Both are best effort: a store that
fails is logged and treated as a miss, so a cache outage slows pages down but never breaks
them. Values are text (JSON); keys say what they hold, including the change number, so a
value is never overwritten with something different.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Protocol

from sqlalchemy import Engine, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from app.db.engine import new_session
from app.db.models import GroupViewCache, utcnow

log = logging.getLogger(__name__)

# How long a value stays: a poll asks for the view it was last given, seconds ago. Redis
# expires values after TTL; the table keeps the last KEEP_CHANGES change numbers of a decision.
TTL = timedelta(minutes=10)
KEEP_CHANGES = 2_000
PRUNE_EVERY = 100  # change numbers between two prunings of a decision's old values


class SharedCache(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str, *, decision_id: int, change_number: int) -> None: ...


class RedisCache:
    """Keys are prefixed with ``namespace`` (one per database), since one Redis may serve
    several instances."""

    def __init__(self, url: str, namespace: str) -> None:
        import redis

        self._prefix = f"options-matrix:{namespace}:"
        self._client = redis.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5, decode_responses=True
        )

    def get(self, key: str) -> str | None:
        try:
            value = self._client.get(self._prefix + key)
        except Exception:  # noqa: BLE001 - an outage is a miss
            log.warning("shared cache: Redis get failed", exc_info=True)
            return None
        return value if isinstance(value, str) else None

    def put(self, key: str, value: str, *, decision_id: int, change_number: int) -> None:
        try:
            self._client.set(self._prefix + key, value, ex=int(TTL.total_seconds()), nx=True)
        except Exception:  # noqa: BLE001
            log.warning("shared cache: Redis set failed", exc_info=True)


class DatabaseCache:
    """The ``group_view_cache`` table, written in short transactions of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, key: str) -> str | None:
        session = new_session(write=False, engine=self._engine)
        try:
            return session.scalar(
                select(col(GroupViewCache.payload)).where(col(GroupViewCache.key) == key)
            )
        except Exception:  # noqa: BLE001
            log.warning("shared cache: database read failed", exc_info=True)
            return None
        finally:
            session.close()

    def put(self, key: str, value: str, *, decision_id: int, change_number: int) -> None:
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        session = new_session(write=True, engine=self._engine)
        try:
            if self._engine.dialect.name == "postgresql":
                # A cache entry lost in a crash is recomputed: its commit need not wait for
                # the disk (saves, which must survive, keep waiting for theirs).
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            session.execute(
                insert(GroupViewCache)
                .values(
                    key=key,
                    decision_id=decision_id,
                    change_number=change_number,
                    payload=value,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing()
            )
            if change_number % PRUNE_EVERY == 0:
                session.execute(
                    delete(GroupViewCache).where(
                        col(GroupViewCache.decision_id) == decision_id,
                        col(GroupViewCache.change_number) < change_number - KEEP_CHANGES,
                    )
                )
            session.commit()
        except Exception:  # noqa: BLE001
            session.rollback()
            log.warning("shared cache: database write failed", exc_info=True)
        finally:
            session.close()


class NoSharedCache:
    """One host with SQLite: each worker's own memory is the only level (writes from
    read requests would only compete with saves for SQLite's single write lock)."""

    def get(self, key: str) -> str | None:
        return None

    def put(self, key: str, value: str, *, decision_id: int, change_number: int) -> None:
        return None


def make_shared_cache(*, redis_url: str | None, engine: Engine) -> SharedCache:
    if redis_url:
        database = engine.url.render_as_string(hide_password=True)
        return RedisCache(redis_url, hashlib.sha256(database.encode()).hexdigest()[:16])
    if engine.dialect.name == "postgresql":
        return DatabaseCache(engine)
    return NoSharedCache()
