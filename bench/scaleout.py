"""Scale-out proof: two app servers on one PostgreSQL database.

Starts two gunicorn servers (A and B, each workers × threads like ``make run``) on different
ports and one fresh PostgreSQL database, then:

1. Live updates cross servers: an analyst's page on one server saves a score while an
   observer's page on the other polls as the page does (every 2 s). The first poll the
   observer's page sends after the save was acknowledged must bring the change, with the new
   group value for that cell; the delay from acknowledgement to seeing it is at most one poll
   interval (2 s) plus the poll's own time. Repeated in both directions.
2. Losing a server: analysts and observers are spread over A and B and run the load of
   ``bench/load.py``; part-way through, A (master and workers) gets SIGKILL. Pages on A see
   their request fail and carry on against B, as behind a load balancer (the session cookie
   is valid on both). B must answer every request it gets, every page must be answered again
   after the kill, and the database check must find no acknowledged save lost or doubled
   (saves A never answered are reported apart: either outcome is allowed for them).

Run: ``.venv/bin/python bench/scaleout.py``.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Sequence

from _server import (
    Client,
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
    POLL_EVERY,
    Cell,
    Figures,
    Ledger,
    LoadRun,
    Page,
    check_database,
    figure_rows,
    initial_values,
    report_check,
    report_views,
)


def group_value(html: str, option_id: int, criterion_id: int) -> str | None:
    """The group value shown for one cell in a matrix fragment."""
    found = re.search(
        rf'id="g-{option_id}-{criterion_id}"[^>]*>\s*(?:<span class="glabel">[^<]*</span>\s*)?'
        r'<span class="gv">([^<]+)</span>',
        html,
    )
    return found.group(1) if found else None


def expected_group(values: dict[Cell, str], option_id: int, criterion_id: int) -> str:
    cell = [float(v) for (_, o, c), v in values.items() if (o, c) == (option_id, criterion_id)]
    return f"{statistics.fmean(cell):.1f}"


def page_for(
    server: Server, seeded: Seeded, username: str, ledger: Ledger, figures: Figures, seed: int
) -> Page:
    page = Page(
        Client([server.address]),
        decision_id=seeded.decision_id,
        username=username,
        analyst_id=seeded.analyst_ids.get(username),
        cells=[(o, c) for o in seeded.option_ids for c in seeded.criterion_ids],
        scale=seeded.scale,
        save_every=1e9,
        ledger=ledger,
        figures=figures,
        rng=random.Random(seed),
        server_names=[server.name],
    )
    page.client.login(username)
    page.open()
    return page


def cross_server_trials(
    a: Server, b: Server, seeded: Seeded, ledger: Ledger, trials: int, seed: int
) -> tuple[list[str], bool]:
    """Save on one server, watch the observer's page on the other; report each trial."""
    rng = random.Random(seed)
    figures = Figures()
    analyst, observer = seeded.analysts[0], seeded.observers[0]
    analyst_id = seeded.analyst_ids[analyst]
    pages = {
        (a.name, "analyst"): page_for(a, seeded, analyst, ledger, figures, seed),
        (b.name, "analyst"): page_for(b, seeded, analyst, ledger, figures, seed + 1),
        (a.name, "observer"): page_for(a, seeded, observer, ledger, figures, seed + 2),
        (b.name, "observer"): page_for(b, seeded, observer, ledger, figures, seed + 3),
    }
    values = dict(ledger.initial)
    lines, ok = [], True
    for trial in range(trials):
        source, target = (a, b) if trial % 2 == 0 else (b, a)
        saver = pages[(source.name, "analyst")]
        watcher = pages[(target.name, "observer")]
        watcher.trace = []
        cell = (seeded.option_ids[trial % len(seeded.option_ids)], seeded.criterion_ids[0])
        start = time.monotonic() + 0.05
        window = threading.Thread(target=watcher.run, args=(start, start + 2 * POLL_EVERY + 1))
        window.start()
        time.sleep(rng.uniform(0.2, POLL_EVERY + 0.2))
        value, acked = saver.save_once(cell)
        acked_at = time.monotonic()
        window.join()
        revision = saver.last_change
        values[(analyst_id, *cell)] = value
        want = expected_group(values, *cell)
        after = [t for t in watcher.trace if t[0] >= acked_at]
        if not acked or not after:
            ok = False
            lines.append(f"  trial {trial + 1}: save acknowledged {acked}, polls after it: 0")
            continue
        started, finished, _before, since, body = after[0]
        shown = group_value(body, *cell)
        passed = since >= revision and shown == want
        ok = ok and passed
        lines.append(
            f"  trial {trial + 1}: saved {value} on {source.name}, {target.name}'s page saw "
            f"change {since} (save {revision}) and group value {shown} (expected {want}) "
            f"{finished - acked_at:.2f} s after the acknowledgement, on its first poll after "
            f"it ({1000 * (finished - started):.0f} ms) -> {'OK' if passed else 'FAILED'}"
        )
    for page in pages.values():
        page.client.close()
    if figures.errors:
        ok = False
        lines.append(f"  errors: {dict(figures.errors)}")
    return lines, ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_team_arguments(
        parser,
        analysts=10,
        observers=2,
        save_every=5.0,
        duration=20.0,
        options=8,
        criteria=6,
        fill=False,
        workers=2,
    )
    parser.add_argument(
        "--kill-at", type=float, default=0.4, help="share of the load after which A is killed"
    )
    parser.add_argument("--trials", type=int, default=4, help="cross-server update trials")
    add_database_arguments(parser, default="postgresql")
    args = parser.parse_args(argv)

    with bench_instance(args) as (instance, url, env, app):
        seeded = seed_team(app, args, "Scale-out bench decision")
        ledger = Ledger(initial_values(app, seeded))
        a = Server(env, workers=args.workers, threads=args.threads, name="A", log_dir=instance)
        b = Server(env, workers=args.workers, threads=args.threads, name="B", log_dir=instance)
        try:
            a.start()
            b.start()
            trial_lines, trials_ok = cross_server_trials(
                a, b, seeded, ledger, args.trials, args.seed
            )
            run = LoadRun(
                seeded=seeded,
                servers=[a, b],
                save_every=args.save_every,
                duration=args.duration,
                ledger=ledger,
                seed=args.seed,
            )
            run.prepare()
            run.start()
            time.sleep(max(0.0, run.started - time.monotonic()) + args.duration * args.kill_at)
            killed_at = time.monotonic()
            a.kill()
            run.join()
            elapsed = time.monotonic() - run.started
            checked, stale = run.final_views()
        finally:
            a.stop()
            b.stop()
        check = check_database(app, seeded, ledger)
        dispose(app)
        database = describe_database(url)

    figures = run.figures
    on_b = {k: v for k, v in figures.errors.items() if k.endswith(" from B")}
    on_a = {k: v for k, v in figures.errors.items() if k not in on_b}
    silent = [p.username for p in run.pages if p.last_answer <= killed_at]
    load_ok = not on_b and not silent and check.ok and not stale
    print(
        f"Options Matrix scale-out: servers A and B (gunicorn {a.workers} workers × "
        f"{a.threads} threads each) on one database, {database}"
    )
    print("  " + machine_line())
    print()
    print(
        "1. A change saved through one server reaches a page served by the other "
        f"({args.trials} trials)"
    )
    for line in trial_lines:
        print(line)
    print()
    print(
        f"2. {args.analysts} analysts saving every {args.save_every:g} s + {args.observers} "
        f"observers over A and B for {args.duration:g} s; A killed (SIGKILL) after "
        f"{killed_at - run.started:.1f} s"
    )
    for row in figure_rows(figures, elapsed):
        print(row)
    print(f"  failed requests to A (expected at the kill): {sum(on_a.values())}  {on_a or ''}")
    print(f"  failed requests to B: {sum(on_b.values())}  {on_b or ''}")
    print(
        f"  pages that moved to B: {sum(1 for p in run.pages if p.client.failovers)}; "
        "pages never answered after the kill: "
        f"{len(silent)} {silent[:5] or ''}"
    )
    for line in report_check(check):
        print(line)
    for line in report_views(checked, len(run.pages), stale):
        print(line)
    print()
    print(
        f"  result: cross-server updates {'OK' if trials_ok else 'FAILED'}, "
        f"survives losing a server {'OK' if load_ok else 'FAILED'}"
    )
    print(
        "  reproduce: "
        + command_line(
            "scaleout.py",
            [
                ("--database", args.database),
                ("--database-url", args.database_url),
                ("--analysts", args.analysts),
                ("--observers", args.observers),
                ("--save-every", f"{args.save_every:g}"),
                ("--duration", f"{args.duration:g}"),
                ("--kill-at", f"{args.kill_at:g}"),
                ("--trials", args.trials),
                ("--options", args.options),
                ("--criteria", args.criteria),
                ("--workers", args.workers),
                ("--threads", args.threads),
                ("--seed", args.seed),
            ],
        )
    )
    return 0 if trials_ok and load_ok else 1


if __name__ == "__main__":
    sys.exit(main())
