"""The live matrix: what a page, a save and a poll cost (the same for a small and a large
decision), what a poll answers, blind rounds through the shared group view, change numbers,
and group views shared between processes through Redis or the database."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import redis
from flask import Flask
from sqlalchemy import Engine, create_engine, delete, event, select
from sqlmodel import Session, col

from app import create_app
from app.adapters.shared_cache import DatabaseCache, NoSharedCache, RedisCache, make_shared_cache
from app.db import changes
from app.db.engine import get_engine, new_session
from app.db.models import Decision, GroupViewCache, Round, Score, User
from app.db.uow import unit_of_work
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import live_matrix as live_matrix_service
from app.services import options as option_service
from app.services import scores as score_service
from app.services.group_view import GroupView
from app.services.live_matrix import cached_view, clear_local
from app.services.matrix import default_method
from app.web.live import CACHE_KEY, shared_cache
from app.web.views import matrix as matrix_views
from tests.conftest import CSRF_RE, Actions
from tests.factories import World, make_user

REDIS_URL = "redis://127.0.0.1:6379/15"
NOISE = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
POLL_RE = re.compile(r'hx-get="([^"]+/matrix/poll[^"]+)"')


@pytest.fixture(autouse=True)
def default_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """No Redis unless a test asks for it: the database (PostgreSQL) or the process (SQLite)."""
    monkeypatch.delenv("REDIS_URL", raising=False)


def page_of(world: World) -> str:
    return f"/decisions/{world.decision_id}/matrix"


def build_decision(
    app: Flask,
    world: World,
    *,
    size: tuple[int, int],
    analysts: Sequence[str],
    scale: tuple[int, int] = (1, 5),
    scored: bool = True,
) -> World:
    """A decision of ``size`` (options, criteria) built in one transaction: options, criteria
    and members through the services; every analyst's scores, if ``scored``, as rows."""
    with app.app_context(), unit_of_work() as session:
        facilitator = session.get(User, world.users["facilitator"])
        assert facilitator is not None
        decision = decision_service.create_decision(
            session=session,
            actor=facilitator,
            data={"title": f"Decision {size}", "scale_min": scale[0], "scale_max": scale[1]},
        )
        by: dict[str, Any] = {
            "session": session,
            "decision_id": decision.id,
            "actor_id": facilitator.id,
        }
        for name in analysts:
            if name not in world.users:
                world.users[name] = make_user(session, name).id
        for name, role in [(a, "analyst") for a in analysts] + [("observer", "observer")]:
            decision_service.set_member(**by, username=name, role=role)
        built = World(decision.id, world.users)
        for i in range(size[0]):
            data: dict[str, Any] = {"title": f"Option {i + 1}"}
            built.options.append(option_service.create_option(**by, data=data).id)
        for j in range(size[1]):
            direction = "cost" if j % 2 else "benefit"
            data = {"name": f"Criterion {j + 1}", "weight": 10 + j, "direction": direction}
            built.criteria.append(criteria_service.create_criterion(**by, data=data).id)
        score_service.update_settings(
            session=session, decision=decision, actor_id=facilitator.id, data={"status": "scoring"}
        )
        if scored:
            round_ = session.scalars(select(Round).where(col(Round.decision_id) == decision.id))
            round_id, steps = round_.one().id, scale[1] - scale[0] + 1
            session.add_all(
                Score(
                    round_id=round_id,
                    option_id=o,
                    criterion_id=c,
                    analyst_id=world.users[a],
                    value=scale[0] + (i + 2 * j + k) % steps,
                )
                for i, o in enumerate(built.options)
                for j, c in enumerate(built.criteria)
                for k, a in enumerate(analysts)
            )
            changes.mark_changed(session, decision.id)  # as a recorded revision would
    return built


def number(app: Flask, decision_id: int) -> int:
    with app.app_context(), unit_of_work(write=False) as session:
        return changes.current_number(session=session, decision_id=decision_id)


def forget_group_views(app: Flask) -> None:
    """Nothing computed anywhere: this process's first level and the database's table."""
    clear_local()
    with app.app_context(), unit_of_work() as session:
        session.execute(delete(GroupViewCache))


def save_in(session: Session, decision_id: int, analyst: int, o: int, c: int, value: str) -> None:
    """Save a score through the service (another worker's save: nothing computed here)."""
    decision = session.get(Decision, decision_id)
    assert decision is not None
    cell: dict[str, Any] = {"option_id": o, "criterion_id": c, "value": value}
    score_service.save_score(session=session, decision=decision, analyst_id=analyst, **cell)


def token_of(acts: Actions) -> str:
    """The client's CSRF token, read from a page once (never while statements are counted)."""
    token: str | None = getattr(acts, "live_token", None)
    if token is None:
        token = acts.live_token = acts.token()  # type: ignore[attr-defined]
    return token


def save(acts: Actions, decision_id: int, option: int, criterion: int, **data: Any) -> Any:
    """Save a cell as the page does, by htmx with the CSRF token in a header."""
    form = {"option_id": str(option), "criterion_id": str(criterion)}
    return acts.client.post(
        f"/decisions/{decision_id}/matrix/scores",
        data=form | {k: str(v) for k, v in data.items()},
        headers={"HX-Request": "true", "X-CSRFToken": token_of(acts)},
    )


def get(acts: Actions, url: str, status: int = 200) -> str:
    response = acts.get(url, htmx="/poll" in url)
    assert response.status_code == status, (url, response.status_code)
    return str(response.get_data(as_text=True))


def poll_url(body: str) -> str:
    match = POLL_RE.search(body)
    assert match, "no poll element"
    return html_lib.unescape(match.group(1))


def with_since(url: str, since: int) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{urlencode(dict(parse_qsl(parts.query)) | {'since': str(since)})}"


def group_blocks(body: str) -> set[str]:
    return set(re.findall(r'id="g-(\d+-\d+)"', body))


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine inside the block, transaction control left
    out (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE), with the score reads that go straight
    to the driver (they bypass the engine's events)."""
    seen: list[str] = []
    engine, straight = get_engine(app), live_matrix_service.driver_rows

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(NOISE):
            seen.append(" ".join(statement.split()))

    def driver_rows(session: Session, statement: Any) -> list[tuple[Any, ...]]:
        seen.append(" ".join(str(statement).split()))
        return straight(session, statement)

    event.listen(engine, "before_cursor_execute", record)
    live_matrix_service.driver_rows = driver_rows
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        live_matrix_service.driver_rows = straight


def computes_group(seen: Sequence[str]) -> bool:
    """Whether the statements computed a group view (only that reads who finished a round)."""
    return any("FROM round_completion" in s for s in seen)


# 1. Query counts pinned: the same for a small and a large decision.


def costs(app: Flask, built: World, a: Actions, b: Actions) -> dict[str, list[str]]:
    """Each request's statements: warm (group view computed here), with only the structure
    known (another worker saved) and cold (nothing computed anywhere)."""
    (o, *_), (c, *_), d = built.options, built.criteria, built.decision_id
    spent: dict[str, list[str]] = {}

    def measure(name: str, url: str, status: int = 200) -> None:
        with statements(app) as seen:
            get(b, url, status)
        spent[name] = list(seen)

    def measure_save(name: str, value: int) -> None:
        with statements(app) as seen:
            assert save(a, d, o, c, value=value).status_code == 200
        spent[name] = list(seen)

    first = poll_url(get(b, page_of(built)))
    token_of(a)
    measure("page, warm", page_of(built))
    measure_save("save, warm", 2)
    measure("poll, unchanged", with_since(first, number(app, d)), 204)
    measure("poll, changed, warm", first)
    with app.app_context(), unit_of_work() as session:
        save_in(session, d, built.users["analyst-b"], o, c, "4")
    measure("poll, changed, group view not computed", first)
    forget_group_views(app)
    measure("page, cold", page_of(built))
    forget_group_views(app)
    measure_save("save, cold", 3)
    forget_group_views(app)
    measure("poll, unchanged, cold", with_since(first, number(app, d)), 204)
    measure("poll, changed, cold", with_since(first, number(app, d) - 1))
    return spent


def test_page_save_and_polls_cost_the_same_for_a_small_and_a_large_decision(
    app: Flask, world: World, as_role: Any
) -> None:
    analysts = ["analyst-a", "analyst-b", "analyst-c", "analyst-d", "analyst-e", "analyst-f"]
    small = build_decision(app, world, size=(2, 2), analysts=analysts[:2])
    large = build_decision(app, world, size=(12, 8), analysts=analysts)
    a, b = as_role("analyst-a"), as_role("analyst-b")
    small_costs, large_costs = costs(app, small, a, b), costs(app, large, a, b)
    counts = {k: len(v) for k, v in small_costs.items()}
    assert counts == {k: len(v) for k, v in large_costs.items()}, (small_costs, large_costs)
    for unchanged in ("poll, unchanged", "poll, unchanged, cold"):
        assert counts[unchanged] <= 2, small_costs[unchanged]  # the user, the change number
    # Warm requests compute nothing; the others compute the group view once.
    assert not computes_group(small_costs["page, warm"] + small_costs["poll, changed, warm"])
    for name in ("page, cold", "save, warm", "poll, changed, group view not computed"):
        assert computes_group(small_costs[name]), name


# 2. A poll answers only what moved.


def test_a_poll_answers_only_the_cells_totals_and_ranks_that_moved(
    app: Flask, world: World, as_role: Any
) -> None:
    a, b = as_role("analyst-a"), as_role("analyst-b")
    d, (o1, o2), (acc, risk) = world.decision_id, world.options, world.criteria
    # Both analysts: option 1 (5, 1) -> 100; option 2 (4, 2) -> 75 (risk is a cost).
    for acts in (a, b):
        for (o, c), v in {(o1, acc): 5, (o1, risk): 1, (o2, acc): 4, (o2, risk): 2}.items():
            assert save(acts, d, o, c, value=v).status_code == 200
    url = poll_url(get(b, page_of(world)))
    assert get(b, url, 204) == ""
    save(a, d, o1, acc, value=4)  # option 1: 92.5, still first
    body = get(b, url)
    assert group_blocks(body) == {f"{o1}-{acc}"} and "92.5" in body
    assert f'id="total-{o1}"' in body and f'id="total-{o2}"' not in body
    assert 'id="rank-' not in body
    url = poll_url(body)  # the answer moves the page's poll on to the new change number
    assert dict(parse_qsl(urlsplit(url).query))["since"] == str(number(app, d))
    assert get(b, url, 204) == ""
    save(a, d, o1, risk, value=5)  # option 1: 72.5, now behind option 2 (75)
    body = get(b, url)
    assert group_blocks(body) == {f"{o1}-{risk}"} and "72.5" in body
    assert f'id="total-{o1}"' in body and f'id="total-{o2}"' not in body
    assert f'id="rank-{o1}"' in body and f'id="rank-{o2}"' in body
    # A change number no process remembers: every cell, total and rank is sent again.
    forget_group_views(app)
    body = get(b, with_since(url, 1))
    assert group_blocks(body) == {f"{o}-{c}" for o in (o1, o2) for c in (acc, risk)}
    assert all(f'id="{k}-{o}"' in body for k in ("total", "rank") for o in (o1, o2))


# 3. A blind round stays blind through the shared group view.


def stored_views(app: Flask, decision_id: int) -> list[GroupView]:
    """The decision's views as shared through the database, else as this process keeps them."""
    with app.app_context(), unit_of_work(write=False) as session:
        payload, owner = col(GroupViewCache.payload), col(GroupViewCache.decision_id)
        table = select(payload).where(owner == decision_id)
        if payloads := session.scalars(table).all():
            return [GroupView.from_json(p) for p in payloads]
        decision = session.get(Decision, decision_id)
        numbers = changes.current_numbers(session=session, decision_id=decision_id)
        assert decision is not None and numbers is not None
        at: dict[str, Any] = {
            "created": numbers.created,
            "change_number": numbers.change,
            "round_number": 1,
        }
        method = default_method(decision)
        view = cached_view(cache=shared_cache(), decision_id=decision_id, method=method, **at)
    assert view is not None
    return [GroupView.from_json(view.to_json())]


def test_a_blind_round_stays_blind_through_the_shared_group_view(
    app: Flask, world: World, as_role: Any
) -> None:
    analysts = ["analyst-a", "analyst-b"]
    blind = build_decision(
        app, world, size=(2, 2), analysts=analysts, scale=(-100, 100), scored=False
    )
    fac, a, b = as_role("facilitator"), as_role("analyst-a"), as_role("analyst-b")
    d = blind.decision_id
    assert fac.post(f"/decisions/{d}/settings", {"scoring_mode": "blind"}).status_code == 303
    save(b, d, blind.options[1], blind.criteria[1], value=12.5)
    url = poll_url(get(b, page_of(blind)))
    for o in blind.options:
        for c in blind.criteria:
            assert save(a, d, o, c, value=87.5, rationale="Sealed-7733").status_code == 200
    body = get(b, url)
    assert group_blocks(body) == set()  # nothing moved that b may see
    for hidden in ("87.5", "Sealed-7733", 'class="gv"', "contested", 'id="total-', 'id="rank-'):
        assert hidden not in body, hidden
    for viewer in (b, as_role("observer"), fac):
        page = CSRF_RE.sub("", get(viewer, page_of(blind)))  # tokens hold random digits
        assert "87.5" not in page and "50.0" not in page and 'class="gv"' not in page
    views = stored_views(app, d)
    assert views and all(v.visible is False for v in views)
    assert all(v.cells == {} and v.totals == {} and v.ranks == {} for v in views)
    assert all("87.5" not in v.to_json() for v in views)
    assert fac.post(f"/decisions/{d}/rounds/reveal", {}).status_code == 303
    response = b.get(url, htmx=True)
    assert response.status_code == 200
    assert response.headers.get("HX-Trigger") == "matrix-layout-changed"
    page = get(b, page_of(blind))
    assert 'class="gv">87.5<' in page and 'class="gv">50.0<' in page


# 4. Change numbers: one per transaction that records a revision.


def test_each_transaction_that_records_a_revision_raises_the_change_number_by_one(
    app: Flask, world: World, as_role: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, (o1, o2), (acc, risk) = world.decision_id, world.options, world.criteria
    a, fac = as_role("analyst-a"), as_role("facilitator")
    start = number(app, d)
    response = save(a, d, o1, acc, value=4)
    assert number(app, d) == start + 1 == int(response.headers["X-Change-Number"])
    response = save(a, d, o1, acc, value=4)  # nothing changes: no revision, no number
    assert response.status_code == 200 and "X-Change-Number" not in response.headers
    assert number(app, d) == start + 1
    weight = fac.post(f"/decisions/{d}/matrix/weights/{acc}", {"weight": "20"}, htmx=True)
    assert weight.status_code == 200 and number(app, d) == start + 2
    with app.app_context(), unit_of_work() as session:  # two revisions, one transaction
        for o in (o1, o2):
            save_in(session, d, world.users["analyst-b"], o, risk, "3")
    assert number(app, d) == start + 3
    with app.app_context():  # rolled back, then a commit with nothing in it
        session = new_session(write=True)
        save_in(session, d, world.users["analyst-a"], o2, acc, "1")
        session.flush()  # the revision is seen by the flush hook, then rolled back
        session.rollback()
        session.commit()
        session.close()
    assert number(app, d) == start + 3

    def fail(_decision_id: int) -> Any:
        raise RuntimeError("the answer could not be built")

    monkeypatch.setattr(matrix_views, "_back_to_matrix", fail)
    assert a.post(f"/decisions/{d}/matrix/done", {"done": "1"}).status_code == 500
    assert number(app, d) == start + 3  # the request's revision was rolled back
    monkeypatch.undo()
    assert a.post(f"/decisions/{d}/matrix/done", {"done": "1"}).status_code == 303
    assert number(app, d) == start + 4


# 5. Group views shared between instances: Redis, or the database on PostgreSQL.


def redis_prefix(engine: Engine) -> str:
    database = engine.url.render_as_string(hide_password=True)
    return f"options-matrix:{hashlib.sha256(database.encode()).hexdigest()[:16]}:"


@contextmanager
def redis_keys(prefix: str) -> Iterator[redis.Redis]:
    """Database 15 of the local Redis; the keys under ``prefix`` are removed before and after."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)

    def drop() -> None:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)

    drop()
    try:
        yield client
    finally:
        drop()
        client.close()


def use_cache(app: Flask, monkeypatch: pytest.MonkeyPatch, redis_url: str | None) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    app.extensions.pop(CACHE_KEY, None)  # built again, from the URL above, on first use


@pytest.mark.parametrize("through", ["redis", "database"])
def test_a_group_view_computed_by_one_instance_is_read_by_another(
    app: Flask, world: World, db_url: str, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    redis_url = REDIS_URL if through == "redis" else None
    use_cache(app, monkeypatch, redis_url)
    d, page = world.decision_id, page_of(world)
    analyst_a, analyst_b = Actions(app.test_client()), Actions(app.test_client())
    analyst_a.login("analyst-a")
    analyst_b.login("analyst-b")
    save(analyst_a, d, world.options[0], world.criteria[0], value=4)
    # Another instance of the application on the same database (another worker or host).
    config = {"TESTING": True, "DATABASE_URL": db_url, "SECRET_KEY": "test-secret"}
    other = create_app(config | {"REDIS_URL": redis_url})
    viewer = Actions(other.test_client())
    viewer.login("analyst-b")
    try:
        with redis_keys(redis_prefix(get_engine(app))) as client:
            forget_group_views(app)
            with statements(app) as first:
                assert 'class="gv">4.0<' in get(analyst_b, page)
            assert computes_group(first)
            clear_local()  # the other instance is another process: it has no first level
            with statements(other) as second:
                assert 'class="gv">4.0<' in get(viewer, page)
            stored = list(client.scan_iter(match=f"{redis_prefix(get_engine(app))}*"))
            with other.app_context():
                cache = shared_cache()
    finally:
        get_engine(other).dispose()
    if through == "redis":
        assert isinstance(cache, RedisCache) and stored
    elif get_engine(app).dialect.name == "postgresql":
        assert isinstance(cache, DatabaseCache) and not stored
    else:  # one host with SQLite: nothing to share, each process computes its own
        assert isinstance(cache, NoSharedCache)
    shared = not isinstance(cache, NoSharedCache)
    assert computes_group(second) is not shared, second  # read, not computed again


def test_two_databases_never_share_a_key_in_redis(tmp_path: Any) -> None:
    engines = [create_engine(f"sqlite:///{tmp_path}/{name}.sqlite3") for name in ("one", "two")]
    one, two = (make_shared_cache(redis_url=REDIS_URL, engine=e) for e in engines)
    key = f"group-view:test:{uuid.uuid4().hex}"
    with redis_keys(redis_prefix(engines[0])), redis_keys(redis_prefix(engines[1])):
        one.put(key, "from one", decision_id=1, change_number=1)
        assert two.get(key) is None and one.get(key) == "from one"
        two.put(key, "from two", decision_id=1, change_number=1)
        assert (one.get(key), two.get(key)) == ("from one", "from two")
        again = make_shared_cache(redis_url=REDIS_URL, engine=engines[0])
        assert again.get(key) == "from one"
    for engine in engines:
        engine.dispose()


def test_the_matrix_works_when_redis_is_unreachable(
    app: Flask, world: World, as_role: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = as_role("analyst-a"), as_role("analyst-b")
    d, o, c = world.decision_id, world.options[0], world.criteria[0]
    with socket.socket() as closed:  # a port bound, never listening: connections refused
        closed.bind(("127.0.0.1", 0))
        use_cache(app, monkeypatch, f"redis://127.0.0.1:{closed.getsockname()[1]}/15")
        url = poll_url(get(b, page_of(world)))
        assert save(a, d, o, c, value=5).status_code == 200
        clear_local()
        assert f'id="g-{o}-{c}"' in get(b, url)
        assert 'class="gv">5.0<' in get(b, page_of(world))
        with app.app_context():
            assert isinstance(shared_cache(), RedisCache)
