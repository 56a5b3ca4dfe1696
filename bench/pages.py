"""Page bench: server time of the heavy pages for decisions of growing size.

For the demo decision, a medium one (30 options × 12 criteria × 10 analysts) and a large one
(60 × 20 × 30), every matrix fully scored, it measures the matrix page, the matrix JSON, the
overview, an option's timeline and the matrix "as of" the decision's last revision, each beside
the health route (/healthz) requested in the same rounds. The figure that holds across
machines is the ratio to the health route.

Server time is gunicorn's own request time (``%(D)s`` in its access log); the time the
client waited is shown beside it. The health route is asked with the session cookie too, so
it carries the per-request cost every page pays (loading the logged-in user). Requests go one at a time over one keep-alive connection,
logged in as one of the decision's analysts (``--as``), routes interleaved round by round.

Run: ``.venv/bin/python bench/pages.py`` (SQLite) or ``… --database postgresql``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from _server import (
    Client,
    HelpFormatter,
    Samples,
    Seeded,
    Server,
    add_database_arguments,
    bench_instance,
    command_line,
    describe_database,
    dispose,
    machine_line,
    ms,
    seed_decision,
    seed_demo,
)

if TYPE_CHECKING:
    from flask import Flask

SIZES = {"medium": (30, 12, 10), "large": (60, 20, 30)}
SIZE_SPEC = re.compile(r"^(\d+)x(\d+)x(\d+)$")


@dataclass
class Route:
    label: str
    path: str
    server: Samples = field(default_factory=Samples)
    client: Samples = field(default_factory=Samples)


@dataclass
class Measured:
    name: str
    seeded: Seeded
    shape: str
    revisions: int
    routes: list[Route]


def parse_sizes(text: str) -> list[tuple[str, tuple[int, int, int] | None]]:
    """``demo``, ``medium``, ``large`` or ``OxCxA`` (options × criteria × analysts)."""
    sizes: list[tuple[str, tuple[int, int, int] | None]] = []
    for name in (part.strip() for part in text.split(",") if part.strip()):
        if name == "demo":
            sizes.append((name, None))
        elif name in SIZES:
            sizes.append((name, SIZES[name]))
        elif found := SIZE_SPEC.match(name):
            o, c, a = (int(g) for g in found.groups())
            sizes.append((name, (o, c, a)))
        else:
            raise SystemExit(f"Unknown size {name!r}: use demo, medium, large or OxCxA.")
    return sizes


def revision_count(app: Flask, decision_id: int) -> tuple[int, int]:
    """(how many revisions the decision has, the id of its last one)."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from app.db.models import Revision
    from app.db.uow import unit_of_work

    with app.app_context(), unit_of_work(write=False) as session:
        count, last = session.exec(
            select(func.count(), func.max(col(Revision.id))).where(
                col(Revision.decision_id) == decision_id
            )
        ).one()
    return int(count), int(last or 0)


def routes_for(seeded: Seeded, last_revision: int) -> list[Route]:
    d = seeded.decision_id
    return [
        Route("health (/healthz)", "/healthz"),
        Route("matrix page", f"/decisions/{d}/matrix"),
        Route("matrix JSON (/api)", f"/api/decisions/{d}/matrix"),
        # Robustness figures: computed once per process and settings, then cached (the
        # warm-up requests compute them).
        Route("analysis JSON, cached (/api)", f"/api/decisions/{d}/analysis"),
        Route("overview", f"/decisions/{d}"),
        # The option's page, where its timeline shows (/history/options/<id> redirects there).
        Route("option page with timeline", f"/decisions/{d}/options/{seeded.option_ids[0]}"),
        Route("as of the last revision", f"/decisions/{d}/history/as-of?revision={last_revision}"),
    ]


def read_access_log(path: Path, offset: int) -> list[tuple[str, int, float]]:
    """(path, status, seconds) of every request logged after ``offset`` bytes."""
    rows = []
    with path.open("rb") as handle:
        handle.seek(offset)
        for line in handle.read().decode().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3].isdigit():
                rows.append((parts[1], int(parts[2]), int(parts[3]) / 1e6))
    return rows


def measure(
    server: Server, seeded: Seeded, routes: list[Route], *, role: str, repeats: int, warmup: int
) -> None:
    """Round after round, every route once; then gunicorn's times from its access log."""
    assert server.access_path is not None
    username = {
        "analyst": seeded.analysts[0],
        "facilitator": seeded.facilitator,
        "observer": seeded.observers[0] if seeded.observers else seeded.analysts[0],
    }[role]
    client = Client([server.address], timeout=300)
    client.login(username)
    for route in routes:  # warm every route (and check it answers) before measuring
        for _ in range(warmup):
            answer = client.get(route.path)
            if answer.status != 200:
                raise SystemExit(f"{route.path} answered {answer.status}")
    time.sleep(0.2)
    offset = server.access_path.stat().st_size
    order: list[Route] = []
    for _ in range(repeats):
        for route in routes:
            answer = client.get(route.path)
            if answer.status != 200:
                raise SystemExit(f"{route.path} answered {answer.status}")
            route.client.add(answer.seconds)
            order.append(route)
    client.close()
    time.sleep(0.5)  # the access log is written after the answer is sent
    logged = read_access_log(server.access_path, offset)
    if len(logged) != len(order):
        print(f"  (access log has {len(logged)} lines for {len(order)} requests: client times)")
        for route in order:
            route.server = route.client
        return
    for route, (path, _status, seconds) in zip(order, logged, strict=True):
        if not route.path.startswith(path):
            raise SystemExit(f"access log out of order: {path} for {route.path}")
        route.server.add(seconds)


def table(measured: Measured) -> list[str]:
    health = measured.routes[0].server.median()
    lines = [
        f"{measured.name}: {measured.shape}, {measured.seeded.scores} scores, "
        f"{measured.revisions} revisions",
        f"  {'':26s}{'server p50':>11s}{'p95':>8s}{'× health':>10s}{'client p50':>12s}{'p95':>8s}"
        "   (ms)",
    ]
    for route in measured.routes:
        ratio = route.server.median() / health if health else float("nan")
        lines.append(
            f"  {route.label:26s}{ms(route.server.median()):>11s}"
            f"{ms(route.server.quantile(0.95)):>8s}{ratio:>10.1f}"
            f"{ms(route.client.median()):>12s}{ms(route.client.quantile(0.95)):>8s}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--sizes",
        default="demo,medium,large",
        help="comma-separated: demo, medium (30×12×10), large (60×20×30) or OxCxA "
        "(options x criteria x analysts)",
    )
    parser.add_argument("--repeats", type=int, default=15, help="measured rounds per decision")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured requests per route")
    parser.add_argument(
        "--as",
        dest="role",
        choices=("analyst", "facilitator", "observer"),
        default="analyst",
        help="whose view is measured",
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="gunicorn worker processes (make serve's)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per gunicorn worker (make serve's)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of the seeded scores")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes)

    results: list[Measured] = []
    with bench_instance(args) as (instance, url, env, app):
        seeding = time.monotonic()
        plan: list[tuple[str, Seeded, str]] = []
        for name, size in sizes:
            if size is None:
                seeded = seed_demo(app)
                shape = (
                    f"{len(seeded.option_ids)} options × {len(seeded.criterion_ids)} criteria × "
                    f"{len(seeded.analysts)} analysts"
                )
            else:
                o, c, a = size
                seeded = seed_decision(
                    app,
                    title=f"Page bench decision ({name})",
                    options=o,
                    criteria=c,
                    analysts=a,
                    observers=2,
                    seed=args.seed,
                )
                shape = f"{o} options × {c} criteria × {a} analysts"
            plan.append((name, seeded, shape))
        seeding = time.monotonic() - seeding
        server = Server(
            env, workers=args.workers, threads=args.threads, log_dir=instance, access_log=True
        )
        workers, threads = server.workers, server.threads
        try:
            server.start()
            for name, seeded, shape in plan:
                count, last = revision_count(app, seeded.decision_id)
                routes = routes_for(seeded, last)
                measure(
                    server,
                    seeded,
                    routes,
                    role=args.role,
                    repeats=args.repeats,
                    warmup=args.warmup,
                )
                results.append(Measured(name, seeded, shape, count, routes))
        finally:
            server.stop()
        dispose(app)
        database = describe_database(url)

    print(
        f"Options Matrix page times ({args.repeats} rounds, seen by an {args.role}; "
        f"gunicorn {workers} workers × {threads} threads, {database})"
    )
    print("  " + machine_line())
    print(f"  seeding took {seeding:.1f} s; one request at a time, routes interleaved per round")
    for measured in results:
        print()
        for line in table(measured):
            print(line)
    print()
    print(
        "  reproduce: "
        + command_line(
            "pages.py",
            [
                ("--database", args.database),
                ("--database-url", args.database_url),
                ("--sizes", args.sizes),
                ("--repeats", args.repeats),
                ("--warmup", args.warmup),
                ("--as", args.role),
                ("--workers", args.workers),
                ("--threads", args.threads),
                ("--seed", args.seed),
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
