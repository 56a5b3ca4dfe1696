"""One JSON line per request on stderr, and the request id sent back on every answer."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from app.web.request_log import RequestLog
from tests.factories import World

GENERATED_ID = re.compile(r"[0-9a-f]{32}")
FIELDS = {"time", "method", "path", "status", "duration_ms", "request_id", "user_id"}

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines(app: Flask, capsys: pytest.CaptureFixture[str]) -> Lines:
    """Turns request logging on; ``lines()`` returns the request lines written since the
    last call."""
    app.config["LOG_REQUESTS"] = True
    capsys.readouterr()

    def read() -> list[dict[str, Any]]:
        err = capsys.readouterr().err
        found = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        return [line for line in found if "request_id" in line]

    return read


def test_one_line_per_request_with_every_field_typed(client: FlaskClient, lines: Lines) -> None:
    response = client.get("/healthz?probe=1")
    (line,) = lines()
    assert set(line) == FIELDS
    arrived = datetime.fromisoformat(line["time"])
    assert arrived.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - arrived) < timedelta(minutes=5)
    assert line["time"].endswith("Z")
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"  # no query string
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert round(line["duration_ms"], 1) == line["duration_ms"]
    assert GENERATED_ID.fullmatch(line["request_id"])
    assert response.headers["X-Request-ID"] == line["request_id"]
    assert line["user_id"] is None


def test_each_request_gets_its_own_id(client: FlaskClient, lines: Lines) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second
    assert [line["request_id"] for line in lines()] == [first, second]


def test_logged_in_user_is_named_even_on_an_error_answer(
    app: Flask, world: World, as_role: Any, lines: Lines
) -> None:
    analyst = as_role("analyst-a")
    lines()  # the login's own requests
    assert analyst.get("/").status_code == 200
    assert analyst.get("/decisions/999999").status_code == 404
    found = lines()
    assert [(line["path"], line["status"]) for line in found] == [
        ("/", 200),
        ("/decisions/999999", 404),
    ]
    assert {line["user_id"] for line in found} == {world.users["analyst-a"]}


def test_anonymous_redirect_and_refusal_are_logged(client: FlaskClient, lines: Lines) -> None:
    assert client.get("/decisions/1").status_code == 302
    assert client.post("/login", data={"username": "x", "password": "y"}).status_code == 400
    found = lines()
    assert [(line["method"], line["status"], line["user_id"]) for line in found] == [
        ("GET", 302, None),
        ("POST", 400, None),
    ]


def test_static_file_is_logged_once(client: FlaskClient, lines: Lines) -> None:
    response = client.get("/static/app.css")
    assert response.status_code == 200
    response.close()
    (line,) = lines()
    assert (line["path"], line["status"]) == ("/static/app.css", 200)
    assert response.headers["X-Request-ID"] == line["request_id"]


@pytest.mark.parametrize("sent", ["abc.DEF_1-2", "x" * 64, "0"])
def test_a_sane_incoming_request_id_is_kept(client: FlaskClient, lines: Lines, sent: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    assert response.headers["X-Request-ID"] == sent
    assert [line["request_id"] for line in lines()] == [sent]


@pytest.mark.parametrize(
    "sent", ["", "two words", "x" * 65, "semi;colon", "ünïcode", 'quote"', "a/b", "{json}"]
)
def test_an_unfit_incoming_request_id_is_replaced(
    client: FlaskClient, lines: Lines, sent: str
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": sent})
    returned = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(returned) and returned != sent
    assert [line["request_id"] for line in lines()] == [returned]


def test_an_unhandled_exception_is_one_500_line(
    app: Flask, client: FlaskClient, lines: Lines
) -> None:
    def broken() -> str:
        raise RuntimeError("the view broke")

    app.view_functions["health"] = broken
    response = client.get("/healthz", headers={"X-Request-ID": "trace-500"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-500"
    found = lines()
    assert [(line["status"], line["request_id"]) for line in found] == [(500, "trace-500")]


def test_an_exception_escaping_the_application_is_logged_as_500_once(
    app: Flask, lines: Lines
) -> None:
    def raising(environ: Any, start_response: Any) -> Any:
        raise RuntimeError("nothing answered")

    environ = EnvironBuilder(path="/anything", method="PUT").get_environ()
    with pytest.raises(RuntimeError, match="nothing answered"):
        RequestLog(raising, app)(environ, lambda *args: None)
    (line,) = lines()
    assert (line["method"], line["path"], line["status"]) == ("PUT", "/anything", 500)


def test_nothing_is_logged_when_the_setting_is_off(
    app: Flask, client: FlaskClient, lines: Lines
) -> None:
    app.config["LOG_REQUESTS"] = False
    response = client.get("/healthz")
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert lines() == []


def test_a_long_path_is_cut(client: FlaskClient, lines: Lines) -> None:
    client.get("/" + "p" * 1000)
    (line,) = lines()
    assert len(line["path"]) == 200 and line["path"].endswith("…")
