"""Markdown → sanitised HTML for option descriptions, background and memo text."""

from __future__ import annotations

import markdown as _markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}


def render_markdown(text: str | None, *, links: bool = True) -> Markup:
    """Render Markdown, then keep only harmless tags. Images are dropped; links keep only
    http(s)/mailto targets and always get ``rel="noopener noreferrer nofollow"``."""
    if not text:
        return Markup("")
    html = _markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    tags = ALLOWED_TAGS if links else ALLOWED_TAGS - {"a"}
    clean = nh3.clean(
        html,
        tags=tags,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)
