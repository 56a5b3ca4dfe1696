"""The one place that talks to htmx-flask (its reswap check is too strict; see TRAPS.md)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from htmx_flask import Htmx
from htmx_flask import make_response as _htmx_make_response

htmx = Htmx()


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def hx_target() -> str | None:
    return request.htmx.target if is_htmx() else None


def make_response(
    body: Any,
    status: int = 200,
    *,
    trigger: str | dict[str, Any] | None = None,
    retarget: str | None = None,
    reswap: str | None = None,
    push_url: str | None = None,
) -> Response:
    """A response with htmx headers; ``reswap`` is set directly so modifiers are allowed."""
    response = _htmx_make_response(
        body, status, trigger=trigger, retarget=retarget, push_url=push_url
    )
    if reswap:
        response.headers["HX-Reswap"] = reswap
    response.vary.add("HX-Request")
    return response


def trigger_header(events: dict[str, Any]) -> str:
    return json.dumps(events)
