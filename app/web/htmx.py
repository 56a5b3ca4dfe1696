"""The one place that talks to htmx-flask: its ``reswap`` check rejects ``beforebegin``,
``afterbegin`` and every modifier, so ``HX-Reswap`` is set here directly."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from htmx_flask import Htmx
from htmx_flask import make_response as _htmx_make_response

htmx = Htmx()


def is_htmx() -> bool:
    return bool(getattr(request, "htmx", False))


def hx_target() -> str | None:
    """The id of the element htmx will swap (the ``HX-Target`` header), if any."""
    return request.headers.get("HX-Target") if is_htmx() else None


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
    response: Response = _htmx_make_response(
        body, status, trigger=trigger, retarget=retarget, push_url=push_url
    )
    if reswap:
        response.headers["HX-Reswap"] = reswap
    response.vary.add("HX-Request")
    return response
