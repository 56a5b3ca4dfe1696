"""History pages: the activity feed, option timelines and text restores, the matrix "as of"
a change or a date and time, comparisons, and the CSV/XLSX downloads — with the blind-round
rule that nothing of another analyst's unrevealed scores leaks anywhere."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.db.models import Decision, Option, Revision, Role
from app.db.uow import unit_of_work
from app.services.matrix import build_matrix
from tests.conftest import Actions
from tests.factories import World

SECRET = "Quetzal-rationale-8821"


def base(world: World) -> str:
    return f"/decisions/{world.decision_id}"


def score(
    acts: Actions,
    world: World,
    option: int,
    criterion: int,
    value: Any,
    rationale: str | None = None,
) -> None:
    data = {"option_id": str(option), "criterion_id": str(criterion), "value": str(value)}
    if rationale is not None:
        data["rationale"] = rationale
    response = acts.post(f"{base(world)}/matrix/scores", data, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)


def edit_option(acts: Actions, app: Flask, world: World, option_id: int, **changes: str) -> None:
    with app.app_context(), unit_of_work(write=False) as session:
        option = session.get(Option, option_id)
        data = {
            "title": option.title,
            "summary": option.summary,
            "description": option.description,
            "version": str(option.version),
        }
    response = acts.post(f"{base(world)}/options/{option_id}", data | changes)
    assert response.status_code == 303


def revisions(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context(), unit_of_work(write=False) as session:
        return [tuple(r) for r in session.execute(select(Revision.__table__).order_by(Revision.id))]


def latest(app: Flask) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return int(session.scalar(select(func.max(Revision.id))))


def text_of(response: Any) -> str:
    assert response.status_code == 200, (
        response.status_code,
        response.get_data(as_text=True)[:500],
    )
    return response.get_data(as_text=True)


def entry_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="rev-(\d+)"', html)]


def totals_and_ranks(html: str) -> dict[str, str]:
    found = re.findall(r'id="(total|rank)-(\d+)"[^>]*>([^<]*)', html)
    return {f"{kind}-{oid}": value.strip() for kind, oid, value in found}


# --- the activity feed -------------------------------------------------------------------------


def test_feed_lists_changes_newest_first_in_plain_words(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    score(analyst, world, world.options[1], world.criteria[1], 3)
    score(analyst, world, world.options[1], world.criteria[1], 4, "Parallel drills near Termez.")
    html = text_of(as_role("observer").get(f"{base(world)}/history"))
    ids = entry_ids(html)
    assert ids == sorted(ids, reverse=True) and ids[0] == latest(app)
    assert (
        "Analyst A changed Joint drills on Escalation risk: 3 → 4, round 1 — "
        "“Parallel drills near Termez.”"
    ) in html
    assert "Facilitator proposed the option “Intelligence sharing”" in html
    assert "Facilitator added Analyst B as analyst" in html
    # Filters are labelled form controls.
    for label in ("Person", "Option", "Criterion", "Kind of change"):
        assert f">{label}</label>" in html
    assert "<html" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=score", {"score"}),
        ("kind=option", {"option"}),
        ("kind=criterion", {"criterion"}),
        ("kind=member", {"member"}),
    ],
)
def test_feed_filters_by_kind(
    as_role, world: World, app: Flask, query: str, expected: set[str]
) -> None:  # type: ignore[no-untyped-def]
    score(as_role("analyst-a"), world, world.options[0], world.criteria[0], 2)
    html = text_of(as_role("facilitator").get(f"{base(world)}/history?{query}"))
    ids = entry_ids(html)
    assert ids
    with app.app_context(), unit_of_work(write=False) as session:
        kinds = set(session.scalars(select(Revision.entity).where(Revision.id.in_(ids))))
    assert kinds == expected


def test_feed_filters_by_person_option_and_criterion(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    a, b = as_role("analyst-a"), as_role("analyst-b")
    score(a, world, world.options[0], world.criteria[0], 2)
    score(b, world, world.options[0], world.criteria[1], 5)
    score(b, world, world.options[1], world.criteria[0], 1)
    fac = as_role("facilitator")
    by_person = entry_ids(
        text_of(fac.get(f"{base(world)}/history?person={world.users['analyst-b']}"))
    )
    by_option = entry_ids(text_of(fac.get(f"{base(world)}/history?option={world.options[0]}")))
    by_both = entry_ids(
        text_of(
            fac.get(
                f"{base(world)}/history?person={world.users['analyst-b']}&criterion={world.criteria[0]}"
            )
        )
    )
    with app.app_context(), unit_of_work(write=False) as session:

        def rows(ids: list[int]) -> list[Revision]:
            return list(session.scalars(select(Revision).where(Revision.id.in_(ids))))

        assert len(by_person) == 2
        assert {r.actor_id for r in rows(by_person)} == {world.users["analyst-b"]}
        assert {r.option_id for r in rows(by_option)} == {world.options[0]}
        assert {r.entity for r in rows(by_option)} == {"option", "score"}
        [only] = rows(by_both)
        assert (only.option_id, only.criterion_id) == (world.options[1], world.criteria[0])


def test_feed_pages_with_a_cursor_and_htmx_load_more(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    analyst = as_role("analyst-a")
    for k in range(40):  # with the world's 8 and analyst B's 12: 60 changes, two pages
        score(
            analyst,
            world,
            world.options[k % 2],
            world.criteria[(k // 2) % 2],
            1 + k % 5,
            f"take {k}",
        )
    for k in range(12):
        score(as_role("analyst-b"), world, world.options[k % 2], world.criteria[0], 1 + k % 5)
    obs = as_role("observer")
    first = text_of(obs.get(f"{base(world)}/history"))
    ids = entry_ids(first)
    assert len(ids) == 50
    more = re.search(r'hx-get="([^"]+before=(\d+)[^"]*)"', first)
    assert more and int(more.group(2)) == ids[-1]
    url = more.group(1).replace("&amp;", "&")
    fragment = obs.get(url, htmx=True)
    page2 = text_of(fragment)
    assert "<html" not in page2 and "<li" in page2
    assert fragment.headers.get("Vary") and "HX-Request" in fragment.headers["Vary"]
    ids2 = entry_ids(page2)
    assert ids2 and max(ids2) < min(ids) and ids2 == sorted(ids2, reverse=True)
    everything = entry_ids(text_of(obs.get(url)))  # without htmx: a full page from the cursor
    assert everything[: len(ids2)] == ids2
    with app.app_context(), unit_of_work(write=False) as session:
        total = session.scalar(
            select(func.count())
            .select_from(Revision)
            .where(Revision.decision_id == world.decision_id)
        )
    assert len(ids) + len(ids2) == total  # every change once; nothing is hidden in open mode
    assert "Load older changes" not in page2


def test_feed_filter_form_answers_htmx_with_the_list_only(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    response = as_role("observer").get(f"{base(world)}/history?kind=criterion", htmx=True)
    html = text_of(response)
    assert html.lstrip().startswith('<ol id="feed-list"') and "<html" not in html
    assert "added the criterion “Acceptability”" in html


@pytest.mark.parametrize("query", ["kind=nonsense", "person=abc", "before=x"])
def test_feed_rejects_bad_filters(as_role, world: World, query: str) -> None:  # type: ignore[no-untyped-def]
    assert as_role("observer").get(f"{base(world)}/history?{query}").status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/history",
        "/history/as-of?revision=1",
        "/history/compare?from=1",
        "/history/options/{option}",
        "/export/matrix.csv",
        "/export/matrix.xlsx",
    ],
)
def test_outsiders_get_404_and_observers_read(as_role, world: World, path: str) -> None:  # type: ignore[no-untyped-def]
    url = base(world) + path.format(option=world.options[0])
    assert as_role("outsider").get(url).status_code == 404
    assert as_role("observer").get(url, follow_redirects=True).status_code == 200


# --- blind rounds: nothing leaks ---------------------------------------------------------------


def leak_urls(world: World, point: int) -> list[str]:
    b = base(world)
    o, c = world.options[0], world.criteria[0]
    return [
        f"{b}/history",
        f"{b}/history?person=0",
        f"{b}/history?kind=score",
        f"{b}/options/{o}",
        f"{b}/history/options/{o}",
        f"{b}/history/as-of?revision={point}",
        f"{b}/history/as-of/cells/{o}/{c}?revision={point}",
        f"{b}/history/compare?from=1&to={point}",
        f"{b}/export/matrix.csv",
        f"{b}/export/matrix.csv?revision={point}",
    ]


def xlsx_text(body: bytes) -> str:
    wb = load_workbook(io.BytesIO(body))
    return "\n".join(
        str(v)
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for v in row
        if v is not None
    )


def test_blind_scores_stay_hidden_in_every_history_view_until_revealed(  # type: ignore[no-untyped-def]
    as_role, world: World, app: Flask
) -> None:
    fac = as_role("facilitator")
    fac.post(f"{base(world)}/settings", {"scoring_mode": "blind"})
    a, b = as_role("analyst-a"), as_role("analyst-b")
    score(a, world, world.options[0], world.criteria[0], 2, "mine-visible-to-me")
    score(b, world, world.options[0], world.criteria[0], 5, SECRET)
    point = latest(app)
    for viewer in (fac, as_role("observer"), a):
        for url in leak_urls(world, point):
            response = viewer.get(url, htmx="/history/options/" in url, follow_redirects=True)
            body = response.get_data(as_text=True)
            assert response.status_code == 200, url
            assert SECRET not in body, url
            assert "Analyst B scored" not in body, url
        xlsx = viewer.get(f"{base(world)}/export/matrix.xlsx?revision={point}")
        assert SECRET not in xlsx_text(xlsx.data)
    # Each analyst sees their own.
    assert SECRET in text_of(b.get(f"{base(world)}/history"))
    assert SECRET in text_of(b.get(f"{base(world)}/options/{world.options[0]}"))
    assert '"Intelligence sharing","5.0"' in text_of(b.get(f"{base(world)}/export/matrix.csv"))
    assert SECRET in xlsx_text(b.get(f"{base(world)}/export/matrix.xlsx").data)
    assert "mine-visible-to-me" in text_of(a.get(f"{base(world)}/history"))
    as_of = text_of(a.get(f"{base(world)}/history/as-of?revision={point}"))
    assert "You: 2" in as_of and "hidden here" in as_of
    # After the reveal everyone sees it, in the feed and in the matrix as of the same point.
    fac.post(f"{base(world)}/rounds/reveal", {})
    assert SECRET in text_of(fac.get(f"{base(world)}/history"))
    assert SECRET in text_of(as_role("observer").get(f"{base(world)}/options/{world.options[0]}"))
    revealed = text_of(fac.get(f"{base(world)}/history/as-of?revision={latest(app)}"))
    assert "hidden here" not in revealed
    # …but the matrix as it stood before the reveal stays as it stood: values hidden.
    before = text_of(fac.get(f"{base(world)}/history/as-of?revision={point}"))
    assert "hidden here" in before and "was blind and not yet revealed at that point" in before


# --- option timeline and restoring an earlier text ---------------------------------------------


def test_option_timeline_shows_edits_as_word_diffs_withdrawals_and_scores(  # type: ignore[no-untyped-def]
    as_role, world: World, app: Flask
) -> None:
    fac = as_role("facilitator")
    o = world.options[1]
    edit_option(
        fac,
        app,
        world,
        o,
        summary="Hold joint drills near the border",
        description="Exercises with **willing** partners.",
    )
    fac.post(f"{base(world)}/options/{o}/withdraw", {})
    fac.post(f"{base(world)}/options/{o}/restore", {})
    score(as_role("analyst-b"), world, o, world.criteria[0], 4, "Tashkent agrees.")
    html = text_of(as_role("observer").get(f"{base(world)}/options/{o}"))
    section = html[html.index('id="history"') :]
    assert "Facilitator edited “Joint drills”: summary and description." in section
    assert "<del>" in section and "<ins>" in section
    assert "near the border" in section and "willing" in section
    assert "Facilitator withdrew the option “Joint drills”." in section
    assert "Facilitator restored the withdrawn option “Joint drills”." in section
    assert (
        "Analyst B scored Joint drills on Acceptability: 4, round 1 — “Tashkent agrees.”" in section
    )
    assert "Facilitator proposed the option “Joint drills”" in section
    assert "Intelligence sharing" not in section  # only this option's changes
    ids = entry_ids(section)
    assert ids == sorted(ids, reverse=True)
    assert "Restore this text" not in section  # observers cannot restore


def test_timeline_pages_with_htmx(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    a = as_role("analyst-a")
    for k in range(35):
        score(a, world, world.options[0], world.criteria[k % 2], 1 + k % 5)
    html = text_of(a.get(f"{base(world)}/options/{world.options[0]}"))
    first = entry_ids(html[html.index('id="history"') :])
    assert len(first) == 30
    more = re.search(r'hx-get="(/decisions/\d+/history/options/\d+\?before=(\d+))"', html)
    assert more and int(more.group(2)) == first[-1]
    fragment = text_of(a.get(more.group(1), htmx=True))
    assert "<html" not in fragment
    rest = entry_ids(fragment)
    assert rest and max(rest) < min(first)
    assert len(first) + len(rest) == 35 + 1  # 35 score changes and the option's creation
    plain = a.get(more.group(1))
    assert plain.status_code == 302 and plain.headers["Location"].endswith("#history")


def test_facilitator_restores_an_earlier_text_as_a_new_revision(  # type: ignore[no-untyped-def]
    as_role, world: World, app: Flask
) -> None:
    fac = as_role("facilitator")
    o = world.options[0]
    edit_option(fac, app, world, o, title="Intel sharing, expanded", summary="Changed summary")
    before = revisions(app)
    html = text_of(fac.get(f"{base(world)}/options/{o}"))
    assert "Restore this text" in html
    with app.app_context(), unit_of_work(write=False) as session:
        created = session.scalar(
            select(Revision.id).where(
                Revision.option_id == o, Revision.entity == "option", Revision.action == "create"
            )
        )
    url = f"{base(world)}/history/options/{o}/restore"
    # Only facilitators, only with the CSRF token, only texts of this option.
    assert as_role("analyst-a").post(url, {"revision": created}).status_code == 403
    assert as_role("observer").post(url, {"revision": created}).status_code == 403
    assert fac.client.post(url, data={"revision": created}).status_code == 400
    assert (
        fac.post(
            f"{base(world)}/history/options/{world.options[1]}/restore", {"revision": created}
        ).status_code
        == 404
    )
    assert revisions(app) == before
    response = fac.post(url, {"revision": created})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/options/{o}#history"
    )
    after = revisions(app)
    assert after[: len(before)] == before  # nothing rewritten
    [new] = after[len(before) :]
    with app.app_context(), unit_of_work(write=False) as session:
        option = session.get(Option, o)
        assert (option.title, option.summary) == (
            "Intelligence sharing",
            "Intelligence sharing summary",
        )
        restored = session.get(Revision, new[0])
        assert restored.action == "restore" and restored.after["title"] == "Intelligence sharing"
        assert restored.before["title"] == "Intel sharing, expanded"
    html = text_of(fac.get(f"{base(world)}/options/{o}"))
    assert (
        "Facilitator restored an earlier text of “Intelligence sharing”: title and summary." in html
    )


# --- the matrix as of a point ------------------------------------------------------------------


def test_as_of_is_read_only_marked_historical_and_matches_the_matrix_of_that_moment(  # type: ignore[no-untyped-def]
    as_role, world: World, app: Flask
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    score(a, world, world.options[0], world.criteria[0], 4)
    score(b, world, world.options[0], world.criteria[0], 2)
    score(a, world, world.options[1], world.criteria[1], 5)
    point = latest(app)
    live = text_of(fac.get(f"{base(world)}/matrix"))
    with app.app_context(), unit_of_work(write=False) as session:
        then = build_matrix(
            session=session,
            decision=session.get(Decision, world.decision_id),
            viewer_id=world.users["facilitator"],
            role=Role.FACILITATOR,
        )
    # Later changes…
    score(a, world, world.options[0], world.criteria[0], 1)
    fac.post(f"{base(world)}/matrix/weights/{world.criteria[0]}", {"weight": "5"})
    edit_option(fac, app, world, world.options[0], title="Renamed later")
    html = text_of(fac.get(f"{base(world)}/history/as-of?revision={point}"))
    assert "Historical view — read-only." in html and f"after change #{point}" in html
    assert totals_and_ranks(html) == totals_and_ranks(live)
    for o in then.options:
        total = then.totals[o.id]
        assert f'id="total-{o.id}">{total:.1f}' in html
    assert "Intelligence sharing" in html and "Renamed later" not in html
    assert "60 %" in html  # the weight share then (60 of 100)
    # Read-only even for an analyst: no score controls, no weight controls, no forms that post.
    analyst_view = text_of(a.get(f"{base(world)}/history/as-of?revision={point}"))
    assert 'class="score"' not in analyst_view and 'name="weight"' not in analyst_view
    assert 'method="post" action="/decisions' not in analyst_view.split("<main", 1)[1]
    # "Details" opens the cell as it stood, not the live cell.
    detail_url = (
        f"{base(world)}/history/as-of/cells/{world.options[0]}/{world.criteria[0]}?revision={point}"
    )
    assert detail_url in html.replace("&amp;", "&")
    detail = text_of(fac.get(detail_url, htmx=True))
    assert "<html" not in detail and "Group mean <strong>3.00</strong>" in detail
    assert "Historical view" in text_of(fac.get(detail_url))


def test_as_of_a_date_and_time(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    with app.app_context(), unit_of_work(write=False) as session:
        created = session.scalar(select(func.max(Revision.created_at)))
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    fac = as_role("facilitator")
    at = (created + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    html = text_of(fac.get(f"{base(world)}/history/as-of?at={at}"))
    assert f"after change #{latest(app)}" in html
    early = (created - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert fac.get(f"{base(world)}/history/as-of?at={early}").status_code == 404
    assert fac.get(f"{base(world)}/history/as-of?at=yesterday").status_code == 400
    redirect = fac.get(f"{base(world)}/history/as-of")
    assert redirect.status_code == 302 and f"revision={latest(app)}" in redirect.headers["Location"]


def test_as_of_an_earlier_round_and_median(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    score(a, world, world.options[0], world.criteria[0], 1)
    score(b, world, world.options[0], world.criteria[0], 4)
    fac.post(f"{base(world)}/rounds", {})
    score(a, world, world.options[0], world.criteria[0], 3)
    point = latest(app)
    html = text_of(fac.get(f"{base(world)}/history/as-of?revision={point}&round=1&method=median"))
    assert re.search(r"Round 1 ·\s+open scoring", html) and "2.5" in html
    assert fac.get(f"{base(world)}/history/as-of?revision={point}&round=9").status_code == 404
    assert fac.get(f"{base(world)}/history/as-of?revision={point}&method=max").status_code == 400


# --- comparing two points ----------------------------------------------------------------------


def test_compare_names_the_rank_moves_and_the_changes_behind_them(  # type: ignore[no-untyped-def]
    as_role, world: World, app: Flask
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    for acts, (v1, v2) in ((a, (5, 1)), (b, (4, 2))):
        score(acts, world, world.options[0], world.criteria[0], v1)
        score(acts, world, world.options[1], world.criteria[0], v2)
        score(acts, world, world.options[0], world.criteria[1], 3)
        score(acts, world, world.options[1], world.criteria[1], 3)
    start = latest(app)
    score(a, world, world.options[0], world.criteria[0], 1, "Hosts balked after all.")
    score(b, world, world.options[1], world.criteria[0], 5, "Drills won Tashkent over.")
    fac.post(f"{base(world)}/matrix/weights/{world.criteria[1]}", {"weight": "10"})
    html = text_of(fac.get(f"{base(world)}/history/compare?from={start}"))
    assert f"between change #{start} and change #{latest(app)}" in html
    assert "<strong>up 1</strong>" in html and "<strong>down 1</strong>" in html
    assert "Analyst A: 5 → 1 — “Hosts balked after all.”" in html
    assert "Analyst B: 2 → 5 — “Drills won Tashkent over.”" in html
    assert "<strong>Escalation risk</strong>: weight 40 → 10" in html
    assert "its share rescaled" in html
    assert fac.get(f"{base(world)}/history/compare").status_code == 400


# --- downloads ---------------------------------------------------------------------------------


def test_matrix_downloads_as_csv_and_xlsx(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    score(a, world, world.options[0], world.criteria[0], 4, '=HYPERLINK("http://x")')
    score(b, world, world.options[0], world.criteria[0], 2)
    point = latest(app)
    overview = text_of(fac.get(base(world)))
    assert (
        f"{base(world)}/export/matrix.csv" in overview
        and f"{base(world)}/export/matrix.xlsx" in overview
    )
    response = fac.get(f"{base(world)}/export/matrix.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == [
        "Option",
        "Acceptability (benefit)",
        "Escalation risk (cost)",
        "Total (0-100)",
        "Rank",
    ]
    assert rows[1][1:3] == ["60.0", "40.0"]
    assert rows[2][:2] == ["Intelligence sharing", "3.0"] and rows[2][4] == "1"
    xlsx = fac.get(f"{base(world)}/export/matrix.xlsx")
    assert xlsx.mimetype.endswith("spreadsheetml.sheet")
    wb = load_workbook(io.BytesIO(xlsx.data))
    assert wb.sheetnames == ["Matrix", "Criteria", "Scores", "About"]
    assert wb["Matrix"]["B3"].value == 3.0 and wb["Matrix"]["E3"].value == 1
    rationale = [r[4] for r in wb["Scores"].iter_rows(min_row=2, values_only=True)]
    assert '=HYPERLINK("http://x")' in rationale  # kept as text…
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    # …and the matrix as of a change, on either format.
    score(a, world, world.options[0], world.criteria[0], 1)
    old = list(
        csv.reader(
            io.StringIO(
                fac.get(f"{base(world)}/export/matrix.csv?revision={point}").data.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert old[2][1] == "3.0"
    now = list(
        csv.reader(
            io.StringIO(fac.get(f"{base(world)}/export/matrix.csv").data.decode("utf-8-sig"))
        )
    )
    assert now[2][1] == "1.5"
    about = dict(
        load_workbook(
            io.BytesIO(fac.get(f"{base(world)}/export/matrix.xlsx?revision={point}").data)
        )["About"].iter_rows(min_row=2, values_only=True)
    )
    assert about["As of change"] == point and about["Historical"] == "yes"


def test_csv_neutralises_formulas_in_names(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    edit_option(fac, app, world, world.options[0], title="=cmd|' /C calc'!A0")
    body = fac.get(f"{base(world)}/export/matrix.csv").data.decode("utf-8-sig")
    assert "'=cmd" in body


# --- integrity: reading history never writes ---------------------------------------------------


def test_history_views_never_change_revisions(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    score(as_role("analyst-a"), world, world.options[0], world.criteria[0], 3)
    before = revisions(app)
    fac = as_role("facilitator")
    point = before[-1][0]
    for url in leak_urls(world, point) + [f"{base(world)}/export/matrix.xlsx"]:
        assert fac.get(url, follow_redirects=True).status_code == 200
    assert revisions(app) == before
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M")
    assert fac.get(f"{base(world)}/history/as-of?at={stamp}").status_code in (200, 404)
    assert revisions(app) == before
