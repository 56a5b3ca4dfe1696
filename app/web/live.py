"""The live matrix for a request: one consistent snapshot, the shared group view on top.

Pages, polls and save answers read the matrix here, in a read-only snapshot of its own
(:func:`app.db.uow.consistent_read`), so the change number a page polls with names exactly
what it shows. The shared cache behind the group views is built once per process: Redis
when ``REDIS_URL`` is set, otherwise the database (PostgreSQL) or this process alone
(SQLite, one host).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from threading import Lock
from typing import TypeVar

from flask import current_app

from app.adapters.shared_cache import SharedCache, make_shared_cache
from app.db.engine import get_engine
from app.db.uow import consistent_read
from app.domain.vocabulary import Role
from app.services.group_view import Method
from app.services.live_matrix import live_matrix
from app.services.matrix import Matrix

CACHE_KEY = "options_matrix.shared_cache"
_lock = Lock()
T = TypeVar("T")


def shared_cache() -> SharedCache:
    cache: SharedCache | None = current_app.extensions.get(CACHE_KEY)
    if cache is None:
        with _lock:
            cache = current_app.extensions.get(CACHE_KEY)
            if cache is None:
                redis_url = current_app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")
                cache = make_shared_cache(redis_url=redis_url or None, engine=get_engine())
                current_app.extensions[CACHE_KEY] = cache
    return cache


def with_live_matrix(
    *,
    decision_id: int,
    viewer_id: int,
    role: Role,
    round_number: int | None,
    method: Method | None,
    then: Callable[[Matrix], T],
) -> T:
    """Read the viewer's live matrix in one snapshot and hand it to ``then`` (which renders
    while the snapshot is open, so nothing it touches is read from another moment)."""
    with consistent_read() as snapshot:
        matrix = live_matrix(
            session=snapshot,
            cache=shared_cache(),
            decision_id=decision_id,
            viewer_id=viewer_id,
            role=role,
            round_number=round_number,
            method=method,
        )
        return then(matrix)
