"""Login throttling: failed logins slow down, then stop, attempts for one username and from
one address, whichever worker or host answers.

Counting is the ``limits`` library's fixed-window strategy (the one under Flask-Limiter), with
its counters in Redis when ``REDIS_URL`` is set, else in the database
(:mod:`app.adapters.limiter_storage`). Only failures count: a correct password spends
nothing. Before any password is checked, :meth:`LoginThrottle.refusal` says whether a limit
is used up; while one is, every attempt is refused (the correct password too) without
computing a hash. Each setting is a list of limits such as ``5 per minute; 20 per hour``: the
short one slows guessing down, the long one stops it for the rest of its window.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from threading import Lock

from flask import Flask, current_app
from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from app.adapters.limiter_storage import make_storage
from app.db.engine import get_engine
from app.web.clock import now

log = logging.getLogger(__name__)

EXTENSION_KEY = "options_matrix.login_throttle"
USERNAME = "username"
ADDRESS = "address"
_lock = Lock()


@dataclass(frozen=True)
class Refusal:
    """A used-up limit: which one, and in how many seconds it frees up."""

    scope: str  # USERNAME or ADDRESS
    limit: str  # e.g. "5 per 1 minute"
    retry_after: int

    @property
    def message(self) -> str:
        who = "this username" if self.scope == USERNAME else "your network address"
        return (
            f"Too many failed logins for {who}. Logging in is paused: try again in "
            f"{_duration(self.retry_after)}."
        )


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _identifier(value: str) -> str:
    """A counter's name part: short values as they are, long ones (an attacker's choice)
    by their digest, so every key fits the storage."""
    if len(value) <= 64:
        return value
    return "sha256-" + hashlib.sha256(value.encode()).hexdigest()


class LoginThrottle:
    def __init__(
        self,
        storage: Storage,
        *,
        per_username: Sequence[RateLimitItem],
        per_address: Sequence[RateLimitItem],
        clock: Callable[[], float],
    ) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        self._limits = {USERNAME: list(per_username), ADDRESS: list(per_address)}
        self._clock = clock

    def _counters(self, username: str, address: str | None) -> list[tuple[str, RateLimitItem, str]]:
        found = [(USERNAME, item, _identifier(username)) for item in self._limits[USERNAME]]
        if address:
            found += [(ADDRESS, item, _identifier(address)) for item in self._limits[ADDRESS]]
        return found

    def _refusal(self, scope: str, item: RateLimitItem, identifier: str) -> Refusal:
        reset = self._limiter.get_window_stats(item, scope, identifier).reset_time
        retry_after = max(1, math.ceil(reset - self._clock()))
        return Refusal(scope=scope, limit=str(item), retry_after=retry_after)

    def refusal(self, username: str, address: str | None) -> Refusal | None:
        """The used-up limit that refuses this attempt (the longest wait), or None."""
        found: list[Refusal] = []
        try:
            for scope, item, identifier in self._counters(username, address):
                if not self._limiter.test(item, scope, identifier):
                    found.append(self._refusal(scope, item, identifier))
        except Exception:  # noqa: BLE001 - an unreachable store must not lock everyone out
            log.warning("login throttle: the counters cannot be read", exc_info=True)
            return None
        return max(found, key=lambda r: r.retry_after, default=None)

    def record_failure(self, username: str, address: str | None) -> list[Refusal]:
        """Count a failed login; the limits this failure used up (now refusing)."""
        reached: list[Refusal] = []
        try:
            for scope, item, identifier in self._counters(username, address):
                within = self._limiter.hit(item, scope, identifier)
                if within and not self._limiter.test(item, scope, identifier):
                    reached.append(self._refusal(scope, item, identifier))
        except Exception:  # noqa: BLE001
            log.warning("login throttle: a failure could not be counted", exc_info=True)
        return reached


def parse_limits(value: str) -> list[RateLimitItem]:
    """``5 per minute; 20 per hour`` → rate limit items (ValueError when malformed)."""
    try:
        return list(parse_many(value))
    except ValueError as exc:
        raise ValueError(f"Not a list of limits like '5 per minute; 20 per hour': {exc}") from None


def build(app: Flask) -> LoginThrottle:
    redis_url = app.config.get("REDIS_URL") or os.environ.get("REDIS_URL")

    def clock() -> float:
        return now(app)

    return LoginThrottle(
        make_storage(redis_url=redis_url or None, engine=get_engine(app), clock=clock),
        per_username=parse_limits(str(app.config["LOGIN_LIMIT_PER_USERNAME"])),
        per_address=parse_limits(str(app.config["LOGIN_LIMIT_PER_ADDRESS"])),
        clock=clock,
    )


def login_throttle() -> LoginThrottle:
    """The application's throttle, built on first use."""
    throttle: LoginThrottle | None = current_app.extensions.get(EXTENSION_KEY)
    if throttle is None:
        with _lock:
            throttle = current_app.extensions.get(EXTENSION_KEY)
            if throttle is None:
                throttle = build(current_app._get_current_object())  # type: ignore[attr-defined]
                current_app.extensions[EXTENSION_KEY] = throttle
    return throttle
