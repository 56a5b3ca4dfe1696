"""Benchmark option history: ``python bench/history.py [--revisions N] [--database-url URL]``.

Builds one decision with N revisions (default 100,000; bulk-inserted, consistent with each
entity's state) in a fresh database — a temporary SQLite file unless ``--database-url`` names
an empty PostgreSQL database — and prints the median and worst time of:

* the first page of a busy option's timeline (query + plain-word entries with word diffs),
* the first page of the activity feed, unfiltered and filtered by criterion,
* an "as of" reconstruction (pick each entity's latest revision ≤ N, rebuild the matrix),
  in the middle and at the end of the history,
* the same three as whole HTTP requests (rendered pages).

The decision is blind with round 3 not revealed, so the feed and timeline also skip other
analysts' hidden scores. Target: under 100 ms each.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import func, insert, select, update  # noqa: E402

from app import create_app  # noqa: E402
from app.db.models import (  # noqa: E402
    Criterion,
    Decision,
    Member,
    Option,
    Revision,
    Role,
    Round,
    Score,
    User,
)
from app.db.uow import unit_of_work  # noqa: E402

N_OPTIONS, N_CRITERIA, N_ANALYSTS, N_ROUNDS = 12, 8, 6, 3
WORDS = [
    "border",
    "security",
    "exercises",
    "partners",
    "liaison",
    "intelligence",
    "counter-terrorism",
    "rotation",
    "host",
    "consent",
    "Tashkent",
    "Dushanbe",
    "Astana",
    "Bishkek",
    "Moscow",
    "CSTO",
    "deconfliction",
    "humanitarian",
    "corridor",
    "over-the-horizon",
    "capability",
    "presence",
    "influence",
    "cost",
    "authorities",
    "Congress",
]


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _edit(rng: random.Random, text: str, size: int) -> str:
    """Replace, insert or delete a few words, keeping about ``size`` words."""
    words = text.rstrip(".").split()
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(words))
        action = rng.random()
        if action < 0.5:
            words[i] = rng.choice(WORDS)
        elif action < 0.75 and len(words) < size:
            words.insert(i, rng.choice(WORDS))
        elif len(words) > size // 2:
            del words[i]
    return " ".join(words) + "."


def build(url: str, n_revisions: int, seed: int = 7) -> dict[str, int]:
    """A migrated database at ``url`` holding one decision with ``n_revisions`` revisions."""
    rng = random.Random(seed)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SKIP_SCHEMA_CHECK": True})
    from app.db.migrate import upgrade

    with app.app_context():
        upgrade(app)
        start = datetime(2021, 7, 1, tzinfo=UTC)
        with unit_of_work() as db:
            users = [
                User(username=name, display_name=name.replace("-", " ").title(), password_hash="!")
                for name in ["facilitator", "observer"]
                + [f"analyst-{k}" for k in range(N_ANALYSTS)]
            ]
            db.add_all(users)
            db.flush()
            fac, obs, analysts = users[0], users[1], users[2:]
            decision = Decision(
                title="Bench decision",
                question="How many revisions can history take?",
                scoring_mode="blind",
                current_round=N_ROUNDS,
                created_by=fac.id,
            )
            db.add(decision)
            db.flush()
            did = decision.id
            db.add(Member(decision_id=did, user_id=fac.id, role=Role.FACILITATOR.value))
            for u in [obs, *analysts]:
                role = Role.OBSERVER if u is obs else Role.ANALYST
                db.add(Member(decision_id=did, user_id=u.id, role=role.value))
            options = [
                Option(
                    decision_id=did,
                    title=f"Option {k + 1}: {_text(rng, 3)}",
                    summary=_text(rng, 12),
                    description=_text(rng, 80),
                    position=k + 1,
                    created_by=fac.id,
                )
                for k in range(N_OPTIONS)
            ]
            criteria = [
                Criterion(
                    decision_id=did,
                    name=f"Criterion {k + 1}",
                    weight=float(rng.randint(5, 30)),
                    direction="cost" if k % 3 == 2 else "benefit",
                    position=k + 1,
                )
                for k in range(N_CRITERIA)
            ]
            db.add_all(options + criteria)
            db.flush()
            rounds = [
                Round(
                    decision_id=did,
                    number=n,
                    opened_by=fac.id,
                    revealed_at=start if n < N_ROUNDS else None,
                )
                for n in range(1, N_ROUNDS + 1)
            ]
            db.add_all(rounds)
            db.flush()

            rows: list[dict[str, object]] = []
            clock = [start]

            def rev(**values: object) -> None:
                clock[0] += timedelta(seconds=rng.randint(1, 90))
                rows.append(
                    {
                        "decision_id": did,
                        "created_at": clock[0],
                        "before": None,
                        "after": None,
                        "option_id": None,
                        "criterion_id": None,
                        "round_number": None,
                    }
                    | values
                )

            def decision_state(current_round: int) -> dict[str, object]:
                return {
                    "title": decision.title,
                    "question": decision.question,
                    "background": "",
                    "scale_min": 1,
                    "scale_max": 5,
                    "classification": "UNCLASSIFIED",
                    "status": "scoring",
                    "scoring_mode": "blind",
                    "aggregation": "mean",
                    "name_analysts_in_memo": False,
                    "current_round": current_round,
                }

            rev(
                actor_id=fac.id,
                entity="decision",
                entity_id=str(did),
                action="create",
                after=decision_state(1),
            )
            for u in [obs, *analysts]:
                role = "observer" if u is obs else "analyst"
                rev(
                    actor_id=fac.id,
                    entity="member",
                    entity_id=str(u.id),
                    action="create",
                    after={"username": u.username, "role": role},
                )
            opt_state = {}
            for o in options:
                opt_state[o.id] = {
                    "title": o.title,
                    "summary": o.summary,
                    "description": o.description,
                    "status": "active",
                    "position": o.position,
                    "version": 1,
                }
                rev(
                    actor_id=fac.id,
                    entity="option",
                    entity_id=str(o.id),
                    action="create",
                    option_id=o.id,
                    after=dict(opt_state[o.id]),
                )
            crit_state = {}
            for c in criteria:
                crit_state[c.id] = {
                    "name": c.name,
                    "description": "",
                    "weight": c.weight,
                    "direction": c.direction,
                    "position": c.position,
                    "version": 1,
                }
                rev(
                    actor_id=fac.id,
                    entity="criterion",
                    entity_id=str(c.id),
                    action="create",
                    criterion_id=c.id,
                    after=dict(crit_state[c.id]),
                )
            scores: dict[tuple[int, int, int, int], dict[str, object]] = {}
            current = 1
            # Rounds move on at 40 % and 80 % of the history; round 3 stays unrevealed.
            opens = {int(n_revisions * 0.4): 2, int(n_revisions * 0.8): 3}
            while len(rows) < n_revisions:
                if len(rows) in opens:
                    current = opens[len(rows)]
                    rev(
                        actor_id=fac.id,
                        entity="round",
                        entity_id=str(current - 1),
                        action="reveal",
                        round_number=current - 1,
                        before={"revealed": False},
                        after={"revealed": True},
                    )
                    for (r, o, c, a), s in list(scores.items()):
                        if r == current - 1:
                            scores[(current, o, c, a)] = dict(s)
                            rev(
                                actor_id=fac.id,
                                entity="score",
                                entity_id=f"{current}:{o}:{c}:{a}",
                                action="create",
                                option_id=o,
                                criterion_id=c,
                                round_number=current,
                                after=dict(s),
                            )
                    rev(
                        actor_id=fac.id,
                        entity="round",
                        entity_id=str(current),
                        action="open",
                        round_number=current,
                        before=decision_state(current - 1),
                        after=decision_state(current),
                    )
                    continue
                pick = rng.random()
                if pick < 0.70:
                    a = rng.choice(analysts).id
                    o, c = rng.choice(options).id, rng.choice(criteria).id
                    key = (current, o, c, a)
                    before = scores.get(key)
                    after = {
                        "analyst_id": a,
                        "value": float(rng.randint(1, 5)),
                        "not_applicable": False,
                        "rationale": _text(rng, 8),
                    }
                    scores[key] = after
                    rev(
                        actor_id=a,
                        entity="score",
                        entity_id=f"{current}:{o}:{c}:{a}",
                        action="update" if before else "create",
                        option_id=o,
                        criterion_id=c,
                        round_number=current,
                        before=before,
                        after=dict(after),
                    )
                elif pick < 0.85:
                    o = rng.choice(options).id
                    before = dict(opt_state[o])
                    field = rng.choice(["summary", "description", "description"])
                    size = 12 if field == "summary" else 80
                    opt_state[o][field] = _edit(rng, str(opt_state[o][field]), size)
                    opt_state[o]["version"] += 1  # type: ignore[operator]
                    rev(
                        actor_id=fac.id,
                        entity="option",
                        entity_id=str(o),
                        action="update",
                        option_id=o,
                        before=before,
                        after=dict(opt_state[o]),
                    )
                elif pick < 0.95:
                    c = rng.choice(criteria).id
                    before = dict(crit_state[c])
                    crit_state[c]["weight"] = float(rng.randint(0, 30))
                    crit_state[c]["version"] += 1  # type: ignore[operator]
                    rev(
                        actor_id=fac.id,
                        entity="criterion",
                        entity_id=str(c),
                        action="update",
                        criterion_id=c,
                        before=before,
                        after=dict(crit_state[c]),
                    )
                else:
                    o = rng.choice(options).id
                    before = dict(opt_state[o])
                    withdrawn = before["status"] == "withdrawn"
                    opt_state[o]["status"] = "active" if withdrawn else "withdrawn"
                    opt_state[o]["version"] += 1  # type: ignore[operator]
                    rev(
                        actor_id=fac.id,
                        entity="option",
                        entity_id=str(o),
                        action="restore" if withdrawn else "withdraw",
                        option_id=o,
                        before=before,
                        after=dict(opt_state[o]),
                    )
            for chunk in range(0, len(rows), 5000):
                db.execute(insert(Revision), rows[chunk : chunk + 5000])
            # The live rows end where the revisions end.
            for o in options:
                s = opt_state[o.id]
                db.execute(
                    update(Option)
                    .where(Option.id == o.id)
                    .values(
                        summary=s["summary"],
                        description=s["description"],
                        status=s["status"],
                        version=s["version"],
                    )
                )
            for c in criteria:
                s = crit_state[c.id]
                db.execute(
                    update(Criterion)
                    .where(Criterion.id == c.id)
                    .values(weight=s["weight"], version=s["version"])
                )
            round_ids = {r.number: r.id for r in rounds}
            db.execute(
                insert(Score),
                [
                    {
                        "round_id": round_ids[r],
                        "option_id": o,
                        "criterion_id": c,
                        "analyst_id": a,
                        "value": s["value"],
                        "not_applicable": False,
                        "rationale": s["rationale"],
                        "updated_at": start,
                    }
                    for (r, o, c, a), s in scores.items()
                ],
            )
            busiest = db.scalar(
                select(Revision.option_id)
                .where(Revision.decision_id == did, Revision.option_id.is_not(None))
                .group_by(Revision.option_id)
                .order_by(func.count().desc())
                .limit(1)
            )
        if url.startswith("postgresql"):
            # What autovacuum does after a bulk load: statistics and the visibility map (so
            # the reconstruction's GROUP BY is an index-only scan).
            engine = app.extensions["options_matrix.engine"]
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
    app.extensions["options_matrix.engine"].dispose()
    return {
        "decision": did,
        "option": int(busiest or options[0].id),
        "facilitator": fac.id,
        "analyst": analysts[0].id,
        "criterion": criteria[3].id,
        "revisions": len(rows),
    }


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()  # warm-up (connection, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def run(url: str, n_revisions: int, repeats: int) -> None:
    t0 = time.perf_counter()
    ids = build(url, n_revisions)
    print(
        f"built {ids['revisions']:,} revisions in {time.perf_counter() - t0:.1f} s ({url.split(':')[0]})"
    )

    from app.db.engine import new_session
    from app.db.models import Role as R
    from app.services import history
    from app.web.presenters import history as presenter

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
    did = ids["decision"]
    middle = n_revisions // 2
    results: list[tuple[str, tuple[float, float]]] = []
    with app.app_context():
        db = new_session(write=False)
        decision = db.get(Decision, did)
        assert decision is not None
        fac = ids["facilitator"]

        def timeline() -> object:
            page = history.option_timeline(
                session=db, decision=decision, option_id=ids["option"], viewer_id=fac
            )
            return presenter.entries(page)

        def feed() -> object:
            return presenter.entries(
                history.feed_page(session=db, decision=decision, viewer_id=fac)
            )

        def feed_filtered() -> object:
            page = history.feed_page(
                session=db,
                decision=decision,
                viewer_id=fac,
                filters=history.FeedFilter(criterion_id=ids["criterion"]),
            )
            return presenter.entries(page)

        def as_of(point: int) -> Callable[[], object]:
            def go() -> object:
                state = history.load_state(session=db, decision_id=did, revision=point)
                return history.matrix_as_of(
                    session=db,
                    decision=decision,
                    state=state,
                    viewer_id=fac,
                    role=R.FACILITATOR,
                )

            return go

        results.append(("timeline, first page (service)", timed(timeline, repeats)))
        results.append(("feed, first page (service)", timed(feed, repeats)))
        results.append(("feed by criterion, first page (service)", timed(feed_filtered, repeats)))
        results.append((f"as of #{middle:,} (service)", timed(as_of(middle), repeats)))
        results.append((f"as of #{n_revisions:,} (service)", timed(as_of(n_revisions), repeats)))
        db.close()

    client = app.test_client()
    with client.session_transaction() as sess:
        sess["user_id"] = fac
        sess["session_version"] = 1
        # A session as the login form starts it (its start and last activity, for the
        # idle and absolute lifetimes).
        sess["started_at"] = sess["seen_at"] = int(time.time())

    def http(url_: str) -> Callable[[], object]:
        def go() -> object:
            response = client.get(url_)
            assert response.status_code == 200, (url_, response.status_code)
            return response

        return go

    base = f"/decisions/{did}"
    results.append(
        (
            "option page with timeline (HTTP)",
            timed(http(f"{base}/options/{ids['option']}"), repeats),
        )
    )
    results.append(("feed page (HTTP)", timed(http(f"{base}/history"), repeats)))
    results.append(
        (
            f"as-of page #{middle:,} (HTTP)",
            timed(http(f"{base}/history/as-of?revision={middle}"), repeats),
        )
    )
    app.extensions["options_matrix.engine"].dispose()

    width = max(len(name) for name, _ in results)
    print(f"{'':{width}}  median    worst  (of {repeats})")
    for name, (median, worst) in results:
        flag = "" if median < 100 else "  <-- over 100 ms"
        print(f"{name:{width}}  {median:6.1f}  {worst:7.1f} ms{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an EMPTY database to fill (default: a temporary SQLite file)",
    )
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args.revisions, args.repeats)
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("INSTANCE_PATH", tmp)
        run(f"sqlite:///{tmp}/bench.sqlite3", args.revisions, args.repeats)


if __name__ == "__main__":
    main()
