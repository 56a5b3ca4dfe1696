"""The matrix explains itself: verbal anchors in the header's tooltip, the score select and the
drawer; marks for rationales (others' only once visible) and for cells contested in the
previous round — never anything of a blind round before its reveal."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlmodel import col

from app.db.models import Criterion
from app.db.uow import unit_of_work
from app.services import live_matrix as live_matrix_service
from tests.conftest import Actions
from tests.factories import World

SECRET = "Kestrel-private-rationale-551"
POLL_RE = re.compile(r'hx-get="([^"]+/matrix/poll[^"]+)"')
PREV = re.compile(r'<span class="prev-contested">contested in round (\d+)</span>')


def page(acts: Actions, world: World, query: str = "") -> str:
    response = acts.get(f"/decisions/{world.decision_id}/matrix{query}")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def save(acts: Actions, world: World, option: int, criterion: int, **data: Any) -> Any:
    payload = {"option_id": str(option), "criterion_id": str(criterion)}
    response = acts.post(
        f"/decisions/{world.decision_id}/matrix/scores",
        payload | {k: str(v) for k, v in data.items()},
        htmx=True,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def poll_url(body: str) -> str:
    match = POLL_RE.search(body)
    assert match, "no poll element"
    return html_lib.unescape(match.group(1))


def cell_block(body: str, option: int, criterion: int) -> str:
    """The group block of one cell (what live updates redraw)."""
    match = re.search(rf'<div id="g-{option}-{criterion}".*?</div>', body, re.S)
    assert match, (option, criterion)
    return match.group(0)


def td_of(body: str, option: int, criterion: int) -> str:
    match = re.search(
        rf'<td class="cell[^"]*"[^>]*>(?:(?!</td>).)*id="score-{option}-{criterion}"', body, re.S
    )
    assert match, (option, criterion)
    return match.group(0)


def set_mode(fac: Actions, world: World, mode: str) -> None:
    response = fac.post(f"/decisions/{world.decision_id}/settings", {"scoring_mode": mode})
    assert response.status_code == 303


def open_round(fac: Actions, world: World, current: int) -> None:
    response = fac.post(f"/decisions/{world.decision_id}/rounds", {"round": str(current)})
    assert response.status_code == 303


def reveal(fac: Actions, world: World) -> None:
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal").status_code == 303


# Anchors.


def test_anchors_in_the_select_the_header_tooltip_and_the_drawer(
    app: Flask, world: World, as_role: Any
) -> None:
    acc, risk = world.criteria
    with app.app_context(), unit_of_work() as session:
        session.execute(
            update(Criterion)
            .where(col(Criterion.id) == acc)
            .values(description="How far host governments would accept it.")
        )
    a = as_role("analyst-a")
    body = page(a, world)
    # The select names every point: benefit and cost defaults.
    select = re.search(rf'<select[^>]*id="score-{world.options[0]}-{risk}".*?</select>', body, re.S)
    assert select
    assert '<option value="1" >1 — very cheap</option>' in select.group(0)
    assert '<option value="5" >5 — very costly</option>' in select.group(0)
    assert "5 — very good" in body and "1 — very poor" in body
    # The header says which way the scale runs, and its tooltip is the About button's
    # description (for screen readers) with the description and every anchor.
    assert '<span class="cscale">5 = very costly</span>' in body
    assert '<span class="cscale">5 = very good</span>' in body
    assert f'aria-describedby="about-{acc}"' in body
    tip = re.search(rf'<div class="crit-tip" role="tooltip" id="about-{acc}">.*?</div>', body, re.S)
    assert tip
    assert "How far host governments would accept it." in tip.group(0)
    assert "1 = very poor;" in tip.group(0) and "5 = very good." in tip.group(0)
    assert "Benefit: higher is better." in tip.group(0)
    # The drawer lists them too, and says what the analyst's score means.
    save(a, world, world.options[0], risk, value=4)
    drawer = a.get(
        f"/decisions/{world.decision_id}/matrix/cells/{world.options[0]}/{risk}", htmx=True
    ).get_data(as_text=True)
    assert "<dt>5</dt><dd>very costly</dd>" in drawer
    assert '<div class="current"><dt>4</dt><dd>costly</dd></div>' in drawer
    assert "4 (costly)" in drawer


def test_a_criterions_own_anchors_replace_the_defaults(
    app: Flask, world: World, as_role: Any
) -> None:
    acc = world.criteria[0]
    words = ["<b>unacceptable</b>", "", "tolerable", "", "welcome"]
    with app.app_context(), unit_of_work() as session:
        session.execute(update(Criterion).where(col(Criterion.id) == acc).values(anchors=words))
    body = page(as_role("analyst-a"), world)
    assert "1 — &lt;b&gt;unacceptable&lt;/b&gt;" in body  # escaped
    assert "2 — poor" in body and "3 — tolerable" in body  # a blank point keeps its default
    assert '<span class="cscale">5 = welcome</span>' in body
    assert "<b>unacceptable</b>" not in body


# Rationale marks.


def test_others_rationales_are_counted_in_an_open_round(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b = as_role("analyst-a"), as_role("analyst-b")
    o, c = world.options[0], world.criteria[0]
    save(a, world, o, c, value=3, rationale="Because of the treaty.")
    save(b, world, o, c, value=4, rationale="Allies asked.")
    save(b, world, world.options[1], c, value=2)
    body = page(b, world)
    assert "✎ 2 rationales" in cell_block(body, o, c)
    assert "rationale-count" not in cell_block(body, world.options[1], c)
    assert "has-rationale" in td_of(body, o, c)
    assert "has-rationale" not in td_of(body, world.options[1], c)
    observer = page(as_role("observer"), world)
    assert "✎ 2 rationales" in cell_block(observer, o, c)
    # The legend explains the marks.
    assert 'class="legend"' in body and "how many analysts explained their score" in body


def test_a_blind_round_marks_only_my_own_rationales_until_the_reveal(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    set_mode(fac, world, "blind")
    o, c = world.options[0], world.criteria[0]
    save(b, world, o, c, value=1, rationale=SECRET)
    answer = save(a, world, world.options[1], c, value=3).get_data(as_text=True)
    assert "rationale-count" not in answer and SECRET not in answer
    for viewer in (a, fac, as_role("observer")):
        body = page(viewer, world)
        assert "rationale-count" not in body and SECRET not in body
    assert "has-rationale" not in td_of(page(a, world), o, c)
    assert "has-rationale" in td_of(page(b, world), o, c)
    url = poll_url(page(a, world))
    save(b, world, world.options[1], world.criteria[1], value=2, rationale=SECRET)
    poll = a.get(url, htmx=True).get_data(as_text=True)
    assert 'id="matrix-poll"' in poll  # the poll answered (b's change moved its number)…
    assert "rationale-count" not in poll and SECRET not in poll  # …and showed nothing of it
    reveal(fac, world)
    assert "✎ 1 rationale" in cell_block(page(a, world), o, c)


# Contested in the previous round.


def score_round_one(world: World, a: Actions, b: Actions) -> tuple[int, int]:
    """Option 1 × Acceptability contested (1 and 5); option 2 × Acceptability agreed (3, 4)."""
    acc = world.criteria[0]
    o1, o2 = world.options
    save(a, world, o1, acc, value=1)
    save(b, world, o1, acc, value=5)
    save(a, world, o2, acc, value=3)
    save(b, world, o2, acc, value=4)
    return o1, acc


def test_round_two_marks_the_cells_contested_in_round_one(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    o1, acc = score_round_one(world, a, b)
    body = page(a, world)
    assert not PREV.search(body)  # round 1: nothing to mark yet
    assert "contested in round" not in body
    open_round(fac, world, 1)
    for viewer in (a, b, fac, as_role("observer")):
        body = page(viewer, world)
        assert PREV.findall(body) == ["1"], body
        assert PREV.search(cell_block(body, o1, acc))
        assert "contested in round 1</span>: the scores spanned at least half the scale" in body
    # The analysts agree in round 2: the mark stays (it is about round 1).
    save(a, world, o1, acc, value=5)
    assert PREV.search(cell_block(page(b, world), o1, acc))
    drawer = a.get(f"/decisions/{world.decision_id}/matrix/cells/{o1}/{acc}", htmx=True).get_data(
        as_text=True
    )
    assert "Contested in round 1:" in drawer
    # Round 1 seen again: it marks nothing from round 0.
    assert not PREV.search(page(a, world, "?round=1"))


def test_a_blind_round_two_shows_round_one_marks_and_nothing_of_round_two(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    set_mode(fac, world, "blind")
    o1, acc = score_round_one(world, a, b)
    reveal(fac, world)
    open_round(fac, world, 1)
    o2 = world.options[1]
    url = poll_url(page(a, world))
    # In round 2, b makes option 2 contested and writes a rationale a must not learn of.
    save(b, world, o2, acc, value=1, rationale=SECRET)
    for viewer in (a, fac, as_role("observer")):
        body = page(viewer, world)
        assert PREV.findall(body) == ["1"]
        assert PREV.search(cell_block(body, o1, acc))
        assert 'class="gv"' not in body and "rationale-count" not in body
        assert SECRET not in body
    poll = a.get(url, htmx=True).get_data(as_text=True)
    assert 'id="matrix-poll"' in poll
    assert SECRET not in poll and "rationale-count" not in poll and 'class="gv"' not in poll
    assert PREV.findall(poll) in ([], ["1"])  # redrawn cells carry round 1's marks only


def test_previous_round_scores_are_read_once_per_structure(
    app: Flask, world: World, as_role: Any
) -> None:
    """Round 1's scores are final once round 2 opens: a save in round 2 computes its group
    view without reading them again."""
    a, b, fac = as_role("analyst-a"), as_role("analyst-b"), as_role("facilitator")
    score_round_one(world, a, b)
    open_round(fac, world, 1)
    page(a, world)  # the structure, round 1's scores and the view are computed here
    reads: list[int] = []
    original = live_matrix_service.read_scores

    def counting(session: Any, round_id: int) -> Any:
        reads.append(round_id)
        return original(session, round_id)

    live_matrix_service.read_scores = counting  # type: ignore[assignment]
    try:
        save(a, world, world.options[0], world.criteria[1], value=2)
        save(b, world, world.options[1], world.criteria[1], value=3)
    finally:
        live_matrix_service.read_scores = original  # type: ignore[assignment]
    assert len(reads) == 2 and len(set(reads)) == 1, reads  # round 2's only, once a save
    body = page(a, world)
    assert PREV.findall(body) == ["1"]
