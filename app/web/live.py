"""The live matrix for a request (:mod:`app.services.live_matrix`), and the shared cache
behind its group views, built once per process: Redis when ``REDIS_URL`` is set, otherwise
the database (PostgreSQL) or this process alone (SQLite, one host).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from threading import Lock
from typing import TypeVar

from flask import current_app

from app.adapters.shared_cache import SharedCache, make_shared_cache
from app.db.changes import Numbers
from app.db.engine import get_engine
from app.db.uow import consistent_read
from app.domain.vocabulary import Role
from app.services.group_view import Method
from app.services.live_matrix import live_matrix
from app.services.matrix import Matrix
from app.web.transaction import get_read_session

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
    own_scores: bool = True,
    numbers: Numbers | None = None,
    fresh: bool = False,
) -> T:
    """The viewer's live matrix handed to ``then`` (which renders it)."""
    matrix = live_matrix(
        session=get_read_session(),
        snapshot=consistent_read,
        cache=shared_cache(),
        decision_id=decision_id,
        viewer_id=viewer_id,
        role=role,
        round_number=round_number,
        method=method,
        own_scores=own_scores,
        numbers=numbers,
        fresh=fresh,
    )
    return then(matrix)
