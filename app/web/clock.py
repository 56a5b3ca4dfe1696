"""The time the web layer goes by for session lifetimes and login throttling: the system
clock, unless an application was given another one (tests move theirs by hand)."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, current_app

CLOCK_KEY = "options_matrix.clock"


def now(app: Flask | None = None) -> float:
    """Seconds since the epoch."""
    clock: Callable[[], float] = (app or current_app).extensions.get(CLOCK_KEY, time.time)
    return clock()


def set_clock(app: Flask, clock: Callable[[], float]) -> None:
    app.extensions[CLOCK_KEY] = clock
