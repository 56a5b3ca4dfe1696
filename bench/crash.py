"""Crash bench: the server dies with SIGKILL in the middle of a team's load, and nothing
acknowledged is lost.

The team of ``bench/load.py`` (by default 30 analysts saving a random cell every 2 s and 5
observers, every page polling every 2 s) works on one gunicorn server. Part-way through, the
whole server — master and every worker, one process group — gets SIGKILL, with saves in flight.
It is started again on the same database and port at once, and the pages carry on against it
(their login cookies stay valid) until the load ends. Then, on a fresh connection:

- SQLite: ``PRAGMA integrity_check`` answers ``ok`` and ``PRAGMA foreign_key_check`` finds
  nothing;
- PostgreSQL: no constraint is left unvalidated (``pg_constraint.convalidated``), no index
  invalid (``pg_index.indisvalid``), and the B-tree indexes pass ``amcheck`` when the
  extension is available;
- both: every foreign key of the schema is checked again by a query joining it to the row
  it names (none may point at nothing);
- the database check of ``bench/load.py``: every (analyst, cell) holds the last value the
  server acknowledged, and the score revisions equal the acknowledged saves (nothing lost,
  nothing doubled; saves the killed server never answered may have landed or not).

Requests refused while the server was down are counted apart (a browser sees them fail);
after the restart every page must be answered again.

Run: ``.venv/bin/python bench/crash.py`` (SQLite) or ``… --database postgresql``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from _server import (
    HelpFormatter,
    Seeded,
    Server,
    add_database_arguments,
    add_team_arguments,
    bench_instance,
    command_line,
    describe_database,
    dispose,
    machine_line,
    seed_team,
)
from load import (
    Ledger,
    LoadRun,
    check_database,
    figure_rows,
    initial_values,
    report_views,
)

if TYPE_CHECKING:
    from flask import Flask


def integrity(url: str) -> list[tuple[str, str]]:
    """(check, problem or "ok") for every check of the database's own consistency."""
    from sqlalchemy import create_engine, text
    from sqlmodel import SQLModel

    import app.db.models  # noqa: F401  (the tables the foreign-key checks walk)

    engine = create_engine(url)
    results: list[tuple[str, str]] = []
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                answer = [str(row[0]) for row in conn.execute(text("PRAGMA integrity_check"))]
                results.append(("PRAGMA integrity_check", "; ".join(answer)))
                broken = conn.execute(text("PRAGMA foreign_key_check")).all()
                results.append(
                    ("PRAGMA foreign_key_check", f"{len(broken)} rows" if broken else "ok")
                )
            else:
                unvalidated = conn.scalars(
                    text(
                        "SELECT conname FROM pg_constraint c JOIN pg_namespace n "
                        "ON n.oid = c.connamespace WHERE n.nspname = 'public' "
                        "AND NOT c.convalidated"
                    )
                ).all()
                results.append(
                    ("constraints validated", ", ".join(unvalidated) if unvalidated else "ok")
                )
                invalid = conn.scalars(
                    text(
                        "SELECT i.indexrelid::regclass::text FROM pg_index i "
                        "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                        "AND NOT (i.indisvalid AND i.indisready)"
                    )
                ).all()
                results.append(("indexes valid", ", ".join(invalid) if invalid else "ok"))
                results.append(("amcheck (B-tree indexes)", _amcheck(conn)))
            for table in SQLModel.metadata.sorted_tables:
                for fk in table.foreign_keys:
                    parent = fk.column
                    orphans = conn.scalar(
                        text(
                            f'SELECT count(*) FROM "{table.name}" c '
                            f'WHERE c."{fk.parent.name}" IS NOT NULL AND NOT EXISTS '
                            f'(SELECT 1 FROM "{parent.table.name}" p '
                            f'WHERE p."{parent.name}" = c."{fk.parent.name}")'
                        )
                    )
                    results.append(
                        (
                            f"foreign key {table.name}.{fk.parent.name} -> "
                            f"{parent.table.name}.{parent.name}",
                            "ok" if not orphans else f"{orphans} rows point at nothing",
                        )
                    )
    finally:
        engine.dispose()
    return results


def _amcheck(conn: object) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import Connection
    from sqlalchemy.exc import DBAPIError

    assert isinstance(conn, Connection)
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    except DBAPIError:
        return "ok (amcheck not installed on this server: skipped)"
    names = conn.scalars(
        text(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND a.amname = 'btree'"
        )
    ).all()
    for name in names:
        conn.execute(text("SELECT bt_index_check(CAST(:name AS regclass), true)"), {"name": name})
    return f"ok ({len(names)} indexes, heap included)"


def unchanged_saves(app: Flask, seeded: Seeded, ledger: Ledger) -> tuple[int, list[str]]:
    """Acknowledged saves that may rightly have recorded no revision, and the cells whose
    missing revisions nothing explains.

    A save cut off by the kill that never committed leaves the cell at its earlier value; if
    the analyst's next save picks that value again, the server answers it as unchanged (no
    revision, no change number). So a save counts as possibly unchanged when its value is one
    the cell may have held just before it (given the unanswered saves before it).
    """
    from sqlalchemy import func
    from sqlmodel import col, select

    from app.db.models import Revision
    from app.db.uow import unit_of_work

    with app.app_context(), unit_of_work(write=False) as session:
        counts = dict(
            session.exec(
                select(col(Revision.entity_id), func.count())
                .where(
                    col(Revision.decision_id) == seeded.decision_id,
                    col(Revision.entity) == "score",
                    col(Revision.id) > seeded.baseline_revision,
                )
                .group_by(col(Revision.entity_id))
            ).all()
        )
    possible_total, unexplained = 0, []
    for (analyst_id, option_id, criterion_id), log in ledger.cells.items():
        saves = sorted(
            [(s, v, True) for s, v in log.acked] + [(s, v, False) for s, v in log.unanswered]
        )
        held, possible = {log.initial}, 0
        for _, value, acked in saves:
            if acked:
                possible += value in held
                held = {value}
            else:
                held.add(value)
        revisions = counts.get(f"1:{option_id}:{criterion_id}:{analyst_id}", 0)
        possible_total += possible
        if revisions < len(log.acked) - possible:
            unexplained.append(
                f"analyst {analyst_id}, option {option_id}, criterion {criterion_id}: "
                f"{revisions} revisions for {len(log.acked)} acknowledged saves"
            )
    return possible_total, unexplained


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_team_arguments(
        parser, analysts=30, observers=5, save_every=2.0, duration=40.0, options=10, criteria=8
    )
    parser.add_argument(
        "--kill-at", type=float, default=0.5, help="share of the load after which it is killed"
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)

    with bench_instance(args) as (instance, url, env, app):
        seeded = seed_team(app, args, "Crash bench decision")
        ledger = Ledger(initial_values(app, seeded))
        dispose(app)  # the checks below open connections of their own, after the crash
        server = Server(env, workers=args.workers, threads=args.threads, log_dir=instance)
        try:
            server.start()
            run = LoadRun(
                seeded=seeded,
                servers=[server],
                save_every=args.save_every,
                duration=args.duration,
                ledger=ledger,
                seed=args.seed,
            )
            run.prepare()
            run.start()
            time.sleep(max(0.0, run.started - time.monotonic()) + args.duration * args.kill_at)
            acked_before = ledger.acked_saves
            killed_at = time.monotonic()
            server.kill()
            down_at = time.monotonic()
            server.start()
            back_at = time.monotonic()
            run.join()
            elapsed = time.monotonic() - run.started
            checked, stale = run.final_views()
        finally:
            server.stop()
        checks = integrity(url)
        check = check_database(app, seeded, ledger)
        possibly_unchanged, unexplained = unchanged_saves(app, seeded, ledger)
        dispose(app)
        database = describe_database(url)

    figures = run.figures
    errors = sum(figures.errors.values())
    silent = [p.username for p in run.pages if p.last_answer <= back_at]
    integrity_ok = all(result.startswith("ok") for _, result in checks)
    unchanged = figures.errors.pop("save: 200 without its change number from server", 0)
    errors -= unchanged
    saves_ok = check.lost == check.doubled == 0 and not unexplained
    ok = integrity_ok and saves_ok and not silent and not stale
    print(
        f"Options Matrix crash: {args.analysts} analysts saving every {args.save_every:g} s + "
        f"{args.observers} observers for {args.duration:g} s; the server killed with SIGKILL "
        f"after {killed_at - run.started:.1f} s and started again on the same database"
    )
    print(
        f"  server: gunicorn {server.workers} workers × {server.threads} threads, {database}; "
        f"decision {args.options} options × {args.criteria} criteria, {seeded.scores} scores "
        "beforehand"
    )
    print("  " + machine_line())
    print(
        f"  saves acknowledged before the kill: {acked_before}; the kill took "
        f"{1000 * (down_at - killed_at):.0f} ms, the restart answered /healthz after "
        f"{back_at - down_at:.1f} s; {run.duration - (back_at - run.started):.1f} s of load "
        "followed"
    )
    print()
    for row in figure_rows(figures, elapsed):
        print(row)
    print(
        f"  failed requests (the in-flight ones at the kill and those refused while it was "
        f"down): {errors}" + "".join(f"   {k}: {v}" for k, v in figures.errors.items())
    )
    print(f"  pages never answered after the restart: {len(silent)} {silent[:5] or ''}")
    print()
    print("  integrity after the crash:")
    keys = [(name, result) for name, result in checks if name.startswith("foreign key")]
    for name, result in checks:
        if not name.startswith("foreign key") or not result.startswith("ok"):
            print(f"    {name}: {result}")
    broken = sum(1 for _, result in keys if not result.startswith("ok"))
    print(f"    every foreign key joined to its row ({len(keys)} keys): {broken} broken")
    print(f"    -> {'OK' if integrity_ok else 'FAILED'}")
    print(
        f"  database check: {check.cells} (analyst, cell) pairs saved, {check.acked} saves "
        f"acknowledged, {check.unanswered} sent without an answer (cut off by the kill)"
    )
    print(
        f"    lost {check.lost}   doubled {check.doubled}   unanswered yet applied "
        f"{check.applied_unanswered}   acknowledged without a revision "
        f"{check.missing_revisions}, of which unexplained {len(unexplained)} "
        f"-> {'OK' if saves_ok else 'FAILED'}"
    )
    print(
        f'    (the server answered {unchanged} saves "unchanged", with no revision: after a '
        "save cut off by the kill never committed, the analyst's next save chose the value "
        f"the cell still held; {possibly_unchanged} saves could have been such)"
    )
    for line in (
        unexplained[:10] + [e for e in check.examples if "stored" in e or check.doubled][:10]
    ):
        print(f"    {line}")
    for line in report_views(checked, len(run.pages), stale):
        print(line)
    print()
    print(f"  result: {'OK' if ok else 'FAILED'}")
    print(
        "  reproduce: "
        + command_line(
            "crash.py",
            [
                ("--database", args.database),
                ("--database-url", args.database_url),
                ("--analysts", args.analysts),
                ("--observers", args.observers),
                ("--save-every", f"{args.save_every:g}"),
                ("--duration", f"{args.duration:g}"),
                ("--kill-at", f"{args.kill_at:g}"),
                ("--options", args.options),
                ("--criteria", args.criteria),
                ("--fill", f"{args.fill:g}"),
                ("--workers", args.workers),
                ("--threads", args.threads),
                ("--seed", args.seed),
            ],
        )
    )
    sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
