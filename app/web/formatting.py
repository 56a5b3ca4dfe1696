"""How numbers, dates and text are written, once for the web pages and the printed memo.

:func:`register` puts every filter on a Jinja environment (the web's and the print
environment of :mod:`app.web.print`), so a share, a score or a date reads the same in both.
A missing value — None, or NaN — is written "–" by every number filter.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from jinja2 import Environment
from markupsafe import Markup, escape

from app.adapters.markdown import render_markdown
from app.domain.analysis import coverage_text, range_text
from app.domain.labels import missing_policy_sentence, outranks_sentence
from app.domain.vocabulary import (
    DecisionStatus,
    Direction,
    MissingPolicy,
    OptionStatus,
    Paper,
    Role,
    ScoringMode,
)

MISSING = "–"


def _is_nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def pct(value: float | None, digits: int = 0) -> str:
    """A share (0-1) as a percentage: ``0.25 -> "25 %"``; ``pct(0.3062, 1) -> "30.6 %"``."""
    if value is None or _is_nan(value):
        return MISSING
    return f"{value * 100:.{digits}f} %"


def num(value: float | None, digits: int = 1) -> str:
    """A number with a fixed count of decimals: ``62.5 -> "62.5"``."""
    if value is None or _is_nan(value):
        return MISSING
    return f"{value:.{digits}f}"


def prob(value: float | None) -> str:
    """A probability as a reader wants it: "0 %", "< 1 %", "37 %", "> 99 %", "100 %"."""
    if value is None or _is_nan(value):
        return MISSING
    if value <= 0:
        return "0 %"
    if value < 0.005:
        return "< 1 %"
    if value >= 1:
        return "100 %"
    if value > 0.995:
        return "> 99 %"
    return f"{value * 100:.0f} %"


def score_text(value: float | None) -> str:
    """A score as people write it: 4, 3.5."""
    if value is None or _is_nan(value):
        return MISSING
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def when(value: datetime | None) -> str:
    """A moment in UTC: "2026-01-02 03:04 UTC" (naive times are taken as UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def group_hash(value: str, size: int = 16) -> Markup:
    """A long hash in groups with break opportunities, so it wraps in narrow columns."""
    return Markup("<wbr>").join(escape(value[i : i + size]) for i in range(0, len(value), size))


def markdown_without_links(text: str | None) -> Markup:
    """Markdown for print: links are not followed on paper, so they are dropped."""
    return render_markdown(text, links=False)


def _total_range(bounds: tuple[float | None, float | None]) -> str:
    """A total's possible range, low end rounded down and high end up ("66.6–100.0")."""
    low, high = bounds
    return "–" if low is None or high is None else range_text(low, high)


def register(env: Environment, *, links: bool = True) -> None:
    """Put the formatting filters and the product's vocabulary (``Role.FACILITATOR``, …) on
    ``env``; ``links=False`` renders Markdown without links (the printed memo)."""
    env.globals.update(
        Role=Role,
        ScoringMode=ScoringMode,
        DecisionStatus=DecisionStatus,
        OptionStatus=OptionStatus,
        Direction=Direction,
        MissingPolicy=MissingPolicy,
        Paper=Paper,
        outranks_sentence=outranks_sentence,
        missing_policy_sentence=missing_policy_sentence,
    )
    env.filters.update(
        coverage=coverage_text,
        total_range=_total_range,
        pct=pct,
        num=num,
        prob=prob,
        score=score_text,
        when=when,
        group_hash=group_hash,
        markdown=render_markdown if links else markdown_without_links,
    )
