"""Parsing ids and numbers from URLs and query strings, in one place."""

from __future__ import annotations

from typing import Any, Literal

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL


class IdConverter(IntegerConverter):
    """``<int:…>`` in our routes: a number too large to be an id is simply not found."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def int_arg(name: str) -> int | None:
    """A whole number from the query string or form (``#123`` allowed); 400 when it is not."""
    raw = (request.values.get(name) or "").strip().lstrip("#")
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        abort(400, f"{name.replace('_', ' ').capitalize()} must be a whole number.")
    if not 0 <= value <= MAX_ID:
        abort(400, f"{name.replace('_', ' ').capitalize()} is out of range.")
    return value


def method_arg() -> Literal["mean", "median"] | None:
    """The group value asked for (``?method=mean|median``), None for the decision's own."""
    raw = request.values.get("method") or None
    if raw is None:
        return None
    if raw == "mean":
        return "mean"
    if raw == "median":
        return "median"
    abort(400, "method must be mean or median.")
