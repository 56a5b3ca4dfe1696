"""Blueprints: one per area of the product."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from app.web.params import IdConverter

    app.url_map.converters["int"] = IdConverter
    from app.web.views import (
        api,
        audit,
        auth,
        comments,
        criteria,
        decisions,
        exports,
        history,
        matrix,
        memos,
        notifications,
        options,
        people,
        what_if,
    )

    for module in (
        auth,
        decisions,
        options,
        criteria,
        matrix,
        history,
        exports,
        memos,
        api,
        audit,
        people,
        comments,
        notifications,
        what_if,
    ):
        app.register_blueprint(module.bp)
