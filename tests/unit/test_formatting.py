"""The formatting filters: one way to write a share, a score or a date, on the web pages and
in the printed memo; a missing number (None or NaN) is "–" everywhere."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from jinja2 import Environment
from markupsafe import Markup

from app.web import formatting
from app.web.print import environment as print_environment

NUMBER_FILTERS: list[Callable[[float | None], str]] = [
    formatting.pct,
    formatting.num,
    formatting.prob,
    formatting.score_text,
]


@pytest.mark.parametrize("write", NUMBER_FILTERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("missing", [None, math.nan], ids=["None", "NaN"])
def test_a_missing_number_is_a_dash(
    write: Callable[[float | None], str], missing: float | None
) -> None:
    assert write(missing) == "–"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(0.25, 0, "25 %"), (0.3062, 1, "30.6 %"), (1.0, 0, "100 %"), (0.0, 1, "0.0 %")],
)
def test_pct(value: float, digits: int, text: str) -> None:
    assert formatting.pct(value, digits) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0 %"), (0.004, "< 1 %"), (0.37, "37 %"), (0.996, "> 99 %"), (1.0, "100 %")],
)
def test_prob(value: float, text: str) -> None:
    assert formatting.prob(value) == text


@pytest.mark.parametrize(("value", "text"), [(4.0, "4"), (3.5, "3.5"), (2.25, "2.2"), (10, "10")])
def test_score_text(value: float, text: str) -> None:
    assert formatting.score_text(value) == text


def test_num() -> None:
    assert formatting.num(62.5) == "62.5"
    assert formatting.num(62.5, 0) == "62"
    assert formatting.num(1 / 3, 3) == "0.333"


def test_when_is_utc() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert formatting.when(moment) == "2026-01-02 01:04 UTC"
    assert formatting.when(datetime(2026, 1, 2, 3, 4)) == "2026-01-02 03:04 UTC"
    assert formatting.when(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02 03:04 UTC"
    assert formatting.when(None) == ""


def test_group_hash_breaks_a_hash_into_escaped_groups() -> None:
    assert formatting.group_hash("a" * 20, 8) == Markup("aaaaaaaa<wbr>aaaaaaaa<wbr>aaaa")
    assert formatting.group_hash("<b>", 2) == Markup("&lt;b<wbr>&gt;")


def test_register_puts_every_filter_on_an_environment() -> None:
    env = Environment(autoescape=True)
    formatting.register(env)
    assert env.from_string("{{ 0.5|pct }} {{ x|pct }} {{ 3.0|score }}").render(x=math.nan) == (
        "50 % – 3"
    )
    assert "<a" in env.from_string("{{ t|markdown }}").render(t="[x](https://example.org)")


def test_print_environment_uses_the_same_filters_without_links() -> None:
    env = print_environment()
    for name, write in (
        ("pct", formatting.pct),
        ("num", formatting.num),
        ("prob", formatting.prob),
        ("score", formatting.score_text),
        ("when", formatting.when),
        ("group_hash", formatting.group_hash),
    ):
        assert env.filters[name] is write, name
    text = env.from_string("{{ t|markdown }}").render(t="[x](https://example.org) **b**")
    assert "<a" not in text and "<strong>b</strong>" in text
    assert env.from_string("{{ d == Direction.COST }}").render(d="cost") == "True"
