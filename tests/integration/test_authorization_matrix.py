"""The authorization matrix: every route and method of ``app.url_map``, as an anonymous visitor,
a non-member, an administrator who is not a member, an observer, an analyst and a facilitator,
gets the status the permission policy (``app.domain.policy``) and the access rules
(``app.web.access``: 404 non-member, 403 role, 409 closed) call for; ids of another decision
in this decision's URLs are never found.

``ROUTES`` is the one table: each (endpoint, method) says who may use it (an ``Action`` of the
policy, or public, signed in, administrator), the status an allowed request gets with the data
given, and how its URL variables are filled. A route missing from it fails the tests by name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlmodel import col

from app.db.conversation import Notification
from app.db.models import Decision, Memo, Revision, User
from app.db.uow import unit_of_work
from app.domain import policy
from app.domain.errors import ServiceError
from app.domain.policy import Action
from app.domain.vocabulary import DecisionStatus, Role
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services import scores as score_service
from tests.conftest import Actions, csrf_token
from tests.factories import make_user, make_world

PUBLIC, SIGNED_IN, ADMIN = "public", "signed in", "administrator"
Who = Action | str

# Who asks, and their role in decision A (None: not a member).
ROLES = {"observer": Role.OBSERVER, "analyst-a": Role.ANALYST, "facilitator": Role.FACILITATOR}
MEMBERS: dict[str, Role | None] = {"outsider": None, "admin": None, **ROLES}
ANONYMOUS = "anonymous"
ASKERS = (ANONYMOUS, *MEMBERS)
SECRET = "Bravo secret"  # in every title of decision B: never shown through A's URLs

MEMO_FORM = {"memorandum_for": "The Principal", "from_line": "Options team", "subject": "Memo"}
MEMO_FORM |= {"bottom_line": "We recommend joint drills."}


@dataclass(frozen=True)
class Route:
    """Who may use an (endpoint, method), and what an allowed request gets.

    ``ids`` fills URL variables with the fixture's ids (the variable's own name by default);
    ``query`` and ``data`` are formatted with the same ids.
    """

    who: Who
    allowed: int
    data: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


# In the order the requests are made: an allowed change must not spoil a later request (the
# spare option is withdrawn then restored, the round opened last, logging out comes at the end).
# memos.issue is sent without a subject: the form comes back (a PDF would only slow the test).
V = Action
SPARE = {"option_id": "spare_option"}
CRITERION = {"name": "Acceptability", "direction": "benefit", "weight": "50", "version": "1"}
SCORE = {"option_id": "{option_id}", "criterion_id": "{criterion_id}", "value": "4"}
# fmt: off
ROUTES: dict[tuple[str, str], Route] = {
    ("auth.login", "GET"): Route(PUBLIC, 200),
    ("static", "GET"): Route(PUBLIC, 200),
    ("health", "GET"): Route(PUBLIC, 200),
    ("decisions.index", "GET"): Route(SIGNED_IN, 200),
    ("api.decisions", "GET"): Route(SIGNED_IN, 200),
    ("audit.whole_log", "GET"): Route(ADMIN, 200),
    ("decisions.overview", "GET"): Route(V.VIEW, 200),
    ("api.decision", "GET"): Route(V.VIEW, 200),
    ("api.matrix", "GET"): Route(V.VIEW, 200),
    ("api.analysis", "GET"): Route(V.VIEW, 200),
    ("audit.decision_log", "GET"): Route(V.VIEW_AUDIT, 200),
    ("criteria.index", "GET"): Route(V.VIEW, 302),  # the criteria live on the overview
    ("criteria.edit", "GET"): Route(V.EDIT_CRITERIA, 200),
    ("exports.matrix_csv", "GET"): Route(V.VIEW, 200),
    ("exports.matrix_xlsx", "GET"): Route(V.VIEW, 200),
    ("history.feed", "GET"): Route(V.VIEW, 200),
    ("history.as_of", "GET"): Route(V.VIEW, 302),  # to the latest change
    ("history.as_of_cell", "GET"): Route(V.VIEW, 200, query={"revision": "{revision}"}),
    ("history.compare", "GET"): Route(V.VIEW, 200, query={"from": "{first_revision}"}),
    ("history.option_timeline", "GET"): Route(V.VIEW, 302),  # to the option's page
    ("matrix.page", "GET"): Route(V.VIEW, 200),
    ("matrix.cell_detail", "GET"): Route(V.VIEW, 200),
    ("matrix.poll", "GET"): Route(V.VIEW, 200),
    ("memos.index", "GET"): Route(V.VIEW, 200),
    ("memos.new", "GET"): Route(V.ISSUE_MEMO, 200),
    ("memos.download", "GET"): Route(V.VIEW, 200),
    ("memos.snapshot", "GET"): Route(V.VIEW, 200),
    # The fixture's memo was stored without a Word copy: 404 with the reason, to members only.
    ("memos.download_docx", "GET"): Route(V.VIEW, 404),
    ("options.index", "GET"): Route(V.VIEW, 200),
    ("options.detail", "GET"): Route(V.VIEW, 200),
    ("options.edit", "GET"): Route(V.EDIT_OPTION, 200),
    ("auth.login", "POST"): Route(PUBLIC, 401, {"username": "{asker}", "password": "no"}),
    ("decisions.create", "POST"): Route(ADMIN, 303, {"title": "Another", "question": "Which?"}),
    ("decisions.edit", "POST"): Route(V.EDIT_DECISION, 303, {"title": "Test", "question": "?"}),
    ("decisions.members", "GET"): Route(V.VIEW, 302),
    ("decisions.search_people", "GET"): Route(V.MANAGE_MEMBERS, 200, query={"q": "analyst"}),
    ("decisions.confirm_remove_member", "GET"): Route(
        V.MANAGE_MEMBERS, 404, query={"user_id": "0"}),
    ("decisions.remove_member", "POST"): Route(V.MANAGE_MEMBERS, 422, {"user_id": "0"}),
    ("decisions.confirm_archive", "GET"): Route(V.CHANGE_SETTINGS, 200),
    ("decisions.confirm_delete", "GET"): Route(V.CHANGE_SETTINGS, 200),
    ("decisions.archive", "POST"): Route(V.CHANGE_SETTINGS, 303),
    ("decisions.restore", "POST"): Route(V.CHANGE_SETTINGS, 303),
    ("decisions.delete", "POST"): Route(V.CHANGE_SETTINGS, 409),
    ("decisions.set_member", "POST"): Route(
        V.MANAGE_MEMBERS, 303, {"username": "observer", "role": "observer"}),
    ("options.create", "POST"): Route(V.PROPOSE_OPTION, 303, {"title": "New idea"}),
    ("options.update", "POST"): Route(V.EDIT_OPTION, 303, {"title": "Drills", "version": "1"}),
    ("options.withdraw", "POST"): Route(V.WITHDRAW_OPTION, 303, ids=SPARE),
    ("options.restore", "POST"): Route(V.WITHDRAW_OPTION, 303, ids=SPARE),
    ("history.restore_text", "POST"): Route(
        V.RESTORE_OPTION_TEXT, 303, {"revision": "{option_revision}"}),
    ("criteria.create", "POST"): Route(V.EDIT_CRITERIA, 303, {"name": "Cost", "weight": "10"}),
    ("criteria.update", "POST"): Route(V.EDIT_CRITERIA, 303, CRITERION),
    ("matrix.set_weight", "POST"): Route(V.EDIT_CRITERIA, 303, {"weight": "55"}),
    ("matrix.save_score", "POST"): Route(V.SCORE, 200, SCORE),
    ("matrix.undo_score", "POST"): Route(V.SCORE, 200),
    ("criteria.retire", "POST"): Route(V.EDIT_CRITERIA, 303),
    ("criteria.restore", "POST"): Route(V.EDIT_CRITERIA, 303),  # right after retire
    ("criteria.delete", "POST"): Route(V.EDIT_CRITERIA, 409),  # scoring started: retire instead
    ("what_if.page", "GET"): Route(V.VIEW, 200),
    # Sent without the versions it started from: stale.
    ("what_if.adopt", "POST"): Route(V.EDIT_CRITERIA, 409),
    ("comments.option", "GET"): Route(V.VIEW, 200),
    ("comments.cell", "GET"): Route(V.VIEW, 200),
    ("comments.option", "POST"): Route(V.COMMENT, 303, {"body": "A comment."}),
    ("comments.cell", "POST"): Route(V.COMMENT, 303, {"body": "A comment."}),
    ("notifications.index", "GET"): Route(SIGNED_IN, 200),
    ("notifications.open_", "POST"): Route(
        SIGNED_IN, 404, ids={"notification_id": "bystanders_notification"}
    ),
    ("notifications.mark_all_read", "POST"): Route(SIGNED_IN, 303),
    ("matrix.mark_done", "POST"): Route(V.MARK_DONE, 303, {"done": "1"}),
    ("memos.preview", "POST"): Route(V.ISSUE_MEMO, 200, MEMO_FORM),
    ("memos.issue", "POST"): Route(V.ISSUE_MEMO, 422, MEMO_FORM | {"subject": ""}),
    # Decision A is already scoring: starting it again is a conflict.
    ("decisions.start", "POST"): Route(V.CHANGE_SETTINGS, 409),
    ("matrix.settings", "POST"): Route(V.CHANGE_SETTINGS, 303, {"scoring_mode": "open"}),
    ("matrix.reveal", "POST"): Route(V.REVEAL_ROUND, 303),
    ("matrix.open_round", "POST"): Route(V.OPEN_ROUND, 303, {"round": "1"}),
    ("auth.password", "GET"): Route(SIGNED_IN, 200),
    ("auth.password", "POST"): Route(
        SIGNED_IN, 422, {"current": "wrong", "new": "x", "repeated": "y"}
    ),
    ("people.index", "GET"): Route(ADMIN, 200),
    ("people.create_one", "POST"): Route(ADMIN, 422, {"username": "", "name": ""}),
    ("people.create_many", "POST"): Route(ADMIN, 422, {"accounts": ""}),
    # Last: logging out ends the asker's session for every row after it.
    ("auth.logout", "POST"): Route(SIGNED_IN, 302),
}
# fmt: on


def route_methods(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) for every route the application answers."""
    return sorted(
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


# --- the two decisions -------------------------------------------------------------------------


@dataclass
class Setup:
    """Decisions A and B (ids by name), and a client with its CSRF token for each asker."""

    app: Flask
    ids: dict[str, int]
    foreign: dict[str, int]
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def sign_in(self, asker: str) -> None:
        """A new client for ``asker`` (logging in and out changes who a client is)."""
        acts = Actions(self.app.test_client())
        if asker != ANONYMOUS:
            acts.login(asker)
        self.tokens[asker] = csrf_token(acts.client) if asker == ANONYMOUS else acts.token()
        self.clients[asker] = acts.client


def _memo(session: Any, decision_id: int, subject: str) -> int:
    pdf = f"%PDF-1.7 {subject}".encode()
    digest = hashlib.sha256(pdf).hexdigest()
    memo = Memo(
        decision_id=decision_id,
        number=1,
        round_number=1,
        subject=subject,
        pdf=pdf,
        size=len(pdf),
        sha256=digest,
        snapshot={"subject": subject},
        snapshot_sha256=digest,
        app_version="0.1.0",
    )
    session.add(memo)
    session.flush()
    return int(memo.id)


def _revision(session: Any, decision_id: int, *, first: bool = False) -> int:
    pick = func.min if first else func.max
    query = select(pick(Revision.id)).where(col(Revision.decision_id) == decision_id)
    return int(session.scalar(query))


def _option_revision(session: Any, option_id: int) -> int:
    text = col(Revision.entity) == "option", col(Revision.entity_id) == str(option_id)
    return int(session.scalar(select(func.min(Revision.id)).where(*text)))


def build_decisions(app: Flask) -> Setup:
    """Decision A (the world) and decision B of the same facilitator, analyst and observer,
    with its own option, criterion, memo, a second round and revisions."""
    with app.app_context(), unit_of_work() as session:
        world = make_world(session)
        fac = session.get(User, world.users["facilitator"])
        assert fac is not None
        a = world.decision_id
        by: dict[str, Any] = {"session": session, "actor_id": fac.id}
        spare = option_service.create_option(decision_id=a, data={"title": "Spare"}, **by)
        own = option_service.create_option(  # proposed by the analyst, who may edit it
            session=session, decision_id=a, actor_id=world.users["analyst-a"], data={"title": "Own"}
        )
        b = decision_service.create_decision(
            session=session, actor=fac, data={"title": f"{SECRET} decision"}
        ).id
        for username, role in (("analyst-a", "analyst"), ("observer", "observer")):
            decision_service.set_member(decision_id=b, username=username, role=role, **by)
        b_option = option_service.create_option(
            decision_id=b, data={"title": f"{SECRET} option"}, **by
        )
        b_criterion = criteria_service.create_criterion(
            decision_id=b, data={"name": f"{SECRET} criterion", "weight": 1}, **by
        )
        decision_b = session.get(Decision, b)
        assert decision_b is not None
        score_service.open_next_round(session=session, decision=decision_b, actor_id=fac.id)
        fac.is_admin = False  # the facilitator is an ordinary user; "admin" is not a member
        make_user(session, "admin", admin=True)
        # A notification of someone who asks nothing: nobody else may open it.
        bystander = make_user(session, "bystander")
        notice = Notification(
            user_id=bystander.id, decision_id=a, kind="round_opened", round_number=1
        )
        session.add(notice)
        session.flush()
        ids = {
            "bystanders_notification": notice.id,
            "notification_id": notice.id,
            "decision_id": a,
            "option_id": world.options[0],
            "criterion_id": world.criteria[0],
            "spare_option": spare.id,
            "analyst_option": own.id,
            "memo_id": _memo(session, a, "Alpha memo"),
            "revision": _revision(session, a),
            "first_revision": _revision(session, a, first=True),
            "option_revision": _option_revision(session, world.options[0]),
        }
        foreign = {
            "option_id": b_option.id,
            "criterion_id": b_criterion.id,
            "memo_id": _memo(session, b, f"{SECRET} memo"),
            "revision": _revision(session, b),
            "option_revision": _option_revision(session, b_option.id),
            "round": 2,
        }
    return Setup(app=app, ids=ids, foreign=foreign)


@pytest.fixture
def setup(app: Flask) -> Setup:
    found = build_decisions(app)
    for asker in ASKERS:
        found.sign_in(asker)
    return found


# --- requests and expectations -----------------------------------------------------------------

VARIABLE = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def url_of(rule: str, route: Route, ids: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "filename":
            return "app.css"
        return str(ids[route.ids.get(name, name)])

    return VARIABLE.sub(fill, rule)


def send(setup: Setup, asker: str, method: str, url: str, route: Route, ids: dict[str, Any]) -> Any:
    client = setup.clients[asker]
    ids = ids | {"asker": asker}
    query = {k: str(v).format(**ids) for k, v in route.query.items()}
    if method == "GET":
        return client.get(url, query_string=query)
    data = {k: str(v).format(**ids) for k, v in route.data.items()}
    data["csrf_token"] = setup.tokens[asker]
    return client.open(url, method=method, query_string=query, data=data)


def expected(route: Route, asker: str, url: str) -> int:
    """The status the policy calls for (``allowed`` when the asker may)."""
    if route.who == PUBLIC:
        return route.allowed
    if asker == ANONYMOUS:
        return 401 if url.startswith("/api/") else 302
    if route.who == SIGNED_IN:
        return route.allowed
    if route.who == ADMIN:
        return route.allowed if asker == "admin" else 403
    assert isinstance(route.who, Action)
    role = MEMBERS[asker]
    if role is None:
        return 404
    return route.allowed if policy.allows(role, route.who) else 403


def check(response: Any, want: int, label: str) -> str | None:
    response.close()  # a static file is streamed from an open file
    got = response.status_code
    if got != want:
        return f"{label}: {got}, expected {want}: {response.get_data(as_text=True)[:200]!r}"
    if want == 302 and label.startswith(ANONYMOUS) and "/login" not in response.location:
        return f"{label}: redirected to {response.location}, not to the login page"
    return None


def ordered_routes(app: Flask) -> list[tuple[str, str, str, Route]]:
    """(endpoint, method, rule, route) in the table's order; a route not in it fails here."""
    found = {(endpoint, method): rule for endpoint, method, rule in route_methods(app)}
    missing = sorted(found.keys() - ROUTES.keys())
    assert not missing, f"routes with no expected statuses in ROUTES: {missing}"
    return [(e, m, found[(e, m)], route) for (e, m), route in ROUTES.items() if (e, m) in found]


def rule_of(app: Flask, endpoint: str, method: str) -> str:
    return next(r for e, m, r in route_methods(app) if (e, m) == (endpoint, method))


# --- the tests ---------------------------------------------------------------------------------


def test_every_route_is_in_the_table(app: Flask) -> None:
    assert len(ordered_routes(app)) > 40  # fails naming any route missing from ROUTES
    stale = sorted(ROUTES.keys() - {(e, m) for e, m, _ in route_methods(app)})
    assert not stale, f"ROUTES names routes the application no longer has: {stale}"


def test_every_route_answers_each_asker_as_the_policy_says(app: Flask, setup: Setup) -> None:
    failures = []
    checked = 0
    for endpoint, method, rule, route in ordered_routes(app):
        url = url_of(rule, route, setup.ids)
        for asker in ASKERS:
            response = send(setup, asker, method, url, route, setup.ids)
            failure = check(response, expected(route, asker, url), f"{asker} {method} {endpoint}")
            if failure:
                failures.append(failure)
            checked += 1
    assert not failures, "\n".join(failures)
    assert checked == len(ROUTES) * len(ASKERS)


def test_an_analyst_edits_only_the_options_they_proposed(app: Flask, setup: Setup) -> None:
    ids = setup.ids | {"option_id": setup.ids["analyst_option"]}
    for endpoint, method, askers in (
        ("options.edit", "GET", ("observer", "facilitator", "analyst-a")),
        ("options.update", "POST", ("observer", "analyst-a")),  # one edit from version 1
    ):
        route = ROUTES[(endpoint, method)]
        url = url_of(rule_of(app, endpoint, method), route, ids)
        for asker in askers:
            may = policy.allows(ROLES[asker], Action.EDIT_OPTION, is_author=asker == "analyst-a")
            failure = check(
                send(setup, asker, method, url, route, ids),
                route.allowed if may else 403,
                f"{asker} {endpoint} of the option analyst-a proposed",
            )
            assert failure is None, failure


def refused_up_front(route: Route, role: Role) -> bool:
    """Whether ``load_decision`` refuses the role before looking at the request (an analyst's
    right to edit an option depends on the option, so it is checked with it)."""
    assert isinstance(route.who, Action)
    return not policy.allows(role, route.who, is_author=True)


def _closed_status(route: Route, role: Role) -> int:
    assert isinstance(route.who, Action)
    if refused_up_front(route, role):
        return 403
    try:
        policy.require_open(DecisionStatus.CLOSED.value, route.who)
    except ServiceError as exc:
        return exc.status
    return route.allowed


def test_a_closed_decision_refuses_every_change_the_policy_freezes(
    app: Flask, setup: Setup
) -> None:
    closing = ROUTES[("matrix.settings", "POST")]
    closed = Route(closing.who, closing.allowed, data={"status": "closed"})
    url = url_of("/decisions/<int:decision_id>/settings", closed, setup.ids)
    assert send(setup, "facilitator", "POST", url, closed, setup.ids).status_code == 303
    failures = []
    for endpoint, method, rule, route in ordered_routes(app):
        if method == "GET" or not isinstance(route.who, Action) or endpoint == "matrix.settings":
            continue
        url = url_of(rule, route, setup.ids)
        for asker, role in ROLES.items():
            want = _closed_status(route, role)
            failure = check(
                send(setup, asker, method, url, route, setup.ids), want, f"{asker} {endpoint}"
            )
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures)


FOREIGN_VARIABLES = ("option_id", "criterion_id", "memo_id")


def test_another_decisions_ids_are_never_found_through_this_decisions_urls(
    app: Flask, setup: Setup
) -> None:
    failures = []
    checked = 0
    for endpoint, method, rule, route in ordered_routes(app):
        names = [n for n in VARIABLE.findall(rule) if n in FOREIGN_VARIABLES]
        for name in names:
            ids = setup.ids | {route.ids.get(name, name): setup.foreign[name]}
            url = url_of(rule, route, ids)
            for asker, role in ROLES.items():
                response = send(setup, asker, method, url, route, ids)
                label = f"{asker} {method} {endpoint} with decision B's {name}"
                # Not found, unless the role is refused before anything is looked up.
                failure = check(response, 403 if refused_up_front(route, role) else 404, label)
                if SECRET.encode() in response.get_data():
                    failure = f"{label}: shows decision B's data"
                if failure:
                    failures.append(failure)
                checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 3 * 12


def foreign_request(setup: Setup, endpoint: str, method: str, params: dict[str, str]) -> Any:
    """Decision A's ``endpoint`` with ``params`` naming decision B's things, as the member the
    route is for (the analyst scores, the facilitator restores texts)."""
    route = ROUTES[(endpoint, method)]
    asker = "analyst-a" if route.who is Action.SCORE else "facilitator"
    foreign = setup.foreign | {"first_revision": setup.ids["first_revision"]}
    given = {k: v.format(**foreign) for k, v in params.items()}
    query, data = (route.query | given, route.data) if method == "GET" else (route.query, given)
    route = Route(route.who, route.allowed, route.data | data, query, route.ids)
    url = url_of(rule_of(setup.app, endpoint, method), route, setup.ids)
    return send(setup, asker, method, url, route, setup.ids)


# Ids of decision B given in the query string or the form of decision A's URLs: not found.
FOREIGN_PARAMETERS: list[tuple[str, str, dict[str, str]]] = [
    ("matrix.page", "GET", {"round": "{round}"}),
    ("matrix.cell_detail", "GET", {"round": "{round}"}),
    ("api.matrix", "GET", {"round": "{round}"}),
    ("api.analysis", "GET", {"round": "{round}"}),
    ("exports.matrix_csv", "GET", {"round": "{round}"}),
    ("history.restore_text", "POST", {"revision": "{option_revision}"}),
    ("matrix.save_score", "POST", {"option_id": "{option_id}"}),
    ("matrix.save_score", "POST", {"criterion_id": "{criterion_id}"}),
]
# A change number is a point in time shared by all decisions (revision ids are one sequence):
# one recorded in decision B shows decision A as it stood then, and nothing of B.
FOREIGN_POINTS: list[tuple[str, str, dict[str, str]]] = [
    ("history.as_of", "GET", {"revision": "{revision}"}),
    ("history.as_of_cell", "GET", {"revision": "{revision}"}),
    ("history.compare", "GET", {"from": "{revision}"}),
    ("history.compare", "GET", {"from": "{first_revision}", "to": "{revision}"}),
    ("exports.matrix_csv", "GET", {"revision": "{revision}"}),
]


def test_another_decisions_ids_in_queries_and_forms_show_nothing_of_it(setup: Setup) -> None:
    failures = []
    for want, cases in ((404, FOREIGN_PARAMETERS), (200, FOREIGN_POINTS)):
        for endpoint, method, params in cases:
            response = foreign_request(setup, endpoint, method, params)
            label = f"{method} {endpoint} with decision B's {params}"
            failure = check(response, want, label)
            if SECRET.encode() in response.get_data():
                failure = f"{label}: shows decision B's data"
            shows_a = b"Intelligence sharing" in response.get_data()
            if want == 200 and endpoint != "history.as_of_cell" and not shows_a:
                failure = f"{label}: does not show decision A"
            if failure:
                failures.append(failure)
    assert not failures, "\n".join(failures)
