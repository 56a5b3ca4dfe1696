"""Load bench: many analysts scoring and every open matrix polling, against real gunicorn.

N analysts and M observers log in through the login form and open the matrix. For a fixed
time each analyst saves a random cell every S seconds through the endpoint the page uses
(``POST /decisions/<id>/matrix/scores``, as htmx sends it), while every page polls
``/matrix/poll`` every 2 s exactly as ``templates/matrix/_poll.html`` makes htmx do: the poll
element is replaced out of band by every changed answer (and by every save's answer), so the
page follows the ``since`` and ``layout`` it is given and its 2 s timer restarts at the swap.
A page is one thread with one keep-alive connection, so its own save and poll never overlap;
pages start at random phases of their poll and save timers.

Printed: throughput and p50/p95/p99 of saves, of unchanged polls (204) and of changed polls
(200), how old the oldest new save was when a changed poll brought it to a page (the "within
~2 s" of live updates), errors, CPU of server and clients;
then the database check: for every (analyst, cell) the stored score equals the last value
the server acknowledged, and the score revisions written equal the acknowledged changes
(nothing lost, nothing doubled).

Run: ``.venv/bin/python bench/load.py`` (SQLite) or ``… --database postgresql``.
"""

from __future__ import annotations

import argparse
import bisect
import random
import re
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from _server import (
    Client,
    ClientError,
    HelpFormatter,
    Samples,
    Seeded,
    Server,
    add_database_arguments,
    add_team_arguments,
    bench_instance,
    command_line,
    describe_database,
    dispose,
    machine_line,
    ms,
    poll_url,
    seed_team,
    since_of,
)

if TYPE_CHECKING:
    from flask import Flask

POLL_EVERY = 2.0  # hx-trigger="every 2s" in templates/matrix/_poll.html

Cell = tuple[int, int, int]  # analyst id, option id, criterion id


# --------------------------------------------------------------------------------------------
# What the server acknowledged
# --------------------------------------------------------------------------------------------


@dataclass
class CellLog:
    """Every save of one analyst's cell, in order (``seq`` grows by one per attempt)."""

    initial: str | None
    seq: int = 0
    acked: list[tuple[int, str]] = field(default_factory=list)
    unanswered: list[tuple[int, str]] = field(default_factory=list)

    @property
    def current(self) -> str | None:
        """What the page shows as the analyst's value (the last one they chose)."""
        attempts = self.acked + self.unanswered
        return max(attempts)[1] if attempts else self.initial


class Ledger:
    """Acknowledged saves per (analyst, cell), and when each revision was acknowledged."""

    def __init__(self, initial: dict[Cell, str]) -> None:
        self.lock = threading.Lock()
        self.cells: dict[Cell, CellLog] = {}
        self.initial = initial
        self.revisions: list[tuple[int, float]] = []  # (since after the save, ack time)

    def cell(self, key: Cell) -> CellLog:
        with self.lock:
            if key not in self.cells:
                self.cells[key] = CellLog(initial=self.initial.get(key))
            return self.cells[key]

    def acknowledged(self, revision: int, at: float) -> None:
        with self.lock:
            bisect.insort(self.revisions, (revision, at))

    def first_ack_between(self, after: int, upto: int) -> float | None:
        """Ack time of the earliest save whose revision lies in (after, upto]."""
        with self.lock:
            i = bisect.bisect_right(self.revisions, (after, float("inf")))
            if i < len(self.revisions) and self.revisions[i][0] <= upto:
                return self.revisions[i][1]
        return None

    @property
    def acked_saves(self) -> int:
        return sum(len(c.acked) for c in self.cells.values())


@dataclass
class Figures:
    saves: Samples = field(default_factory=Samples)
    idle_polls: Samples = field(default_factory=Samples)
    changed_polls: Samples = field(default_factory=Samples)
    page_loads: Samples = field(default_factory=Samples)
    seen_after: Samples = field(default_factory=Samples)
    errors: Counter[str] = field(default_factory=Counter)
    layout_reloads: int = 0
    failovers: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] += 1


# --------------------------------------------------------------------------------------------
# One open matrix page
# --------------------------------------------------------------------------------------------


class Page:
    """A browser tab on the matrix: polls as the page does; an analyst's tab also saves."""

    def __init__(
        self,
        client: Client,
        *,
        decision_id: int,
        username: str,
        analyst_id: int | None,
        cells: Sequence[tuple[int, int]],
        scale: tuple[int, int],
        save_every: float,
        ledger: Ledger,
        figures: Figures,
        rng: random.Random,
        server_names: Sequence[str],
    ) -> None:
        self.client = client
        self.path = f"/decisions/{decision_id}/matrix"
        self.username = username
        self.analyst_id = analyst_id
        self.cells = cells
        self.values = [str(v) for v in range(scale[0], scale[1] + 1)]
        self.save_every = save_every
        self.ledger = ledger
        self.figures = figures
        self.rng = rng
        self.server_names = server_names
        self.poll = ""
        self.next_poll = 0.0
        self.last_answer = 0.0  # when a server last answered this page
        # The group values the page shows: the page's own, then every fragment swapped in
        # (polls and save answers carry only what moved).
        self.shown: dict[tuple[int, int], str] = {}
        self.last_change = 0  # the decision's change number this page's last save made
        # (started, finished, since before, since after, body) of every poll, when wanted
        self.trace: list[tuple[float, float, int, int, str]] | None = None

    @property
    def server(self) -> str:
        return self.server_names[self.client.current]

    def open(self) -> None:
        answer = self.client.open_page(self.path)
        url = poll_url(answer.body)
        if answer.status != 200 or url is None or not self.client.csrf:
            raise ClientError(f"matrix page answered {answer.status} without its poll element")
        self.figures.page_loads.add(answer.seconds)
        self.poll = url
        self.shown = group_values(answer.body)

    def _failed(self, what: str, exc: ClientError) -> None:
        self.figures.error(f"{what}: no answer from {self.server}")
        if len(self.server_names) > 1:
            self.client.fail_over()  # the load balancer sends the next request elsewhere
            with self.figures.lock:
                self.figures.failovers += 1

    def poll_once(self, now: float) -> None:
        headers = self.client.htmx_headers("matrix-poll", "matrix-poll", self.path)
        before = self.poll
        try:
            answer = self.client.get(self.poll, headers=headers)
        except ClientError as exc:
            self._failed("poll", exc)
            return
        self.last_answer = time.monotonic()
        if self.trace is not None:
            after = poll_url(answer.body) if answer.status == 200 else None
            self.trace.append(
                (now, self.last_answer, since_of(before), since_of(after or before), answer.body)
            )
        if answer.status == 204:
            self.figures.idle_polls.add(answer.seconds)
            return
        if answer.status != 200:
            self.figures.error(f"poll: HTTP {answer.status} from {self.server}")
            return
        if "matrix-layout-changed" in (answer.headers.get("HX-Trigger") or ""):
            with self.figures.lock:
                self.figures.layout_reloads += 1
            try:
                self.open()
            except ClientError as exc:
                self._failed("page reload", exc)
            self.next_poll = time.monotonic() + POLL_EVERY
            return
        url = poll_url(answer.body)
        if url is None:
            self.figures.error(f"poll: 200 without the poll element from {self.server}")
            return
        self.figures.changed_polls.add(answer.seconds)
        seen = time.monotonic()
        acked = self.ledger.first_ack_between(since_of(self.poll), since_of(url))
        if acked is not None:
            self.figures.seen_after.add(max(0.0, seen - acked))
        self.poll = url
        self.shown.update(group_values(answer.body))
        self.next_poll = seen + POLL_EVERY  # the swapped-in element starts a new timer

    def save_once(self, cell: tuple[int, int] | None = None) -> tuple[str, bool]:
        """Save a random value in ``cell`` (default: a random cell); (value, acknowledged)."""
        assert self.analyst_id is not None
        option_id, criterion_id = cell or self.rng.choice(self.cells)
        log = self.ledger.cell((self.analyst_id, option_id, criterion_id))
        value = self.rng.choice([v for v in self.values if v != log.current])
        log.seq += 1
        seq = log.seq
        target = f"st-{option_id}-{criterion_id}"
        headers = self.client.htmx_headers(target, f"score-{option_id}-{criterion_id}", self.path)
        # As the page sends it: the cell, the value and (hx-include) the change number it shows.
        form = {
            "option_id": str(option_id),
            "criterion_id": str(criterion_id),
            "value": value,
            "since": str(since_of(self.poll)),
        }
        try:
            answer = self.client.request("POST", f"{self.path}/scores", form=form, headers=headers)
        except ClientError as exc:
            if exc.sent:
                log.unanswered.append((seq, value))
            self._failed("save", exc)
            return value, False
        self.last_answer = time.monotonic()
        if answer.status != 200:
            # Every answer of 400 or more rolls the request's transaction back.
            self.figures.error(f"save: HTTP {answer.status} from {self.server}")
            return value, False
        log.acked.append((seq, value))
        self.figures.saves.add(answer.seconds)
        # The answer brings the page from its ``since`` to the state right after the save
        # (what moved, with this cell's group value, total and ranks) and moves its poll on.
        self.shown.update(group_values(answer.body))
        url = poll_url(answer.body)
        if url is not None:
            self.poll = url
            self.next_poll = time.monotonic() + POLL_EVERY
        else:
            self.figures.error(f"save: 200 without the poll element from {self.server}")
        number = answer.headers.get("X-Change-Number")
        if number is not None:
            self.last_change = int(number)
            self.ledger.acknowledged(self.last_change, time.monotonic())
        else:
            self.figures.error(f"save: 200 without its change number from {self.server}")
        return value, True

    def stale_cells(self) -> list[str] | None:
        """After the load: one more poll, then the group values this page shows that differ
        from a freshly loaded page (None when the server did not answer)."""
        self.figures = Figures()  # this last look is not part of the measured load
        try:
            self.poll_once(time.monotonic())
            fresh = self.client.get(self.path)
        except ClientError:
            return None
        if fresh.status != 200:
            return None
        now, want = self.shown, group_values(fresh.body)
        if not want:
            return [f"{self.username}: the fresh page shows no group values to compare"]
        return [
            f"{self.username} shows {now.get(cell)!r} for cell {cell}, fresh page {value!r}"
            for cell, value in want.items()
            if now.get(cell) != value
        ]

    def run(self, start: float, stop: float) -> None:
        self.next_poll = start + self.rng.uniform(0, POLL_EVERY)
        analyst = self.analyst_id is not None
        next_save = start + self.rng.uniform(0, self.save_every) if analyst else float("inf")
        while True:
            due = min(self.next_poll, next_save)
            if due >= stop:
                break
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            now = time.monotonic()
            if next_save <= self.next_poll:
                self.save_once()
                next_save += self.save_every
                while next_save < time.monotonic():
                    next_save += self.save_every
            else:
                scheduled = self.next_poll
                self.poll_once(now)
                if self.next_poll == scheduled:  # nothing swapped: the same timer ticks on
                    self.next_poll = scheduled + POLL_EVERY
                    while self.next_poll < time.monotonic():  # htmx drops a busy element's tick
                        self.next_poll += POLL_EVERY
        self.client.close()


# --------------------------------------------------------------------------------------------
# Running a load
# --------------------------------------------------------------------------------------------


GROUP = re.compile(r'<div id="g-(\d+)-(\d+)"[^>]*>(.*?)</div>', re.S)


def group_values(html: str) -> dict[tuple[int, int], str]:
    """Each cell's group block (value, spread, flags) as text, from a page or a fragment."""
    return {
        (int(o), int(c)): " ".join(re.sub(r"<[^>]+>", " ", inner).split())
        for o, c, inner in GROUP.findall(html)
    }


def initial_values(app: Flask, seeded: Seeded) -> dict[Cell, str]:
    from sqlmodel import col, select

    from app.db.models import Round, Score
    from app.db.uow import unit_of_work

    with app.app_context(), unit_of_work(write=False) as session:
        round_id = session.exec(
            select(Round.id).where(
                col(Round.decision_id) == seeded.decision_id, col(Round.number) == 1
            )
        ).one()
        rows = session.exec(select(Score).where(col(Score.round_id) == round_id)).all()
        return {
            (s.analyst_id, s.option_id, s.criterion_id): f"{s.value:g}"
            for s in rows
            if s.value is not None
        }


@dataclass
class LoadRun:
    """Logs every page in, then runs them all for ``duration`` seconds in threads."""

    seeded: Seeded
    servers: Sequence[Server]
    save_every: float
    duration: float
    ledger: Ledger
    figures: Figures = field(default_factory=Figures)
    seed: int = 1
    pages: list[Page] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)
    login_seconds: float = 0.0
    started: float = 0.0

    def prepare(self, *, login_threads: int = 8) -> None:
        rng = random.Random(self.seed)
        cells = [(o, c) for o in self.seeded.option_ids for c in self.seeded.criterion_ids]
        names = [s.name for s in self.servers]
        people: list[tuple[str, int | None]] = [
            (u, self.seeded.analyst_ids[u]) for u in self.seeded.analysts
        ]
        people += [(u, None) for u in self.seeded.observers]
        for i, (username, analyst_id) in enumerate(people):
            order = [(i + k) % len(self.servers) for k in range(len(self.servers))]
            client = Client([self.servers[k].address for k in order])
            page = Page(
                client,
                decision_id=self.seeded.decision_id,
                username=username,
                analyst_id=analyst_id,
                cells=cells,
                scale=self.seeded.scale,
                save_every=self.save_every,
                ledger=self.ledger,
                figures=self.figures,
                rng=random.Random(rng.random()),
                server_names=[names[k] for k in order],
            )
            self.pages.append(page)
        t0 = time.monotonic()
        failures: list[str] = []

        def log_in(chunk: Sequence[Page]) -> None:
            for page in chunk:
                try:
                    page.client.login(page.username)
                    page.open()
                except ClientError as exc:
                    failures.append(f"{page.username}: {exc}")

        workers = [
            threading.Thread(target=log_in, args=(self.pages[k::login_threads],))
            for k in range(login_threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.login_seconds = time.monotonic() - t0
        if failures:
            raise SystemExit("Logging in failed: " + "; ".join(failures[:5]))

    def start(self) -> None:
        self.started = time.monotonic() + 0.2
        stop = self.started + self.duration
        for page in self.pages:
            thread = threading.Thread(target=page.run, args=(self.started, stop), daemon=True)
            self.threads.append(thread)
            thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def final_views(self) -> tuple[int, list[str]]:
        """Every page, once the load is over: does it show what a fresh page shows?"""
        checked, stale = 0, []
        for page in self.pages:
            cells = page.stale_cells()
            page.client.close()
            if cells is not None:
                checked += 1
                stale += cells[:2]
        return checked, stale


@dataclass
class Check:
    cells: int = 0
    acked: int = 0
    lost: int = 0
    missing_revisions: int = 0
    doubled: int = 0
    unanswered: int = 0
    applied_unanswered: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == self.missing_revisions == self.doubled == 0


def check_database(app: Flask, seeded: Seeded, ledger: Ledger) -> Check:
    """Stored score = last acknowledged value; score revisions = acknowledged changes."""
    from sqlalchemy import func
    from sqlmodel import col, select

    from app.db.models import Revision, Round, Score
    from app.db.uow import unit_of_work

    with app.app_context(), unit_of_work(write=False) as session:
        round_id = session.exec(
            select(Round.id).where(
                col(Round.decision_id) == seeded.decision_id, col(Round.number) == 1
            )
        ).one()
        stored = {
            (s.analyst_id, s.option_id, s.criterion_id): (
                None if s.value is None else f"{s.value:g}"
            )
            for s in session.exec(select(Score).where(col(Score.round_id) == round_id)).all()
        }
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
    result = Check()
    seen_entities: set[str] = set()
    for (analyst_id, option_id, criterion_id), log in ledger.cells.items():
        entity = f"1:{option_id}:{criterion_id}:{analyst_id}"
        seen_entities.add(entity)
        result.cells += 1
        result.acked += len(log.acked)
        result.unanswered += len(log.unanswered)
        last = max(log.acked)[0] if log.acked else 0
        expected = max(log.acked)[1] if log.acked else log.initial
        maybe = {v for s, v in log.unanswered if s > last}
        value = stored.get((analyst_id, option_id, criterion_id))
        revisions = counts.get(entity, 0)
        where = f"analyst {analyst_id}, option {option_id}, criterion {criterion_id}"
        if value != expected:
            if value in maybe:
                result.applied_unanswered += 1
            else:
                result.lost += 1
                result.examples.append(f"{where}: stored {value}, last acknowledged {expected}")
        if revisions < len(log.acked):
            result.missing_revisions += 1
            result.examples.append(f"{where}: {revisions} revisions, {len(log.acked)} saves")
        elif revisions > len(log.acked) + len(log.unanswered):
            result.doubled += 1
            result.examples.append(f"{where}: {revisions} revisions, {len(log.acked)} saves")
    for entity, revisions in counts.items():
        if entity not in seen_entities:
            result.doubled += 1
            result.examples.append(f"score {entity}: {revisions} revisions, never saved")
    return result


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def figure_rows(figures: Figures, duration: float) -> list[str]:
    head = f"  {'':34s}{'count':>7s}{'per s':>8s}{'p50':>8s}{'p95':>8s}{'p99':>8s}{'max':>8s}"
    rows = [head + "   (ms)"]
    for label, samples in (
        ("save a score (200)", figures.saves),
        ("poll, nothing changed (204)", figures.idle_polls),
        ("poll, changed (200)", figures.changed_polls),
        ("open the matrix page (before)", figures.page_loads),
    ):
        rate = len(samples) / duration if "before" not in label else float("nan")
        rows.append(
            f"  {label:34.34s}{len(samples):7d}{'' if rate != rate else f'{rate:8.1f}':>8s}"
            f"{ms(samples.quantile(0.5)):>8s}{ms(samples.quantile(0.95)):>8s}"
            f"{ms(samples.quantile(0.99)):>8s}{ms(samples.quantile(1.0)):>8s}"
        )
    seen = figures.seen_after
    rows.append(
        f"  {'change seen by a poll, its age':34s}{len(seen):7d}{'':>8s}"
        f"{ms(seen.quantile(0.5)):>8s}{ms(seen.quantile(0.95)):>8s}"
        f"{ms(seen.quantile(0.99)):>8s}{ms(seen.quantile(1.0)):>8s}"
        "   (per changed poll: the oldest save it brought, from that save's answer)"
    )
    return rows


def report_check(check: Check) -> list[str]:
    lines = [
        f"  database check: {check.cells} (analyst, cell) pairs saved, {check.acked} saves "
        f"acknowledged, {check.unanswered} sent without an answer",
        f"    lost {check.lost}   doubled {check.doubled}   acknowledged but no revision "
        f"{check.missing_revisions}   unanswered yet applied {check.applied_unanswered}"
        f"   -> {'OK' if check.ok else 'FAILED'}",
    ]
    lines += [f"    {e}" for e in check.examples[:10]]
    return lines


def report_views(checked: int, pages: int, stale: list[str]) -> list[str]:
    lines = [
        f"  pages after the load: {checked} of {pages} compared with a fresh page, "
        f"{len(stale)} stale group values -> {'OK' if not stale else 'FAILED'}"
    ]
    return lines + [f"    {s}" for s in stale[:10]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_team_arguments(
        parser, analysts=10, observers=2, save_every=5.0, duration=30.0, options=10, criteria=8
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)

    with bench_instance(args) as (instance, url, env, app):
        seeded = seed_team(app, args, "Load bench decision")
        ledger = Ledger(initial_values(app, seeded))
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
            cpu_server = server.cpu_seconds()
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_client = usage.ru_utime + usage.ru_stime
            run.start()
            run.join()
            elapsed = time.monotonic() - run.started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            cpu_client = usage.ru_utime + usage.ru_stime - cpu_client
            cpu_server = server.cpu_seconds() - cpu_server
            checked, stale = run.final_views()
        finally:
            server.stop()
        check = check_database(app, seeded, ledger)
        dispose(app)
        database = describe_database(url)

    figures = run.figures
    errors = sum(figures.errors.values())
    print(
        f"Options Matrix load: {args.analysts} analysts saving every {args.save_every:g} s + "
        f"{args.observers} observers, every page polling every {POLL_EVERY:g} s, "
        f"for {args.duration:g} s"
    )
    print(
        f"  server: gunicorn {server.workers} workers × {server.threads} threads, {database}; "
        f"decision {args.options} options × {args.criteria} criteria, {seeded.scores} scores "
        f"beforehand"
    )
    print("  " + machine_line())
    print(
        f"  logging in and opening {len(run.pages)} pages took {run.login_seconds:.1f} s "
        "(cheap password hashing for bench users)"
    )
    print()
    for row in figure_rows(figures, elapsed):
        print(row)
    print()
    offered = args.analysts / args.save_every
    print(
        f"  saves offered {offered:.1f}/s, answered {len(figures.saves) / elapsed:.1f}/s "
        "(a page waits for each answer, so a server that falls behind is offered less)"
    )
    print(f"  errors: {errors}" + "".join(f"   {k}: {v}" for k, v in figures.errors.items()))
    print(f"  layout reloads: {figures.layout_reloads}")
    print(
        f"  CPU over {elapsed:.1f} s: server {cpu_server:.1f} s ({cpu_server / elapsed:.2f} cores), "
        f"simulated browsers {cpu_client:.1f} s ({cpu_client / elapsed:.2f} cores)"
    )
    for line in report_check(check):
        print(line)
    for line in report_views(checked, len(run.pages), stale):
        print(line)
    print()
    print(
        "  reproduce: "
        + command_line(
            "load.py",
            [
                ("--database", args.database),
                ("--database-url", args.database_url),
                ("--analysts", args.analysts),
                ("--observers", args.observers),
                ("--save-every", f"{args.save_every:g}"),
                ("--duration", f"{args.duration:g}"),
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
    return 0 if check.ok and errors == 0 and not stale else 1


if __name__ == "__main__":
    sys.exit(main())
