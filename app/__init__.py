"""Options Matrix: compare policy options against weighted criteria as a team.

This module holds the application factory only; nothing imports the package root.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Application factory: settings from the environment, then ``test_config`` on top."""
    from app.config import ROOT, load_settings

    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or os.path.join(ROOT, "instance"),
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    app.config.from_mapping(load_settings(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    from app import web
    from app.cli import register_cli
    from app.db import engine

    engine.init_app(app)
    web.init_app(app)
    register_cli(app)
    if not app.config.get("SKIP_SCHEMA_CHECK"):
        from app.web.schema_guard import install_schema_guard

        install_schema_guard(app)
    return app
