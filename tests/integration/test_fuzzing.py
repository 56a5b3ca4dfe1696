"""Random and boundary input to every state-changing route, as every kind of asker: the server
never answers 500, and a refused request (any 4xx) leaves the stored data as it was. Random
query strings on every page: never a 500, nothing stored, the live matrix unharmed.

``FIELDS`` names the form fields of each state-changing (endpoint, method); a route missing from
it fails ``test_every_state_change_is_fuzzed`` by name. Each request is a form, an htmx form,
a JSON body or a form without its CSRF token, with fields missing, repeated, or holding text
with any Unicode, control characters, huge strings and numbers written every way.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, delete, select
from sqlmodel import SQLModel, col

from app.db.models import Decision, GroupViewCache, Member, User
from app.db.uow import unit_of_work
from app.domain.vocabulary import DecisionStatus, Role
from app.services import decisions as decision_service
from app.services import scores as score_service
from app.services.live_matrix import clear_local
from tests.factories import PASSWORD, make_user
from tests.integration.test_authorization_matrix import (
    ANONYMOUS,
    ASKERS,
    ROUTES,
    VARIABLE,
    Setup,
    build_decisions,
    route_methods,
    rule_of,
    url_of,
)

# Written by requests that are refused on purpose (failed logins are counted and recorded) or
# by any request that reads (the shared cache of group views).
ALWAYS_CHANGING = frozenset({"login_throttle", "group_view_cache"})
LOGIN_RECORDS = frozenset({"audit_event"})

MEMO_FIELDS = ("memorandum_for", "from_line", "subject", "bottom_line", "sections")
DECISION_FIELDS = ("title", "question", "background", "classification", "scale_min", "scale_max")
FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("auth.login", "POST"): ("username", "password", "next"),
    ("auth.logout", "POST"): (),
    ("decisions.create", "POST"): (*DECISION_FIELDS, "scoring_mode"),
    ("decisions.start", "POST"): (),
    ("decisions.edit", "POST"): (*DECISION_FIELDS, "name_analysts_in_memo"),
    ("decisions.set_member", "POST"): (
        "username",
        "user_id",
        "role",
        "confirm_role_change",
        "confirm",
    ),
    ("decisions.remove_member", "POST"): ("user_id",),
    ("decisions.archive", "POST"): (),
    ("decisions.restore", "POST"): (),
    ("decisions.delete", "POST"): (),
    ("criteria.retire", "POST"): (),
    ("criteria.restore", "POST"): (),
    ("criteria.delete", "POST"): (),
    ("matrix.undo_score", "POST"): ("option_id", "criterion_id"),
    ("what_if.adopt", "POST"): ("w-1", "w-2", "v-1", "v-2"),
    ("comments.option", "POST"): ("body", "parent_id"),
    ("comments.cell", "POST"): ("body", "parent_id"),
    ("notifications.open_", "POST"): (),
    ("notifications.mark_all_read", "POST"): (),
    ("options.create", "POST"): ("title", "summary", "description"),
    ("options.update", "POST"): ("title", "summary", "description", "version"),
    ("options.withdraw", "POST"): (),
    ("options.restore", "POST"): (),
    ("history.restore_text", "POST"): ("revision",),
    ("criteria.create", "POST"): ("name", "description", "weight", "direction"),
    ("criteria.update", "POST"): ("name", "description", "weight", "direction", "version"),
    ("matrix.set_weight", "POST"): ("weight",),
    ("matrix.save_score", "POST"): ("option_id", "criterion_id", "value", "rationale"),
    ("matrix.mark_done", "POST"): ("done",),
    ("matrix.settings", "POST"): ("scoring_mode", "aggregation", "missing_policy", "status"),
    ("matrix.reveal", "POST"): (),
    ("matrix.open_round", "POST"): ("round",),
    ("memos.preview", "POST"): MEMO_FIELDS,
    ("memos.issue", "POST"): MEMO_FIELDS,
    ("auth.password", "POST"): ("current", "new", "repeated"),
    ("people.create_one", "POST"): ("username", "name", "email"),
    ("people.create_many", "POST"): ("accounts",),
}

NUMBERS = [
    "0", "1", "3", "-1", "100", "-101", "1.5", "1e309", "-1e309", "NaN", "nan", "inf", "-inf",
    "Infinity", "0x10", "1_000", "٣", " 4 ", "#2", "2147483647", "2147483648",
    "99999999999999999999999", "-0", "1e-400", "",
]  # fmt: skip
TEXTS = [
    "", " ", "\t", "\r\n", "\x0b", "\x1f", "\x7f", "\u202e", "\ufeff", "\ud7ff", "💥",
    "\x00", "e\u0301", "<script>alert(1)</script>", "{{ 7*7 }}", "=HYPERLINK(\"x\")",
    "[" * 3_000, "x" * 70_000, "é" * 5_000, "a\x00b",
]  # fmt: skip
# Values a field of that name plausibly takes, so that requests also get past validation.
PLAUSIBLE: dict[str, list[str]] = {
    "username": ["observer", "analyst-b", "fuzz-target", "outsider", "nobody"],
    "password": [PASSWORD, "wrong"],
    "next": ["/", "//evil.example/", "/decisions/1", "\\\\evil", "javascript:alert(1)"],
    "role": ["facilitator", "analyst", "observer", "admin"],
    "direction": ["benefit", "cost"],
    "scoring_mode": ["open", "blind"],
    "aggregation": ["mean", "median"],
    "missing_policy": ["skip", "zero", "worst"],
    "status": ["scoring", "closed", "draft"],
    "sections": ["chart", "disagreements", "robustness"],
    "done": ["0", "1"],
    "name_analysts_in_memo": ["on", "1", "0"],
    "title": ["Joint drills", "Mediation"],
    "name": ["Acceptability", "Cost"],
    "subject": ["Memo"],
    "bottom_line": ["We recommend joint drills."],
}
IDS = (
    "option_id",
    "criterion_id",
    "revision",
    "version",
    "round",
    "weight",
    "value",
    "user_id",
    "parent_id",
)

text_values = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Mn", "So"]), max_size=8),
    st.sampled_from(TEXTS),
    st.sampled_from(NUMBERS),
    st.integers().map(str),
    st.floats().map(str),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@pytest.fixture
def fuzz(app: Flask) -> Setup:
    found = build_decisions(app)
    with app.app_context(), unit_of_work() as session:
        make_user(session, "fuzz-target")
    for asker in ASKERS:
        found.sign_in(asker)
    return found


def snapshot(app: Flask, skip: frozenset[str]) -> dict[str, tuple[int, str]]:
    """Every table's row count and a digest of its rows, in primary-key order."""
    found = {}
    with app.app_context(), unit_of_work(write=False) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            assert isinstance(table, Table)
            rows = session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
            found[table.name] = (len(rows), digest)
    return found


# Half the time someone who may take most actions, so that requests get past the gate.
LIKELY_ASKERS = ["facilitator", "analyst-a", *ASKERS, "facilitator", "analyst-a"]


@st.composite
def requests(draw: st.DrawFn, fuzz: Setup, endpoint: str, method: str) -> dict[str, Any]:
    """One request: who asks, the URL's ids, the body and how it is sent."""
    a = fuzz.ids
    ids = {  # mostly decision A's own ids; at times another decision's, or none at all
        "decision_id": draw(st.sampled_from([a["decision_id"]] * 5 + [0, 2**31 - 1])),
        "option_id": draw(
            st.sampled_from([a["option_id"]] * 3 + [a["spare_option"]] * 2)
            | st.sampled_from([fuzz.foreign["option_id"], 0])
        ),
        "criterion_id": draw(
            st.sampled_from([a["criterion_id"]] * 4 + [fuzz.foreign["criterion_id"]])
        ),
        # Someone else's notification, or none at all.
        "notification_id": draw(st.sampled_from([a["notification_id"], 0, 2**31 - 1])),
    }
    form: dict[str, list[str]] = {}
    plausible_ids = [str(v) for v in (*fuzz.ids.values(), *fuzz.foreign.values())]
    for name in FIELDS[(endpoint, method)]:
        good = PLAUSIBLE.get(name, plausible_ids if name in IDS else [])
        if endpoint == "auth.login" and name == "username":  # failures lock a username out
            good = ["fuzz-target", "nobody"]
        value = st.sampled_from(good) | text_values if good else text_values
        count = draw(st.sampled_from([1, 1, 1, 0, 2]))  # mostly one value, at times none or two
        if count:
            form[name] = [draw(value) for _ in range(count)]
    return {
        "asker": draw(st.sampled_from(LIKELY_ASKERS)),
        "ids": ids,
        "form": form,
        "style": draw(st.sampled_from(["form", "form", "htmx", "json", "no-token"])),
        "json": draw(st.dictionaries(st.sampled_from([*form, "x"]), json_values, max_size=4)),
        "address": f"10.9.{draw(st.integers(0, 255))}.{draw(st.integers(1, 254))}",
    }


def send(fuzz: Setup, method: str, url: str, request: dict[str, Any]) -> Any:
    asker, style = request["asker"], request["style"]
    client, token = fuzz.clients[asker], fuzz.tokens[asker]
    headers = {}
    environ = {"REMOTE_ADDR": request["address"]}  # failed logins are counted per address
    if style == "json":
        headers["X-CSRFToken"] = token
        return client.open(
            url, method=method, json=request["json"], headers=headers, environ_base=environ
        )
    data: dict[str, Any] = dict(request["form"])
    if style == "htmx":
        headers |= {"HX-Request": "true", "X-CSRFToken": token}
    elif style == "form":
        data["csrf_token"] = token
    return client.open(url, method=method, data=data, headers=headers, environ_base=environ)


def test_every_state_change_is_fuzzed(app: Flask) -> None:
    changes = {(e, m) for e, m, _ in route_methods(app) if m != "GET"}
    missing = sorted(changes - FIELDS.keys())
    assert not missing, f"state-changing routes with no fields in FIELDS: {missing}"
    assert not sorted(FIELDS.keys() - changes), "FIELDS names routes that no longer exist"


def filled(rule: str, ids: dict[str, int]) -> str:
    return VARIABLE.sub(lambda m: str(ids[m.group(1)]), rule)


def forget_group_views(app: Flask) -> None:
    """Empty both levels of the group views' cache: this process's and the shared one."""
    clear_local()
    with app.app_context(), unit_of_work() as session:
        session.execute(delete(GroupViewCache))


FUZZ_SETTINGS = settings(
    max_examples=15,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
FIRST_ROLES = (("facilitator", Role.FACILITATOR), ("analyst-a", Role.ANALYST))


def reset(fuzz: Setup) -> None:
    """Decision A open for scoring, its facilitator and analyst in their roles again (a random
    request may have closed it or changed a role, which would refuse all that follows)."""
    a = fuzz.ids["decision_id"]
    with fuzz.app.app_context(), unit_of_work() as session:
        members = session.execute(
            select(col(User.username), col(Member.role))
            .join(Member, col(Member.user_id) == col(User.id))
            .where(col(Member.decision_id) == a)
        ).tuples()
        roles = {username: role for username, role in members}
        actor = session.scalar(
            select(col(Member.user_id))
            .where(col(Member.decision_id) == a, col(Member.role) == Role.FACILITATOR.value)
            .order_by(col(Member.id))
        )
        assert actor is not None, "decision A has no facilitator"
        for username, role in FIRST_ROLES:
            if roles.get(username) != role.value:
                decision_service.set_member(
                    session=session, decision_id=a, actor_id=actor, username=username, role=role
                )
        decision = session.get(Decision, a)
        assert decision is not None
        if decision.status != DecisionStatus.SCORING.value:
            facilitator = session.scalar(
                select(col(User.id)).where(col(User.username) == "facilitator")
            )
            assert facilitator is not None
            score_service.update_settings(
                session=session,
                decision=decision,
                actor_id=facilitator,
                data={"status": DecisionStatus.SCORING.value},
            )


@FUZZ_SETTINGS
@given(data=st.data())
def test_random_input_never_fails_the_server_nor_half_writes(
    app: Flask, fuzz: Setup, data: st.DataObject
) -> None:
    """One random request to every state-changing route in turn."""
    reset(fuzz)
    for endpoint, method in FIELDS:
        request = data.draw(requests(fuzz, endpoint, method), label=f"{method} {endpoint}")
        url = filled(rule_of(app, endpoint, method), request["ids"])
        skip = ALWAYS_CHANGING | (LOGIN_RECORDS if endpoint == "auth.login" else frozenset())
        before = snapshot(app, skip)
        response = send(fuzz, method, url, request)
        status, body = response.status_code, response.get_data()[:300]
        after = snapshot(app, skip)
        if endpoint.startswith("auth."):  # the client may now be someone else, or no one
            fuzz.sign_in(request["asker"])
        assert status < 500, f"{method} {url} answered {status}: {body!r}"
        if status >= 400 or (request["asker"] == ANONYMOUS and endpoint != "auth.login"):
            changed = sorted(name for name in before if before[name] != after[name])
            assert not changed, f"{method} {url} answered {status}, changed {changed}: {body!r}"


QUERY_NAMES = (
    "round", "revision", "before", "since", "option", "criterion", "person", "kind", "method",
    "samples", "band", "scores", "include", "layout", "fragment", "from", "to", "at", "from_at",
    "to_at", "issued", "next", "q", "user_id",
)  # fmt: skip
QUERY_PLAUSIBLE = [
    "1", "2", "mean", "median", "any", "5", "1000", "panel", "analyst", "cell", "scores", "row",
    "2021-08-05T14:30", "9999-12-31T23:59-14:00", "0001-01-01T00:00+14:00", "option",
]  # fmt: skip


@FUZZ_SETTINGS
@given(data=st.data())
def test_random_queries_never_fail_the_server_nor_write(
    app: Flask, fuzz: Setup, data: st.DataObject
) -> None:
    """Any query string on every page in turn, as a member: never a 500, nothing stored (but
    the audit event of an export), and the live matrix still answers afterwards."""
    forget_group_views(app)  # examples do not depend on one another through the caches
    plausible = [str(v) for v in (*fuzz.ids.values(), *fuzz.foreign.values())] + QUERY_PLAUSIBLE
    values = st.sampled_from(plausible) | text_values
    skip = ALWAYS_CHANGING | LOGIN_RECORDS
    live_url = f"/api/decisions/{fuzz.ids['decision_id']}/matrix"
    for endpoint in (e for e, m in ROUTES if m == "GET"):
        asker = data.draw(st.sampled_from(["observer", "analyst-a", "facilitator"]))
        if data.draw(st.booleans()):  # met by a worker that has not cached this decision yet
            clear_local()
        query = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES), values, max_size=4))
        route = ROUTES[(endpoint, "GET")]
        url = url_of(rule_of(app, endpoint, "GET"), route, fuzz.ids)
        given = {k: str(v).format(**fuzz.ids) for k, v in route.query.items()} | query
        before = snapshot(app, skip)
        response = fuzz.clients[asker].get(url, query_string=given)
        response.close()
        live = fuzz.clients["facilitator"].get(live_url)
        after = snapshot(app, skip)
        assert response.status_code < 500, f"GET {url} {given} answered {response.status_code}"
        assert live.status_code == 200, f"after GET {url} {given} the live matrix fails"
        assert before == after, f"GET {url} {given} changed what is stored"
