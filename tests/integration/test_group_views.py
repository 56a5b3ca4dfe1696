"""The group's own views on the decision overview and in the memo: blind rounds show nothing
of them before the reveal, to any role; after it (or in open scoring) the analysts' own
rankings, Kendall's W, influence and convergence appear."""

from __future__ import annotations

import html as html_lib
from typing import Any

from flask import Flask
from sqlalchemy import event

from app.db.engine import get_engine
from app.db.models import Decision
from app.db.uow import unit_of_work
from app.services import decisions as decision_service
from app.services.group_views import group_views
from tests.conftest import Actions
from tests.factories import World, make_user

MEMO_FORM = {
    "memorandum_for": "The Principal",
    "from_line": "Morgan Hale, options team",
    "subject": "Test decision: options and recommendation",
    "bottom_line": "We recommend **Intelligence sharing**.",
    "sections": ["chart", "disagreements", "robustness"],
}
# (option index, criterion index) -> score, per analyst; criteria: Acceptability (benefit, 60)
# and Escalation risk (cost, 40) on 1-5. Group means put Intelligence sharing first (66.7
# against 43.3) only because of analyst-a: without them Joint drills leads (65 against 50).
# Own rankings: a puts Intelligence sharing first, b and c Joint drills; W = 6 / 54 = 0.11.
SCORES = {
    "analyst-a": {(0, 0): 5, (0, 1): 1, (1, 0): 1, (1, 1): 5},
    "analyst-b": {(0, 0): 3, (0, 1): 3, (1, 0): 4, (1, 1): 3},
    "analyst-c": {(0, 0): 3, (0, 1): 3, (1, 0): 4, (1, 1): 3},
}
ROLES = ("facilitator", "analyst-a", "analyst-b", "analyst-c", "observer")


def add_third_analyst(app: Flask, world: World) -> None:
    with app.app_context(), unit_of_work() as session:
        user = make_user(session, "analyst-c")
        decision_service.set_member(
            session=session,
            decision_id=world.decision_id,
            actor_id=world.users["facilitator"],
            username="analyst-c",
            role="analyst",
        )
        world.users["analyst-c"] = user.id


def score_all(as_role: Any, world: World, scores: dict[str, dict[tuple[int, int], int]]) -> None:
    for analyst, cells in scores.items():
        acts = as_role(analyst)
        for (i, j), value in cells.items():
            response = acts.post(
                f"/decisions/{world.decision_id}/matrix/scores",
                {
                    "option_id": str(world.options[i]),
                    "criterion_id": str(world.criteria[j]),
                    "value": str(value),
                },
                htmx=True,
            )
            assert response.status_code == 200


def set_blind(as_role: Any, world: World) -> Actions:
    fac: Actions = as_role("facilitator")
    response = fac.post(f"/decisions/{world.decision_id}/settings", {"scoring_mode": "blind"})
    assert response.status_code in (200, 303)
    return fac


def overview(acts: Actions, world: World) -> str:
    response = acts.get(f"/decisions/{world.decision_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def panel(page: str) -> str:
    start = page.index('<section id="group-views"')
    return html_lib.unescape(page[start : page.index("</section>", start)])


def test_blind_round_shows_no_group_views_to_anyone_before_the_reveal(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    set_blind(as_role, world)
    score_all(as_role, world, SCORES)
    for role in ROLES:
        section = panel(overview(as_role(role), world))
        assert "appear once the facilitator reveals round 1" in section, role
        for hidden in ("Kendall", "<table", "Analyst B", "Without", "interquartile", "rank"):
            assert hidden not in section, (role, hidden)


def test_after_the_reveal_the_group_views_appear_with_anonymous_labels(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    fac = set_blind(as_role, world)
    score_all(as_role, world, SCORES)
    assert fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {}).status_code == 303
    for role in ROLES:
        section = panel(overview(as_role(role), world))
        assert "<caption>Each analyst's own ranking beside the group's, round 1" in section
        assert "Kendall's W = 0.11 among all 3 analysts: weak agreement (W < 0.3)." in section
        assert (
            "Without Analyst A, Joint drills would rank first instead of Intelligence sharing."
            in section
        )
        # No display names beside the labels in blind scoring (the names read "Analyst C").
        assert "Analyst C" in section and "Analyst C (Analyst C)" not in section
        assert "Median interquartile range per cell" in section
    mine = panel(overview(as_role("analyst-b"), world))
    assert "Analyst B (you)" in mine


def test_open_scoring_shows_the_group_views_with_names(
    app: Flask, world: World, as_role: Any
) -> None:
    score_all(as_role, world, {k: v for k, v in SCORES.items() if k != "analyst-c"})
    section = panel(overview(as_role("observer"), world))
    assert "Analyst A (Analyst A)" in section and "Analyst B (Analyst B)" in section
    # a: Intelligence sharing first; b: Joint drills first. Opposite rankings of two options.
    assert "Kendall's W = 0.00 among all 2 analysts: weak agreement (W < 0.3)." in section
    # Means put Intelligence sharing first (75 against 32.5); analyst-b alone puts Joint drills
    # first (65 against 50), analyst-a alone Intelligence sharing.
    assert (
        "Without Analyst A (Analyst A), Joint drills would rank first instead of Intelligence "
        "sharing." in section
    )


def test_a_later_blind_round_leaves_the_revealed_round_in_view(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    fac = set_blind(as_role, world)
    score_all(as_role, world, SCORES)
    fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {})
    assert fac.post(f"/decisions/{world.decision_id}/rounds", {}).status_code == 303
    # Round 2 (blind): analyst-a comes round to the others; nobody may see that yet.
    score_all(as_role, world, {"analyst-a": SCORES["analyst-b"]})
    section = panel(overview(as_role("analyst-b"), world))
    assert "Round 2 is still blind: these views are of round 1" in section
    assert "Round 2</th>" not in section
    assert "Without Analyst A, Joint drills would rank first" in section  # round 1's figures
    fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {})
    section = panel(overview(as_role("analyst-b"), world))
    assert "Round 2</th>" in section and "round 2 (1 = first" in section
    assert "Kendall's W = 1.00 among all 3 analysts: identical rankings (W = 1)." in section
    assert "Leaving out any one analyst keeps Joint drills first." in section


def test_leave_one_out_names_the_influential_analyst(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    score_all(as_role, world, SCORES)
    with app.app_context(), unit_of_work() as session:
        decision = session.get(Decision, world.decision_id)
        assert decision is not None
        views = group_views(session=session, decision=decision, viewer_id=0)
    titles = dict(views.options)
    assert [titles[i] for i in views.group_top] == ["Intelligence sharing"]
    changed = {x.label: [titles[i] for i in x.top_without] for x in views.influence}
    assert changed == {
        "Analyst A": ["Joint drills"],
        "Analyst B": ["Intelligence sharing"],
        "Analyst C": ["Intelligence sharing"],
    }
    assert [x.changes_top for x in views.influence] == [True, False, False]
    assert [a.ranks for a in views.analysts] == [[1, 2], [2, 1], [2, 1]]
    assert views.w is not None and round(views.w, 4) == round(6 / 54, 4)
    assert views.w_counted == 3


def test_the_group_views_load_in_a_constant_number_of_queries(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    fac = set_blind(as_role, world)

    def count_queries() -> int:
        statements: list[str] = []
        with app.app_context():
            engine = get_engine()

            def record(*args: Any) -> None:
                statements.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", record)
            try:
                with unit_of_work() as session:
                    decision = session.get(Decision, world.decision_id)
                    assert decision is not None
                    statements.clear()
                    group_views(session=session, decision=decision, viewer_id=0)
            finally:
                event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    score_all(as_role, world, SCORES)
    fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {})
    one_round = count_queries()
    for _ in range(2):
        fac.post(f"/decisions/{world.decision_id}/rounds", {})
        score_all(as_role, world, SCORES)
        fac.post(f"/decisions/{world.decision_id}/rounds/reveal", {})
    assert count_queries() == one_round == 5


def test_the_memo_carries_the_group_views_under_its_labels(
    app: Flask, world: World, as_role: Any
) -> None:
    add_third_analyst(app, world)
    score_all(as_role, world, SCORES)
    fac = as_role("facilitator")
    preview = fac.post(f"/decisions/{world.decision_id}/memos/preview", MEMO_FORM)
    assert preview.status_code == 200
    body = html_lib.unescape(preview.get_data(as_text=True))
    start = body.index('<section id="group-views"')
    section = body[start : body.index("</section>", start)]
    assert "<h2>The group's own views</h2>" in section
    assert "Kendall's W = 0.11 among all 3 analysts" in section
    assert "Without Analyst A, Joint drills would rank first" in section
    assert "Analyst A (" not in section  # the memo's own labels, no names beside them
