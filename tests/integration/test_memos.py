"""Decision memos: issuing from the browser's forms, the PDF's content, integrity, safety, roles.

Every test that touches the database runs on SQLite and PostgreSQL (the ``app`` fixture).
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app import analysis
from app.adapters import pdf as memo
from app.cli.memos import render_memo_command
from app.db.engine import get_engine
from app.db.models import Decision, Memo, OptionStatus, Role, User
from app.db.uow import unit_of_work
from app.services import memos as memo_service
from app.services import options as option_service
from app.services import scores as score_service
from app.services.matrix import build_matrix
from app.web.print import MEMO_PRINTER
from tests.conftest import Actions
from tests.factories import World

SECTIONS = [
    "Bottom line",
    "Background and question",
    "Options considered",
    "Criteria and weights",
    "The matrix",
    "What drives the totals",
    "Where the team disagrees",
    "The group's own views",
    "Robustness",
    "Provenance",
]
FORM = {
    "memorandum_for": "The Principal",
    "from_line": "Morgan Hale, options team",
    "subject": "Test decision: options and recommendation",
    "bottom_line": "We recommend **Joint drills**.",
    "sections": ["chart", "disagreements", "robustness"],
}
# (option index, criterion index) → (analyst-a, analyst-b) scores; criteria: benefit 60, cost 40.
SCORES = {
    (0, 0): ((1, "Hosts refuse outright."), (5, "Hosts welcome it quietly.")),  # contested
    (0, 1): ((2, "Little risk."), (2, "Low risk.")),
    (1, 0): ((4, "Acceptable."), (3, "Mixed reception.")),
    (1, 1): ((3, "Some risk."), (4, "Real risk.")),
}


# --- helpers -------------------------------------------------------------------------------------


def score_world(app: Flask, world: World, extra: dict[str, Any] | None = None) -> None:
    """Scores as in SCORES, plus a withdrawn option; ``extra`` overrides rationales/texts."""
    extra = extra or {}
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        for (i, j), pair in SCORES.items():
            for analyst, (value, rationale) in zip(("analyst-a", "analyst-b"), pair, strict=True):
                score_service.save_score(
                    session=session,
                    decision=decision,
                    analyst_id=world.users[analyst],
                    option_id=world.options[i],
                    criterion_id=world.criteria[j],
                    value=str(value),
                    rationale=extra.get("rationale", rationale) if (i, j) == (0, 0) else rationale,
                )
        withdrawn = option_service.create_option(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            data={"title": "Abandoned basing idea", "summary": "Dropped early."},
        )
        option_service.set_status(
            session=session,
            decision_id=world.decision_id,
            option_id=withdrawn.id,
            actor_id=world.users["facilitator"],
            status=OptionStatus.WITHDRAWN,
        )


def expected_results() -> tuple[list[float], list[int | None]]:
    """Totals and ranks straight from app.domain.analysis for SCORES (independent of the services)."""
    tensor = np.full((2, 2, 2), np.nan)
    for (i, j), pair in SCORES.items():
        for k, (value, _) in enumerate(pair):
            tensor[k, i, j] = value
    evaluation = analysis.evaluate(
        tensor, [60, 40], ["benefit", "cost"], analysis.Scale(1.0, 5.0), "mean"
    )
    return [float(t) for t in evaluation.totals], evaluation.ranks


def memo_count(app: Flask) -> int:
    with app.app_context(), unit_of_work() as session:
        return int(session.scalar(select(func.count()).select_from(Memo)) or 0)


def issue(actions: Actions, world: World, **overrides: Any) -> Any:
    return actions.post(f"/decisions/{world.decision_id}/memos", {**FORM, **overrides})


def issued_id(response: Any) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    match = re.search(r"issued=(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def download(actions: Actions, world: World, memo_id: int) -> Any:
    return actions.get(f"/decisions/{world.decision_id}/memos/{memo_id}.pdf")


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


@pytest.fixture
def facilitator(as_role: Any, app: Flask, world: World) -> Actions:
    score_world(app, world)
    return as_role("facilitator")


# --- the PDF and its content ---------------------------------------------------------------------


def test_issued_memo_is_a_complete_pdf(app: Flask, world: World, facilitator: Actions) -> None:
    memo_id = issued_id(issue(facilitator, world))
    response = download(facilitator, world, memo_id)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF-")

    reader = PdfReader(io.BytesIO(pdf))
    pages = pages_text(pdf)
    body = "\n".join(pages)
    flat = " ".join(body.split())
    for title in ("Intelligence sharing", "Joint drills", "Abandoned basing idea"):
        assert title in flat
    assert "withdrawn" in flat.lower()
    for criterion in ("Acceptability", "Escalation risk"):
        assert criterion in flat

    # Totals and ranks as app.domain.analysis computes them, on the matrix rows: rank, title, total.
    totals, ranks = expected_results()
    for title, total, rank in zip(
        ("Intelligence sharing", "Joint drills"), totals, ranks, strict=True
    ):
        row = re.search(rf"^\s*{rank}\s+{title}\b.*\s{total:.1f}\s*$", body, re.MULTILINE)
        assert row, (title, f"{total:.1f}", rank)

    # The marking at the top and bottom of every page; "Page N of M" on every page.
    for n, page in enumerate(pages, start=1):
        assert page.count("UNCLASSIFIED") >= 2, n
        assert f"Page {n} of {len(pages)}" in page
    assert f"Page 1 of {len(pages)}" in pages[0]

    assert outline_titles(reader) == SECTIONS
    meta = reader.metadata
    assert meta is not None
    assert meta.title == FORM["subject"]
    assert meta.author == FORM["from_line"]
    assert "Test decision" in (meta.subject or "")
    assert meta.creation_date is not None

    # Fonts are embedded subsets of the bundled faces (named by memo.css), not system fonts.
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descendant = font.get_object()
            if "/DescendantFonts" in descendant:
                descendant = descendant["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add(str(descendant["/BaseFont"]).split("+")[-1])
    assert {"Memo-Serif", "Memo-Serif-Bold", "Memo-Sans-Semi-Condensed"} <= fonts, fonts

    # Provenance: decision, round, revision, snapshot hash, issuer, version.
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        assert row.sha256 == hashlib.sha256(pdf).hexdigest() and row.size == len(pdf)
        assert row.snapshot_sha256 == memo_service.snapshot_digest(row.snapshot)
        assert row.revision_id and row.round_number == 1
        assert row.issued_by == world.users["facilitator"]
    assert row.snapshot_sha256 in flat.replace(" ", "") or row.snapshot_sha256 in body.replace(
        "\n", ""
    )
    assert f"Revision {row.revision_id}" in flat
    assert "Facilitator (facilitator)" in flat
    assert f"Options Matrix {row.app_version}" in flat


def test_matrix_numbers_are_the_matrix_pages_numbers(
    app: Flask, world: World, facilitator: Actions
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    totals, ranks = expected_results()
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        stored = {r["option_id"]: r for r in row.snapshot["matrix"]["rows"]}
    for option_id, total, rank in zip(world.options, totals, ranks, strict=True):
        assert stored[option_id]["total"] == pytest.approx(total)
        assert stored[option_id]["rank"] == rank
        # Contributions stack up to the total (the chart's bars).
        parts = [c["contribution"] or 0 for c in stored[option_id]["cells"]]
        assert sum(parts) == pytest.approx(total)
    contested = row.snapshot["disagreements"]
    assert [(d["option_id"], d["criterion_id"]) for d in contested] == [
        (world.options[0], world.criteria[0])
    ]
    assert [s["analyst"] for s in contested[0]["scores"]] == ["Analyst A", "Analyst B"]
    robustness = row.snapshot["robustness"]
    assert robustness["first"]
    # The robustness section names its models and carries what it takes to reproduce it.
    assert robustness["stamp"] == {
        "aggregation": "mean",
        "missing_policy": "skip",
        "weight_model": "band",
        "band_percentage_points": 5.0,
        "score_model": "panel",
        "samples": 10_000,
        "seed": 0,
        "app_version": row.app_version,
    }
    assert robustness["methods"]["sentence"].startswith("TOPSIS, a second way")
    text_ = " ".join("\n".join(pages_text(row.pdf)).split())
    assert "Hosts refuse outright." in text_ and "Analyst A" in text_
    assert "within ± 5 percentage points of the agreed weight" in text_
    assert "the panel of analysts drawn again with replacement" in text_
    assert f"seed 0; Options Matrix {row.app_version}" in text_
    assert robustness["methods"]["sentence"] in text_
    for first in robustness["first"]:
        assert first["text"].replace("\u00a0", " ") in text_


def rename_analysts(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        for username, name in (("analyst-a", "Priya Natarajan"), ("analyst-b", "Tom Becker")):
            user = session.get(User, world.users[username])
            assert user is not None
            user.display_name = name
            session.add(user)


def test_analysts_are_named_when_the_decision_says_so(
    app: Flask, world: World, facilitator: Actions
) -> None:
    rename_analysts(app, world)
    url = f"/decisions/{world.decision_id}/memos/preview"
    anonymous = facilitator.post(url, FORM).get_data(as_text=True)
    assert "Analyst A" in anonymous and "Priya Natarajan" not in anonymous
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        decision.name_analysts_in_memo = True
        session.add(decision)
    named = facilitator.post(url, FORM).get_data(as_text=True)
    assert "Priya Natarajan" in named and "Tom Becker" in named and "Analyst A" not in named


def test_optional_sections_can_be_left_out(app: Flask, world: World, facilitator: Actions) -> None:
    memo_id = issued_id(issue(facilitator, world, sections=[]))
    reader = PdfReader(io.BytesIO(download(facilitator, world, memo_id).get_data()))
    assert outline_titles(reader) == [
        s
        for s in SECTIONS
        if s not in ("What drives the totals", "Where the team disagrees", "Robustness")
    ]


def test_a_memo_before_any_scores_says_so(app: Flask, world: World, as_role: Any) -> None:
    facilitator = as_role("facilitator")
    with app.app_context(), unit_of_work() as session:  # one partial score: one option only
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.save_score(
            session=session,
            decision=decision,
            analyst_id=world.users["analyst-a"],
            option_id=world.options[0],
            criterion_id=world.criteria[0],
            value="4",
        )
    memo_id = issued_id(issue(facilitator, world))
    text_ = " ".join(
        "\n".join(pages_text(download(facilitator, world, memo_id).get_data())).split()
    )
    assert "Intelligence sharing" in text_ and "Joint drills" in text_
    assert "Not every criterion was scored for this option" in text_
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        memo_service.check_issuable(
            decision,
            build_matrix(
                session=session,
                decision=decision,
                viewer_id=world.users["facilitator"],
                role=Role.FACILITATOR,
            ),
        )


def test_a_memo_needs_options_and_criteria(app: Flask, as_role: Any, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        from app.services import decisions as decision_service

        empty = decision_service.create_decision(
            session=session,
            actor=session.get(User, world.users["facilitator"]),
            data={"title": "Empty decision"},
        )
        empty_id = empty.id
    response = as_role("facilitator").post(f"/decisions/{empty_id}/memos", FORM)
    assert response.status_code == 409
    assert "at least one active option and one criterion" in response.get_data(as_text=True)
    assert memo_count(app) == 0


# --- integrity -----------------------------------------------------------------------------------


def test_redownload_returns_identical_bytes(
    app: Flask, world: World, facilitator: Actions, as_role: Any
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    first = download(facilitator, world, memo_id)
    again = download(as_role("observer"), world, memo_id)
    assert first.get_data() == again.get_data()
    digest = hashlib.sha256(first.get_data()).hexdigest()
    assert first.headers["ETag"] == f'"{digest}"'
    cached = facilitator.get(
        f"/decisions/{world.decision_id}/memos/{memo_id}.pdf",
        headers={"If-None-Match": f'"{digest}"'},
    )
    assert cached.status_code == 304
    # A later memo supersedes, it does not replace.
    second_id = issued_id(issue(facilitator, world, subject="Second memo"))
    assert second_id != memo_id
    assert download(facilitator, world, memo_id).get_data() == first.get_data()


def render_with_fonttools_at(monkeypatch: pytest.MonkeyPatch, html: str, when: float) -> bytes:
    """The PDF for ``html`` as an installation without libharfbuzz-subset renders it (WeasyPrint
    then subsets the fonts with fontTools), with fontTools' clock reading ``when``."""
    monkeypatch.setattr("weasyprint.pdf.fonts.harfbuzz_subset", None)
    monkeypatch.setattr("fontTools.misc.timeTools.time", SimpleNamespace(time=lambda: when))
    return memo.html_to_pdf(html)


def test_the_same_snapshot_renders_the_same_pdf(
    app: Flask, world: World, facilitator: Actions, monkeypatch: pytest.MonkeyPatch
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        snapshot, pdf = row.snapshot, bytes(row.pdf)
    again = memo_service.render_snapshot(snapshot, printer=MEMO_PRINTER, timeout=60)
    assert again.snapshot_sha256 == memo_service.snapshot_digest(snapshot)
    assert again.pdf == pdf
    assert (
        facilitator.get(f"/decisions/{world.decision_id}/memos/{memo_id}/snapshot.json").json
        == snapshot
    )
    # Whenever it renders, and whichever font subsetter the installation has: fontTools stamps
    # subset fonts with the current second unless the renderer pins the stamp.
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = render_with_fonttools_at(monkeypatch, again.html, 1_800_000_000.0)
    assert render_with_fonttools_at(monkeypatch, again.html, 1_800_000_061.0) == first


def test_no_route_edits_or_deletes_a_memo(app: Flask) -> None:
    rules = [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith("memos.") or "/memos" in r.rule
    ]
    assert rules
    posts = set()
    for rule in rules:
        methods = set(rule.methods or ()) - {"HEAD", "OPTIONS"}
        assert methods <= {"GET", "POST"}, rule
        if "POST" in methods:
            posts.add(rule.endpoint)
            assert "<int:memo_id>" not in rule.rule, rule  # nothing is posted to an issued memo
    assert posts == {"memos.issue", "memos.preview"}


def test_the_database_refuses_to_change_or_delete_a_memo(
    app: Flask, world: World, facilitator: Actions
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    engine = get_engine(app)
    for statement in (
        "UPDATE memo SET subject = 'changed' WHERE id = :id",
        "UPDATE memo SET pdf = :pdf WHERE id = :id",
        "DELETE FROM memo WHERE id = :id",
    ):
        with (
            pytest.raises(DBAPIError, match="cannot be changed or deleted"),
            engine.begin() as conn,
        ):
            conn.execute(text(statement), {"id": memo_id, "pdf": b"%PDF-forged"})
    assert memo_count(app) == 1


# --- safety --------------------------------------------------------------------------------------


@dataclass
class Recorder:
    url: str
    requests: list[str]


@pytest.fixture
def http_recorder() -> Iterator[Recorder]:
    """A local HTTP server that records every request (there must be none)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.path)
            self.send_response(302 if self.path.startswith("/redirect") else 200)
            self.send_header("Location", "file:///etc/passwd")
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Recorder(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def hostile(url: str) -> str:
    return (
        f"![tracker]({url}/md-image.png) and [a link]({url}/md-link) and ![p](file:///etc/passwd)\n\n"
        f'<img src="{url}/raw-img.png"> <img src="file:///etc/passwd">\n'
        f'<link rel="stylesheet" href="{url}/link.css"> <link rel="attachment" href="file:///etc/passwd">\n'
        f"<style>@import url({url}/import.css); body {{ background: url({url}/bg.png) }}</style>\n"
        f'<div style="background-image: url({url}/style-attr.png)">styled</div>\n'
        f'<iframe src="{url}/frame"></iframe><object data="file:///etc/passwd"></object>'
        f'<svg><image href="{url}/svg.png"/></svg><a href="{url}/redirect">redirect</a>'
    )


PASSWD_MARKERS = ("root:x:0:0", "/bin/bash", "/usr/sbin/nologin", "daemon:")


def test_hostile_content_fetches_nothing(
    app: Flask, world: World, as_role: Any, http_recorder: Recorder
) -> None:
    url = http_recorder.url
    evil = hostile(url)
    score_world(app, world, {"rationale": evil[:2000]})
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        decision.background = evil
        session.add(decision)
        option_service.create_option(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            data={
                "title": f'<img src="{url}/title.png">',
                "summary": f"<link rel=stylesheet href={url}/summary.css>",
                "description": evil,
            },
        )
    facilitator = as_role("facilitator")
    preview = facilitator.post(f"/decisions/{world.decision_id}/memos/preview", FORM).get_data(
        as_text=True
    )
    # Nothing hostile survives as markup: no tag carries the server's address.
    for tag in re.findall(r"<[a-zA-Z][^>]*>", preview):
        assert "127.0.0.1" not in tag and "file:" not in tag, tag
    assert "<style" not in preview and "<iframe" not in preview and "<object" not in preview

    memo_id = issued_id(issue(facilitator, world, bottom_line=evil))
    pdf = download(facilitator, world, memo_id).get_data()
    body = "\n".join(pages_text(pdf))
    assert http_recorder.requests == []
    for marker in PASSWD_MARKERS:
        assert marker not in body
    assert b"/EmbeddedFile" not in pdf and b"/URI" not in pdf


def test_the_fetcher_refuses_everything_but_our_assets(
    http_recorder: Recorder, tmp_path: Any
) -> None:
    """Even raw HTML that skipped the sanitiser cannot make WeasyPrint fetch anything."""
    from weasyprint import HTML

    url = http_recorder.url
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:TOP-SECRET-CONTENT\n")
    html = (
        "<!doctype html><html><head>"
        f'<link rel="stylesheet" href="{memo.PDF_ASSET_BASE}memo.css">'
        f'<link rel="stylesheet" href="{url}/head.css">'
        f'<link rel="attachment" href="file://{secret}"><link rel="attachment" href="{url}/att">'
        f"<style>@import url({url}/import.css); @font-face {{ font-family: X; src: url({url}/f.ttf) }}"
        f" p {{ background: url({url}/bg.png); font-family: X }}"
        f" h1 {{ background: url(file://{secret}) }}</style></head><body>"
        f'<h1>Hostile</h1><p>text</p><img src="{url}/img.png"><img src="file://{secret}">'
        f'<img src="{url}/redirect"><object data="file://{secret}"></object>'
        f'<embed src="{url}/embed"><iframe src="file://{secret}"></iframe>'
        f'<svg width="10" height="10"><image href="{url}/svg.png" width="10" height="10"/>'
        f'<image href="file://{secret}" width="10" height="10"/></svg>'
        f'<img src="{memo.ASSET_ORIGIN}/static/../app/config.py">'
        f'<img src="{memo.ASSET_ORIGIN}/static/fonts/../../../../etc/passwd">'
        '<img src="data:image/svg+xml;utf8,<svg xmlns=%22http://www.w3.org/2000/svg%22/>">'
        "</body></html>"
    )
    fetcher = memo.make_url_fetcher()
    pdf = HTML(string=html, base_url=memo.PDF_ASSET_BASE, url_fetcher=fetcher).write_pdf()
    assert pdf.startswith(b"%PDF-")
    assert http_recorder.requests == []
    assert b"TOP-SECRET" not in pdf and b"/EmbeddedFile" not in pdf
    text_ = "\n".join(pages_text(pdf))
    assert "TOP-SECRET" not in text_ and "root:x" not in text_
    refused = " ".join(fetcher.refused)
    for fragment in (
        "head.css",
        "import.css",
        "img.png",
        "file://",
        "/att",
        "svg.png",
        "config.py",
        "passwd",
    ):
        assert fragment in refused, fragment
    assert f"{memo.PDF_ASSET_BASE}memo.css" not in fetcher.refused

    # Only files under static/ with an asset suffix are served.
    assert memo.static_path(f"{memo.PDF_ASSET_BASE}memo.css") is not None
    assert memo.static_path(f"{memo.PDF_ASSET_BASE}fonts/DejaVuSerif.ttf") is not None
    for bad in (
        f"{memo.PDF_ASSET_BASE}../app/config.py",
        f"{memo.PDF_ASSET_BASE}%2e%2e/app/memo.py",
        f"{memo.PDF_ASSET_BASE}app.js",
        f"{memo.PDF_ASSET_BASE}memo.css?x=1",
        "https://evil.example/static/memo.css",
        "http://memo-assets.invalid/static/memo.css",
        f"file://{memo.STATIC_DIR}/memo.css",
    ):
        assert memo.static_path(bad) is None, bad


# --- roles, CSRF, refusals, failures -------------------------------------------------------------


@pytest.mark.parametrize("username", ["analyst-a", "observer"])
def test_analysts_and_observers_list_and_download_but_cannot_issue(
    app: Flask, world: World, facilitator: Actions, as_role: Any, username: str
) -> None:
    memo_id = issued_id(issue(facilitator, world))
    user = as_role(username)
    base = f"/decisions/{world.decision_id}/memos"
    listing = user.get(base)
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert FORM["subject"] in page and f"{memo_id}.pdf" in page
    assert "Issue memo" not in page
    assert download(user, world, memo_id).get_data().startswith(b"%PDF-")
    assert issue(user, world).status_code == 403
    assert user.get(f"{base}/new").status_code == 403
    assert user.post(f"{base}/preview", FORM).status_code == 403
    assert memo_count(app) == 1


def test_non_members_get_404(app: Flask, world: World, facilitator: Actions, as_role: Any) -> None:
    memo_id = issued_id(issue(facilitator, world))
    outsider = as_role("outsider")
    base = f"/decisions/{world.decision_id}/memos"
    for response in (
        outsider.get(base),
        outsider.get(f"{base}/new"),
        download(outsider, world, memo_id),
        outsider.get(f"{base}/{memo_id}/snapshot.json"),
        issue(outsider, world),
    ):
        assert response.status_code == 404
    assert download(facilitator, world, memo_id + 100).status_code == 404


def test_missing_csrf_token_is_refused(app: Flask, world: World, facilitator: Actions) -> None:
    response = facilitator.client.post(f"/decisions/{world.decision_id}/memos", data=FORM)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert memo_count(app) == 0


def test_blind_unrevealed_round_is_refused_with_a_message(
    app: Flask, world: World, facilitator: Actions
) -> None:
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        decision.scoring_mode = "blind"
        session.add(decision)
    base = f"/decisions/{world.decision_id}/memos"
    form_page = facilitator.get(f"{base}/new").get_data(as_text=True)
    assert "scored blind and has not been revealed" in form_page
    response = issue(facilitator, world)
    assert response.status_code == 409
    assert "scored blind and has not been revealed" in response.get_data(as_text=True)
    htmx = facilitator.post(base, FORM, htmx=True, target="memo-form")
    assert htmx.status_code == 422
    assert "scored blind and has not been revealed" in htmx.get_data(as_text=True)
    assert "<html" not in htmx.get_data(as_text=True)
    assert memo_count(app) == 0

    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        score_service.reveal_round(
            session=session, decision=decision, actor_id=world.users["facilitator"]
        )
    issued_id(issue(facilitator, world))
    assert memo_count(app) == 1


def test_a_failing_render_stores_nothing(
    app: Flask, world: World, facilitator: Actions, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(html: str, **kwargs: Any) -> bytes:
        raise memo.MemoRenderError("fonts are missing")

    monkeypatch.setattr(memo, "render_pdf", broken)
    response = issue(facilitator, world)
    assert response.status_code == 503
    assert "could not be rendered" in response.get_data(as_text=True)
    assert "Nothing was issued" in response.get_data(as_text=True)
    htmx = facilitator.post(f"/decisions/{world.decision_id}/memos", FORM, htmx=True)
    assert htmx.status_code == 422 and "Nothing was issued" in htmx.get_data(as_text=True)
    assert memo_count(app) == 0


def test_a_render_over_its_time_bound_is_stopped_and_stores_nothing(
    app: Flask, world: World, facilitator: Actions
) -> None:
    app.config["MEMO_RENDER_TIMEOUT"] = 0.05
    response = issue(facilitator, world)
    assert response.status_code == 503
    assert "took longer than 0.05 s" in response.get_data(as_text=True)
    assert memo_count(app) == 0
    app.config["MEMO_RENDER_TIMEOUT"] = 60.0
    issued_id(issue(facilitator, world))  # a fresh worker takes over
    assert memo_count(app) == 1


def test_invalid_form_is_returned_with_messages(
    app: Flask, world: World, facilitator: Actions
) -> None:
    response = issue(facilitator, world, memorandum_for="  ", sections=["everything"])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "MEMORANDUM FOR is required." in page
    assert "unknown section" in page
    htmx = facilitator.post(
        f"/decisions/{world.decision_id}/memos",
        {**FORM, "subject": ""},
        htmx=True,
        target="memo-form",
    )
    assert htmx.status_code == 422
    assert 'id="memo-form"' in htmx.get_data(as_text=True) and "<html" not in htmx.get_data(
        as_text=True
    )
    assert memo_count(app) == 0


# --- the web flow --------------------------------------------------------------------------------


def test_form_preview_and_htmx_issue(app: Flask, world: World, facilitator: Actions) -> None:
    base = f"/decisions/{world.decision_id}/memos"
    page = facilitator.get(f"{base}/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="Test decision: options and recommendation"' in html  # subject from the decision
    assert "We recommend **" in html  # a drafted bottom line
    assert 'formtarget="memo-preview"' in html and 'hx-indicator="#issue-progress"' in html

    preview = facilitator.post(f"{base}/preview", FORM)
    assert preview.status_code == 200
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    body = preview.get_data(as_text=True)
    for section in SECTIONS:
        assert f"<h2>{section}</h2>" in body
    assert 'href="/static/memo.css"' in body and " style=" not in body and "<script" not in body
    assert memo_count(app) == 0

    response = facilitator.post(base, FORM, htmx=True, target="memo-form")
    assert response.status_code == 200
    location = response.headers["HX-Redirect"]
    memo_id = int(location.rsplit("issued=", 1)[1])
    listing = facilitator.get(location).get_data(as_text=True)
    assert "Memo 1 issued" in listing
    assert f'src="{base}/{memo_id}.pdf"' in listing  # the download starts by itself
    assert f"/decisions/{world.decision_id}/history/as-of?revision=" in listing
    with app.app_context(), unit_of_work() as session:
        row = session.get(Memo, memo_id)
        assert row is not None
        assert row.sha256[:16] in listing and f"{row.size / 1024:.0f}&nbsp;KB" in listing


def test_render_memo_command(app: Flask, world: World, tmp_path: Any) -> None:
    score_world(app, world)
    if "render-memo" not in app.cli.commands:  # type: ignore[attr-defined]
        app.cli.add_command(render_memo_command)
    runner = app.test_cli_runner()
    pdf_path, html_path = tmp_path / "memo.pdf", tmp_path / "memo.html"
    result = runner.invoke(
        args=["render-memo", str(world.decision_id), "-o", str(pdf_path), "--by", "facilitator"]
    )
    assert result.exit_code == 0, result.output
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    assert "Joint drills" in " ".join("\n".join(pages_text(pdf_path.read_bytes())).split())
    result = runner.invoke(
        args=["render-memo", str(world.decision_id), "-o", str(html_path), "--html"]
    )
    assert result.exit_code == 0, result.output
    assert "<h2>The matrix</h2>" in html_path.read_text()
    result = runner.invoke(args=["render-memo", "999", "-o", str(html_path)])
    assert result.exit_code != 0 and "does not exist" in result.output
    assert memo_count(app) == 0  # rendering from the shell stores nothing
