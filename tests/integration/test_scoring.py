"""Scoring cells, rounds, reveal, live polling, and the blind-mode leak check."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db.models import Revision, Score
from app.db.uow import unit_of_work
from tests.factories import World

SECRET = "Zanzibar-rationale-4711"


def score_url(world: World) -> str:
    return f"/decisions/{world.decision_id}/matrix/scores"


def save(acts, world: World, option: int, criterion: int, **data):  # type: ignore[no-untyped-def]
    payload = {"option_id": str(option), "criterion_id": str(criterion)} | {
        k: str(v) for k, v in data.items()
    }
    return acts.post(score_url(world), payload, htmx=True)


def stored(app: Flask, world: World, analyst: str) -> list[Score]:
    with app.app_context(), unit_of_work() as session:
        return list(session.scalars(select(Score).where(Score.analyst_id == world.users[analyst])))


def revisions(app: Flask, world: World, entity: str = "score") -> list[Revision]:
    with app.app_context(), unit_of_work() as session:
        return list(
            session.scalars(
                select(Revision)
                .where(Revision.decision_id == world.decision_id, Revision.entity == entity)
                .order_by(Revision.id)
            )
        )


def test_analyst_saves_a_score_and_a_revision_is_written(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("analyst-a")
    response = save(acts, world, world.options[0], world.criteria[0], value=4)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Saved" in html and "<html" not in html
    assert 'id="total-' in html  # totals follow the save out of band
    [score] = stored(app, world, "analyst-a")
    assert score.value == 4
    [rev] = revisions(app, world)
    assert rev.action == "create" and rev.round_number == 1 and rev.after["value"] == 4
    assert rev.actor_id == world.users["analyst-a"]
    save(acts, world, world.options[0], world.criteria[0], value=2)
    last = revisions(app, world)[-1]
    assert (last.action, last.before["value"], last.after["value"]) == ("update", 4, 2)


def test_rationale_and_not_applicable(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    acts = as_role("analyst-a")
    save(acts, world, world.options[0], world.criteria[0], value="na")
    response = save(acts, world, world.options[0], world.criteria[0], rationale="  cannot judge  ")
    assert response.status_code == 200
    [score] = stored(app, world, "analyst-a")
    assert score.value is None and score.not_applicable and score.rationale == "cannot judge"
    save(acts, world, world.options[0], world.criteria[0], value="")
    [score] = stored(app, world, "analyst-a")
    assert score.value is None and not score.not_applicable
    assert len(revisions(app, world)) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("6", "between 1 and 5"),
        ("0", "between 1 and 5"),
        ("abc", "must be a number"),
        ("nan", "between 1 and 5"),
        ("inf", "between 1 and 5"),
    ],
)
def test_invalid_score_is_refused(
    as_role, world: World, app: Flask, value: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    response = save(as_role("analyst-a"), world, world.options[0], world.criteria[0], value=value)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored(app, world, "analyst-a") == [] and revisions(app, world) == []


def test_rationale_too_long_is_refused(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    response = save(
        as_role("analyst-a"),
        world,
        world.options[0],
        world.criteria[0],
        value=3,
        rationale="x" * 2001,
    )
    assert response.status_code == 422
    assert stored(app, world, "analyst-a") == []


@pytest.mark.parametrize(
    ("role", "status"), [("observer", 403), ("facilitator", 403), ("outsider", 404)]
)
def test_only_analysts_score(as_role, world: World, app: Flask, role: str, status: int) -> None:  # type: ignore[no-untyped-def]
    response = save(as_role(role), world, world.options[0], world.criteria[0], value=3)
    assert response.status_code == status
    assert revisions(app, world) == []


def test_cell_of_another_decision_is_not_found(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    from app.db.models import User
    from app.services import criteria as criteria_service
    from app.services import decisions as decision_service

    with app.app_context(), unit_of_work() as session:
        facilitator = session.get(User, world.users["facilitator"])
        other = decision_service.create_decision(
            session=session, actor=facilitator, data={"title": "Other"}
        )
        foreign = criteria_service.create_criterion(
            session=session,
            decision_id=other.id,
            actor_id=facilitator.id,
            data={"name": "X", "weight": 1},
        ).id
    response = save(as_role("analyst-a"), world, world.options[0], foreign, value=3)
    assert response.status_code == 404
    assert stored(app, world, "analyst-a") == []


def test_closed_decision_refuses_scores(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    as_role("facilitator").post(
        f"/decisions/{world.decision_id}/settings", {"status": "closed"}, htmx=True
    )
    response = save(as_role("analyst-a"), world, world.options[0], world.criteria[0], value=3)
    assert response.status_code == 409
    assert "closed" in response.get_data(as_text=True)
    assert stored(app, world, "analyst-a") == []


def test_withdrawn_option_cannot_be_scored(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    as_role("facilitator").post(
        f"/decisions/{world.decision_id}/options/{world.options[0]}/withdraw", {}, htmx=True
    )
    response = save(as_role("analyst-a"), world, world.options[0], world.criteria[0], value=3)
    assert response.status_code == 422


def test_two_analysts_on_one_cell_do_not_interfere(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    a, b = as_role("analyst-a"), as_role("analyst-b")
    save(a, world, world.options[0], world.criteria[0], value=5)
    save(b, world, world.options[0], world.criteria[0], value=1)
    save(a, world, world.options[0], world.criteria[0], value=4)
    assert [s.value for s in stored(app, world, "analyst-a")] == [4]
    assert [s.value for s in stored(app, world, "analyst-b")] == [1]
    data = a.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    cell = next(
        c
        for c in data["cells"]
        if c["option_id"] == world.options[0] and c["criterion_id"] == world.criteria[0]
    )
    assert cell["value"] == 2.5 and cell["min"] == 1 and cell["max"] == 4 and cell["count"] == 2
    assert cell["contested"] is True and cell["mine"] == 4
    assert cell["std"] == pytest.approx(1.5)


def test_matrix_json_shape_and_totals(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    a, b = as_role("analyst-a"), as_role("analyst-b")
    o1, o2 = world.options
    acc, risk = world.criteria
    for acts, scores in (
        (a, {(o1, acc): 5, (o1, risk): 1, (o2, acc): 3, (o2, risk): 3}),
        (b, {(o1, acc): 5, (o1, risk): 1, (o2, acc): 1, (o2, risk): 5}),
    ):
        for (o, c), v in scores.items():
            save(acts, world, o, c, value=v)
    data = as_role("observer").get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert set(data) >= {"round", "revealed", "scale", "criteria", "options", "cells"}
    assert data["scale"] == {"min": 1, "max": 5}
    assert [c["weight_normalised"] for c in data["criteria"]] == pytest.approx([0.6, 0.4])
    assert {c["direction"] for c in data["criteria"]} == {"benefit", "cost"}
    totals = {o["id"]: o for o in data["options"]}
    # Option 1: acceptability 5 → utility 1; risk 1 (cost) → utility 1: total 100.
    # Option 2: acceptability mean 2 → 0.25; risk mean 4 → cost utility 0.25: total 25.
    assert totals[o1]["total"] == pytest.approx(100) and totals[o1]["rank"] == 1
    assert totals[o2]["total"] == pytest.approx(25) and totals[o2]["rank"] == 2
    assert totals[o1]["completeness"] == 1
    # Each analyst's scores and rationales only when asked for (the cell-details level).
    assert not any("scores" in c for c in data["cells"])
    url = f"/api/decisions/{world.decision_id}/matrix?include=scores"
    detailed = as_role("observer").get(url).get_json()
    assert all(len(c["scores"]) == 2 for c in detailed["cells"])
    assert {k: v for k, v in detailed.items() if k != "cells"} == {
        k: v for k, v in data.items() if k != "cells"
    }
    assert as_role("observer").get(url.replace("scores", "everything")).status_code == 400


def test_progress_and_done(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    a = as_role("analyst-a")
    save(a, world, world.options[0], world.criteria[0], value=3)
    a.post(f"/decisions/{world.decision_id}/matrix/done", {"done": "1"})
    html = a.get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    assert re.search(r"You have scored <strong>1</strong> of 4 cells", html)
    assert "Marked done" in html
    fac = (
        as_role("facilitator").get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    )
    assert "1 / 4" in fac and "Done" in fac


def test_poll_answers_204_until_something_changes(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    b = as_role("analyst-b")
    page = b.get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    poll = re.search(r'hx-get="([^"]+/matrix/poll[^"]+)"', page).group(1).replace("&amp;", "&")
    assert b.get(poll, htmx=True).status_code == 204
    save(as_role("analyst-a"), world, world.options[0], world.criteria[0], value=5)
    response = b.get(poll, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in html and "<select" not in html  # never b's own inputs
    assert f'id="g-{world.options[0]}-{world.criteria[0]}"' in html
    # A structural change (a new option) tells the page to reload.
    as_role("facilitator").post(
        f"/decisions/{world.decision_id}/options", {"title": "New"}, htmx=True
    )
    assert b.get(poll, htmx=True).headers.get("HX-Trigger") == "matrix-layout-changed"


def test_weights_follow_live(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    url = f"/decisions/{world.decision_id}/matrix/weights/{world.criteria[0]}"
    response = fac.post(url, {"weight": "20"}, htmx=True)
    assert response.status_code == 200
    assert "33 %" in response.get_data(as_text=True)  # 20 / (20 + 40)
    assert fac.post(url, {"weight": "-2"}, htmx=True).status_code == 422
    assert as_role("analyst-a").post(url, {"weight": "1"}, htmx=True).status_code == 403
    assert len(revisions(app, world, "criterion")) == 3  # two creates + one update


# --- blind rounds ---------------------------------------------------------------------------


def _blind_world(as_role, world: World):  # type: ignore[no-untyped-def]
    fac = as_role("facilitator")
    fac.post(f"/decisions/{world.decision_id}/settings", {"scoring_mode": "blind"})
    a = as_role("analyst-a")
    for o in world.options:
        for c in world.criteria:
            save(a, world, o, c, value=4, rationale=f"{SECRET} {o}-{c}")
    return fac, a


def readable_text(data: bytes) -> str:
    """Text of a response; zipped downloads (XLSX) are opened and every member read."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return data.decode("utf-8", "replace")


def _get_urls(app: Flask, world: World) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint in {"static", "auth.login", "health"}:
            continue
        if "decision_id" not in rule.arguments and not rule.rule.startswith("/api"):
            continue
        url = rule.rule.replace("<int:decision_id>", str(world.decision_id))
        url = url.replace("<int:option_id>", str(world.options[0])).replace(
            "<int:criterion_id>", str(world.criteria[0])
        )
        url = re.sub(r"<(?:int:)?[a-z_]+>", "1", url)
        urls.append(url)
    return urls


def test_blind_mode_leaks_nothing_before_reveal(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac, a = _blind_world(as_role, world)
    b = as_role("analyst-b")
    save(b, world, world.options[0], world.criteria[0], value=1)
    urls = _get_urls(app, world)
    assert any("/matrix" in u for u in urls) and any(u.startswith("/api/") for u in urls)
    for viewer in (b, as_role("observer"), fac):
        for url in urls:
            for htmx in (False, True):
                response = viewer.get(url, htmx=htmx)
                body = readable_text(response.get_data())
                assert SECRET not in body, (url, htmx)
                if not response.is_json:
                    assert "contested" not in body.replace("contested cells", ""), (url, htmx)
                else:
                    text = body.replace(" ", "")
                    assert '"total":null' in text or '"total"' not in text, url
                    assert '"scores"' not in text, url
    data = b.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert all(c["value"] is None and c["count"] is None for c in data["cells"])
    mine = {(c["option_id"], c["criterion_id"]): c["mine"] for c in data["cells"]}
    assert mine[(world.options[0], world.criteria[0])] == 1
    assert all(o["total"] is None and o["rank"] is None for o in data["options"])
    # The facilitator sees who has finished, not their values.
    fac_page = fac.get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    assert "4 / 4" in fac_page and "1 / 4" in fac_page


def test_reveal_shows_group_values(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    fac, a = _blind_world(as_role, world)
    b = as_role("analyst-b")
    assert b.post(f"/decisions/{world.decision_id}/rounds/reveal", {}).status_code == 403
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {}).status_code == 303
    data = b.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert data["revealed"] is True
    assert all(c["value"] == 4 for c in data["cells"])
    detail = b.get(
        f"/decisions/{world.decision_id}/matrix/cells/{world.options[0]}/{world.criteria[0]}",
        htmx=True,
    )
    assert SECRET in detail.get_data(as_text=True)


def test_round_two_starts_from_round_one_scores(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac, a = _blind_world(as_role, world)
    assert fac.post(f"/decisions/{world.decision_id}/rounds", {}).status_code == 400  # reveal first
    fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {})
    assert fac.post(f"/decisions/{world.decision_id}/rounds", {}).status_code == 303
    data = a.get(f"/api/decisions/{world.decision_id}/matrix").get_json()
    assert data["round"] == 2 and data["revealed"] is False
    assert all(c["mine"] == 4 for c in data["cells"])
    # Blind round 2: the revealed round-1 group value shows; round 2's group values do not.
    assert all(c["previous_round_value"] == 4 and c["value"] is None for c in data["cells"])
    page = as_role("analyst-b").get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    assert "Round 1 group: 4.0" in page and 'class="gv"' not in page
    save(
        a,
        world,
        world.options[0],
        world.criteria[0],
        value=2,
        rationale="Changed my mind after discussion",
    )
    round1 = a.get(f"/api/decisions/{world.decision_id}/matrix?round=1").get_json()
    assert all(c["mine"] == 4 for c in round1["cells"])
    page = a.get(f"/decisions/{world.decision_id}/matrix?round=1").get_data(as_text=True)
    assert "earlier round, read-only" in page and 'class="score"' not in page
    with app.app_context(), unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(Score))
    assert count == 8  # 4 cells in each round


def test_spread_is_reported_per_round(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    save(a, world, world.options[0], world.criteria[0], value=5)
    save(b, world, world.options[0], world.criteria[0], value=1)
    fac.post(f"/decisions/{world.decision_id}/rounds", {})
    save(b, world, world.options[0], world.criteria[0], value=4)
    html = fac.get(f"/decisions/{world.decision_id}").get_data(as_text=True)
    assert "Round 1" in html and "Round 2" in html
    assert "2.00" in html and "0.50" in html  # mean standard deviation per round


def test_same_analyst_saving_one_new_cell_twice_at_once(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    import threading

    first, second = as_role("analyst-a"), as_role("analyst-a")
    for option in world.options:
        for criterion in world.criteria:
            barrier = threading.Barrier(2)
            statuses: list[int] = []

            def post(
                acts,
                value: int,
                option=option,
                criterion=criterion,
                barrier=barrier,
                statuses=statuses,
            ) -> None:  # type: ignore[no-untyped-def]
                barrier.wait()
                statuses.append(save(acts, world, option, criterion, value=value).status_code)

            threads = [
                threading.Thread(target=post, args=(first, 2)),
                threading.Thread(target=post, args=(second, 5)),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert statuses == [200, 200]
    scores = {(s.option_id, s.criterion_id): s.value for s in stored(app, world, "analyst-a")}
    assert len(scores) == 4 and set(scores.values()) <= {2, 5}
    for (option, criterion), value in scores.items():
        cell_revisions = [
            r
            for r in revisions(app, world)
            if r.option_id == option and r.criterion_id == criterion
        ]
        assert [r.action for r in cell_revisions][0] == "create"
        assert (
            cell_revisions[-1].after["value"] == value
        )  # the stored value is the last one recorded


def test_round_two_asks_for_a_reason_when_a_score_moves(as_role, world: World) -> None:  # type: ignore[no-untyped-def]
    a, fac = as_role("analyst-a"), as_role("facilitator")
    o, c = world.options[0], world.criteria[0]
    save(a, world, o, c, value=4, rationale="First view")
    fac.post(f"/decisions/{world.decision_id}/rounds", {})
    page = f"/decisions/{world.decision_id}/matrix"
    assert "say why in Details" not in a.get(page).get_data(as_text=True)
    save(a, world, o, c, value=2)
    assert "say why in Details" in a.get(page).get_data(as_text=True)
    detail = a.get(f"/decisions/{world.decision_id}/matrix/cells/{o}/{c}", htmx=True).get_data(
        as_text=True
    )
    assert "you scored <strong>4</strong>" in detail and "please give the reason" in detail
    save(a, world, o, c, rationale="The drills schedule changed my view")
    assert "say why in Details" not in a.get(page).get_data(as_text=True)


def test_a_draft_decision_is_not_scored_yet(as_role, world: World, app: Flask) -> None:  # type: ignore[no-untyped-def]
    fac, a = as_role("facilitator"), as_role("analyst-a")
    fac.post(f"/decisions/{world.decision_id}/settings", {"status": "draft"})
    response = save(a, world, world.options[0], world.criteria[0], value=3)
    assert response.status_code == 400 and "draft" in response.get_data(as_text=True)
    page = a.get(f"/decisions/{world.decision_id}/matrix").get_data(as_text=True)
    assert "scoring has not started" in page and 'class="score"' not in page
    assert stored(app, world, "analyst-a") == []
    fac.post(f"/decisions/{world.decision_id}/settings", {"status": "scoring"})
    assert save(a, world, world.options[0], world.criteria[0], value=3).status_code == 200
