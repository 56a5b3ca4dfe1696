"""Hostile text at the edges: pages whose cost a member's text controls stay fast, NUL
characters are refused with a clear 400 before anything is written, spreadsheets hold any
text, out-of-range dates and odd ``next`` targets are answered cleanly, and the transport
and caching headers say what they should."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from app import create_app
from app.db.models import Option, Revision
from app.db.uow import unit_of_work
from tests.conftest import Actions, csrf_token
from tests.factories import PASSWORD, World
from tests.integration.test_history import base, edit_option
from tests.integration.test_memos import download, issue, issued_id

NUL_MESSAGE = "may not contain the NUL character"


def revision_count(app: Flask) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Revision)) or 0)


def option_text(app: Flask, option_id: int) -> tuple[str, str, str]:
    with app.app_context(), unit_of_work(write=False) as session:
        option = session.get(Option, option_id)
        assert option is not None
        return option.title, option.summary, option.description


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def ordinary(length: int) -> str:
    text = "Hold joint drills with willing partners near the border. " * (length // 50 + 1)
    return text[:length]


# --------------------------------------------------------------------------------------------
# Bounded cost: pages with hostile option texts take about as long as with ordinary ones
# --------------------------------------------------------------------------------------------


def test_timeline_and_feed_with_a_hostile_edit_stay_fast(
    as_role: Any, world: World, app: Flask
) -> None:
    fac = as_role("facilitator")
    plain, hostile = world.options
    edit_option(fac, app, world, plain, description=ordinary(1_500))
    edit_option(fac, app, world, plain, description=ordinary(1_500).replace("border", "river"))
    baseline, response = timed(lambda: fac.get(f"{base(world)}/options/{plain}"))
    assert response.status_code == 200

    edit_option(fac, app, world, hostile, description="." * 1_500)
    edit_option(fac, app, world, hostile, description=".x" * 750)
    spent, response = timed(lambda: fac.get(f"{base(world)}/options/{hostile}"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Too many changes to show word by word" in page
    assert spent <= max(20 * baseline, 0.05) and spent < 10, (spent, baseline)

    spent, response = timed(lambda: fac.get(f"{base(world)}/history"))
    assert response.status_code == 200
    assert spent <= max(20 * baseline, 0.05) and spent < 10, (spent, baseline)


@pytest.mark.parametrize("hostile", ["[" * 20_000, "[a" * 10_000, "<a " * 6_666])
def test_option_page_with_hostile_markdown_stays_fast(
    as_role: Any, world: World, app: Flask, hostile: str
) -> None:
    fac = as_role("facilitator")
    plain, other = world.options
    edit_option(fac, app, world, plain, description=ordinary(len(hostile)))
    baseline, response = timed(lambda: fac.get(f"{base(world)}/options/{plain}"))
    assert response.status_code == 200

    edit_option(fac, app, world, other, description=hostile)
    spent, response = timed(lambda: fac.get(f"{base(world)}/options/{other}"))
    assert response.status_code == 200
    assert spent <= max(20 * baseline, 0.05) and spent < 10, (spent, baseline)


# --------------------------------------------------------------------------------------------
# NUL characters are refused at the edge
# --------------------------------------------------------------------------------------------


def test_login_with_nul_is_refused_with_a_message(client: Any, world: World) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login", data={"username": "facil\x00itator", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.get_data(as_text=True)
    json = client.post("/login", json={"username": "a\x00"}, headers={"Accept": "application/json"})
    assert json.status_code == 400 and NUL_MESSAGE in json.json["error"]
    nested = client.post(
        "/login", json={"a": [1, {"b": ["x\x00"]}]}, headers={"Accept": "application/json"}
    )
    assert nested.status_code == 400 and NUL_MESSAGE in nested.json["error"]
    deep = client.post(
        "/login",
        data="[" * 100_000 + "]" * 100_000,
        content_type="application/json",
        headers={"Accept": "application/json"},
    )
    assert deep.status_code == 400
    query = client.get("/login?next=/\x00")
    assert query.status_code == 400


def test_nul_in_an_edit_writes_nothing(as_role: Any, world: World, app: Flask) -> None:
    fac = as_role("facilitator")
    option = world.options[0]
    before, count = option_text(app, option), revision_count(app)
    for field in ("title", "summary", "description"):
        with app.app_context(), unit_of_work(write=False) as session:
            current = session.get(Option, option)
            assert current is not None
            data = {
                "title": current.title,
                "summary": current.summary,
                "description": current.description,
                "version": str(current.version),
            }
        data[field] = "Bad\x00 text"
        response = fac.post(f"{base(world)}/options/{option}", data)
        assert response.status_code == 400, field
        assert NUL_MESSAGE in response.get_data(as_text=True)
        htmx = fac.post(f"{base(world)}/options/{option}", data, htmx=True)
        assert htmx.status_code == 400 and NUL_MESSAGE in htmx.get_data(as_text=True)
    rationale = fac.post(
        f"{base(world)}/matrix/scores",
        {
            "option_id": str(option),
            "criterion_id": str(world.criteria[0]),
            "value": "3",
            "rationale": "\x00",
        },
        htmx=True,
    )
    assert rationale.status_code == 400
    assert option_text(app, option) == before and revision_count(app) == count


def test_nul_in_a_query_value_is_refused(as_role: Any, world: World) -> None:
    fac = as_role("facilitator")
    for url in (f"{base(world)}/history?kind=option%00", f"{base(world)}/history/as-of?at=%00"):
        response = fac.get(url)
        assert response.status_code == 400, url
        assert NUL_MESSAGE in response.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# Spreadsheets hold any text and run none of it
# --------------------------------------------------------------------------------------------


def test_exports_with_control_characters_and_formula_payloads(
    as_role: Any, world: World, app: Flask
) -> None:
    fac = as_role("facilitator")
    edit_option(fac, app, world, world.options[0], title="Line one\x0bline two")
    edit_option(fac, app, world, world.options[1], title="x;=cmd|' /C calc'!A0;y")
    xlsx = fac.get(f"{base(world)}/export/matrix.xlsx")
    assert xlsx.status_code == 200
    titles = [row[0] for row in load_workbook(io.BytesIO(xlsx.data))["Matrix"].values]
    assert "Line one\nline two" in titles
    body = fac.get(f"{base(world)}/export/matrix.csv").data.decode("utf-8-sig")
    assert "x;'=cmd|' /C calc'!A0;y" in body
    rows = list(csv.reader(io.StringIO(body)))
    assert all(line.startswith('"') for line in body.split("\r\n") if line)
    assert any(row and row[0] == "x;'=cmd|' /C calc'!A0;y" for row in rows)


# --------------------------------------------------------------------------------------------
# Dates, redirects and headers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "as-of?at=0001-01-01T00:00%2B14:00",
        "as-of?at=9999-12-31T23:59-14:00",
        "as-of?at=0001-01-01T05:59%2B06:00",
        "compare?from_at=0001-01-01T00:00%2B14:00",
        "compare?from=1&to_at=9999-12-31T23:59:59-12:00",
    ],
)
def test_out_of_range_dates_are_a_clear_400(as_role: Any, world: World, query: str) -> None:
    response = as_role("facilitator").get(f"{base(world)}/history/{query}")
    assert response.status_code == 400, response.status_code
    assert "between the years 1 and 9999" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "/\r\nSet-Cookie: stolen=1",
        "/decisions\nx",
        "/\tx",
        "/\\example.org",
        "//example.org",
        "https://example.org/",
        "/\x7f",
    ],
)
def test_login_next_with_control_characters_goes_home(
    client: Any, world: World, target: str
) -> None:
    page = client.get("/login", query_string={"next": target})
    assert page.status_code == 200
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": "facilitator", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "stolen" not in str(response.headers)


def test_login_next_within_the_site_is_kept(client: Any, world: World) -> None:
    token = csrf_token(client)
    target = f"/decisions/{world.decision_id}/history?kind=option"
    response = client.post(
        "/login",
        data={"username": "facilitator", "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.headers["Location"] == target


def test_strict_transport_security_only_with_secure_cookies(app: Flask, db_url: str) -> None:
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    secure = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test-secret",
            "SESSION_COOKIE_SECURE": True,
        }
    )
    try:
        for url in ("/login", "/healthz", "/"):
            headers = secure.test_client().get(url).headers
            assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    finally:
        secure.extensions["options_matrix.engine"].dispose()


def test_memo_pdf_is_not_stored_but_still_revalidates(
    app: Flask, world: World, as_role: Any
) -> None:
    from tests.integration.test_memos import score_world

    score_world(app, world)
    facilitator: Actions = as_role("facilitator")
    memo_id = issued_id(issue(facilitator, world))
    first = download(facilitator, world, memo_id)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-store"
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{64}"', etag)
    again = facilitator.get(
        f"/decisions/{world.decision_id}/memos/{memo_id}.pdf", headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "private, no-store"
