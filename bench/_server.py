"""Shared pieces of the load, page and scale-out benches.

A bench creates its own instance directory and database (a SQLite file, or a fresh PostgreSQL
database ``om_bench_<random>`` that it drops at the end), migrates it with ``flask init-db``,
seeds users and a decision through the app's own services, starts gunicorn like ``make run``
(workers × threads) and talks to it over plain HTTP as a browser would: one keep-alive
connection per open page, the real login form, the CSRF token the page carries.

Only the standard library and the project's own dependencies are used.
"""

from __future__ import annotations

import argparse
import http.client
import math
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"

# Cheap argon2id for bench users, read by app/adapters/passwords.py in the seeding process and
# in the server alike (so no login re-hashes). Logging in is not what these benches measure.
FAST_PASSWORD_HASH = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "1024"}


# --------------------------------------------------------------------------------------------
# Database, environment, migration
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The script's docstring as written, and every option's default."""


def add_database_arguments(parser: Any, *, default: str = "sqlite") -> None:
    """``--database``, ``--postgres-url`` and ``--database-url`` (shared by every bench)."""
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default=default,
        help="backend of the fresh bench database",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="PostgreSQL server on which the fresh database om_bench_<random> is created and "
        "dropped",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="use this existing database instead of a fresh one (it is migrated, seeded with "
        "uniquely named users and a new decision, and never dropped)",
    )


def add_team_arguments(
    parser: Any,
    *,
    analysts: int,
    observers: int,
    save_every: float,
    duration: float,
    options: int,
    criteria: int,
    fill: bool = True,
    workers: int | None = None,
) -> None:
    """The options of a team-load bench (load, crash, scale-out): the room, its decision, the
    servers, the seed and the database."""
    parser.add_argument("--analysts", type=int, default=analysts, help="analysts saving (N)")
    parser.add_argument("--observers", type=int, default=observers, help="observers polling (M)")
    parser.add_argument(
        "--save-every", type=float, default=save_every, help="seconds between one analyst's saves"
    )
    parser.add_argument("--duration", type=float, default=duration, help="seconds of load")
    parser.add_argument("--options", type=int, default=options, help="options in the decision")
    parser.add_argument("--criteria", type=int, default=criteria, help="criteria in the decision")
    if fill:
        parser.add_argument(
            "--fill", type=float, default=0.8, help="share of cells each analyst scored beforehand"
        )
    parser.add_argument(
        "--workers", type=int, default=workers, help="gunicorn worker processes (make serve's)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="threads per gunicorn worker (make serve's)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed of data and clients")


def seed_team(app: Flask, args: Any, title: str) -> Seeded:
    """The decision of a team-load bench, as its options (``add_team_arguments``) describe."""
    return seed_decision(
        app,
        title=title,
        options=args.options,
        criteria=args.criteria,
        analysts=args.analysts,
        observers=args.observers,
        fill=getattr(args, "fill", 1.0),
        seed=args.seed,
    )


@contextmanager
def bench_database(backend: str, *, postgres_url: str, database_url: str | None) -> Iterator[str]:
    """The database URL to use: a fresh one (dropped afterwards) unless ``database_url``."""
    if database_url:
        yield database_url
        return
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="om_bench_") as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    from sqlalchemy import create_engine, text

    name = f"om_bench_{secrets.token_hex(4)}"
    admin = create_engine(postgres_url.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_url.rstrip("/") + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class BenchInstance(NamedTuple):
    """A bench run's instance folder, database URL, server environment and open app."""

    path: Path
    url: str
    env: dict[str, str]
    app: Flask


@contextmanager
def bench_instance(args: Any) -> Iterator[BenchInstance]:
    """A temporary instance folder and the database the options name, migrated, with the
    app open for seeding; both are removed when the block ends."""
    with (
        tempfile.TemporaryDirectory(prefix="om_bench_") as tmp,
        bench_database(
            args.database, postgres_url=args.postgres_url, database_url=args.database_url
        ) as url,
    ):
        instance = Path(tmp)
        env = server_env(instance, url)
        migrate(env)
        yield BenchInstance(instance, url, env, open_app(env))


def describe_database(url: str) -> str:
    if url.startswith("sqlite"):
        return "SQLite (WAL file)"
    shared = "Redis" if os.environ.get("REDIS_URL") else "the database"
    return f"PostgreSQL {url.rsplit('/', 1)[-1]} (group views shared through {shared})"


def server_env(instance: Path, database_url: str) -> dict[str, str]:
    """The environment of the bench's app servers and of its own seeding process."""
    return dict(
        os.environ,
        INSTANCE_PATH=str(instance),
        DATABASE_URL=database_url,
        SECRET_KEY="bench-secret-" + instance.name,  # shared by every server of one run
        DEMO_PASSWORD=PASSWORD,
        **FAST_PASSWORD_HASH,
    )


def migrate(env: Mapping[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "init-db"],
        cwd=ROOT,
        env=dict(env),
        check=True,
        capture_output=True,
    )


def open_app(env: Mapping[str, str]) -> Flask:
    """The app in this process, for seeding and for the final database check.

    The environment is applied before anything of ``app`` is imported: the password hasher
    reads its cost at import time.
    """
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from app import create_app

    return create_app({"SKIP_SCHEMA_CHECK": True})


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------


@dataclass
class Seeded:
    """A decision seeded for a bench: its ids and who can log in to it."""

    decision_id: int
    facilitator: str
    analysts: list[str]
    observers: list[str]
    analyst_ids: dict[str, int]
    option_ids: list[int]
    criterion_ids: list[int]
    scale: tuple[int, int]
    baseline_revision: int = 0
    scores: int = 0


def seed_demo(app: Flask) -> Seeded:
    """The demo decision (``flask seed-demo``), with the demo users' password set to ours."""
    from sqlmodel import col, select

    from app.db.models import Criterion, Option
    from app.db.uow import unit_of_work
    from app.services import demo
    from app.services.matrix import latest_revision

    with app.app_context(), unit_of_work() as session:
        result = demo.seed(session=session, reset_passwords=True)
        session.flush()
        options = session.exec(
            select(Option).where(col(Option.decision_id) == result.decision_id)
        ).all()
        criteria = session.exec(
            select(Criterion).where(col(Criterion.decision_id) == result.decision_id)
        ).all()
        baseline = latest_revision(session=session, decision_id=result.decision_id)
    analysts = [name for name, role in demo.ROLES.items() if role.value == "analyst"]
    observers = [name for name, role in demo.ROLES.items() if role.value == "observer"]
    return Seeded(
        decision_id=result.decision_id,
        facilitator="facilitator",
        analysts=analysts,
        observers=observers,
        analyst_ids={},
        option_ids=[o.id for o in options],
        criterion_ids=[c.id for c in criteria],
        scale=(1, 5),
        baseline_revision=baseline,
        scores=len(options) * len(criteria) * len(analysts),
    )


def seed_decision(
    app: Flask,
    *,
    title: str,
    options: int,
    criteria: int,
    analysts: int,
    observers: int,
    fill: float = 1.0,
    rationale_share: float = 0.3,
    scale: tuple[int, int] = (1, 5),
    prefix: str | None = None,
    seed: int = 1,
) -> Seeded:
    """A decision of the wanted size, every user with the bench password.

    ``fill`` is the share of cells each analyst has already scored (round 1); the values
    scatter around a per-cell central value so the group shows agreement and dispersion.
    """
    from app.adapters.passwords import hash_password
    from app.db.models import Round, Score, User
    from app.db.uow import unit_of_work
    from app.services import criteria as criteria_service
    from app.services import decisions as decision_service
    from app.services import options as option_service
    from app.services.matrix import latest_revision
    from app.services.scores import record_score

    rng = random.Random(seed)
    prefix = prefix or f"b{secrets.token_hex(2)}"
    password_hash = hash_password(PASSWORD)  # argon2id is slow on purpose: hash once
    lo, hi = scale
    with app.app_context(), unit_of_work() as session:

        def user(username: str, admin: bool = False) -> User:
            row = User(
                username=username,
                display_name=username.replace("-", " ").title(),
                password_hash=password_hash,
                is_admin=admin,
            )
            session.add(row)
            return row

        facilitator = user(f"{prefix}-facilitator", admin=True)
        analyst_users = [user(f"{prefix}-analyst-{i + 1}") for i in range(analysts)]
        observer_users = [user(f"{prefix}-observer-{i + 1}") for i in range(observers)]
        session.flush()
        decision = decision_service.create_decision(
            session=session,
            actor=facilitator,
            data={
                "title": title,
                "question": f"Which of {options} options serves best? (bench decision)",
                "background": "A decision seeded by the benches in `bench/`.",
                "scale_min": lo,
                "scale_max": hi,
            },
        )
        for people, role in ((analyst_users, "analyst"), (observer_users, "observer")):
            for person in people:
                decision_service.set_member(
                    session=session,
                    decision_id=decision.id,
                    actor_id=facilitator.id,
                    username=person.username,
                    role=role,
                )
        option_ids = [
            option_service.create_option(
                session=session,
                decision_id=decision.id,
                actor_id=facilitator.id,
                data={"title": f"Option {i + 1}", "summary": f"Course of action number {i + 1}."},
            ).id
            for i in range(options)
        ]
        criterion_ids = [
            criteria_service.create_criterion(
                session=session,
                decision_id=decision.id,
                actor_id=facilitator.id,
                data={
                    "name": f"Criterion {i + 1}",
                    "direction": "cost" if i % 4 == 3 else "benefit",
                    "weight": rng.randint(1, 10) * 5,
                },
            ).id
            for i in range(criteria)
        ]
        session.flush()
        # A new decision is a draft: start scoring the way a facilitator does, through the
        # set-up checklist (question, options, weighted criteria, analysts are all there now).
        decision_service.start_scoring(session=session, decision=decision, actor_id=facilitator.id)
        session.flush()
        round_one = session.exec(_round_one(Round, decision.id)).one()
        count = flushed = 0
        for o in option_ids:
            for c in criterion_ids:
                centre = rng.uniform(lo, hi)
                for analyst in analyst_users:
                    if rng.random() >= fill:
                        continue
                    value = min(hi, max(lo, round(centre + rng.gauss(0, (hi - lo) / 5))))
                    rationale = (
                        f"Seeded judgement {count + 1}." if rng.random() < rationale_share else ""
                    )
                    score = Score(
                        round_id=round_one.id,
                        option_id=o,
                        criterion_id=c,
                        analyst_id=analyst.id,
                        value=float(value),
                        rationale=rationale,
                    )
                    session.add(score)
                    record_score(session, decision, round_one, score, before=None)
                    count += 1
                if count - flushed >= 2000:
                    session.flush()
                    flushed = count
        session.flush()
        baseline = latest_revision(session=session, decision_id=decision.id)
        seeded = Seeded(
            decision_id=decision.id,
            facilitator=facilitator.username,
            analysts=[u.username for u in analyst_users],
            observers=[u.username for u in observer_users],
            analyst_ids={u.username: u.id for u in analyst_users},
            option_ids=option_ids,
            criterion_ids=criterion_ids,
            scale=scale,
            baseline_revision=baseline,
            scores=count,
        )
    return seeded


def _round_one(round_model: Any, decision_id: int) -> Any:
    from sqlmodel import col, select

    return select(round_model).where(
        col(round_model.decision_id) == decision_id, col(round_model.number) == 1
    )


def dispose(app: Flask) -> None:
    from app.db.engine import get_engine

    get_engine(app).dispose()


# --------------------------------------------------------------------------------------------
# App servers
# --------------------------------------------------------------------------------------------


SERVE_THREADS = 4  # app/web/serving.py's default


def serve_workers() -> int:
    """``make serve``'s default worker count on this machine."""
    from app.web.serving import default_workers

    return default_workers(os.cpu_count())


class Server:
    """One gunicorn (``app.wsgi:app``) on a free local port, in its own process group, with
    the settings of ``make serve`` (``app/web/serving.py``; workers and threads from the CPU
    count unless given)."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int | None = None,
        threads: int | None = None,
        name: str = "server",
        log_dir: Path,
        access_log: bool = False,
        extra: Sequence[str] = (),
    ) -> None:
        self.env = dict(env)
        self.workers = workers or serve_workers()
        self.threads = threads or SERVE_THREADS
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{name}.log"
        self.access_path = log_dir / f"{name}.access.log" if access_log else None
        self.extra = list(extra)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> None:
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            "app/web/serving.py",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            *self.extra,
        ]
        if self.access_path is not None:
            # Request time in microseconds, as the server measured it.
            command += [
                "--access-logfile",
                str(self.access_path),
                "--access-logformat",
                "%(m)s %(U)s %(s)s %(D)s",
            ]
        command.append("app.wsgi:app")
        log = self.log_path.open("ab")
        # One request line each, as ``make serve`` writes them; gunicorn's own access log
        # instead when the bench reads server times from it.
        env = {**self.env, "LOG_REQUESTS": "0" if self.access_path else "1"}
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection(*self.address, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout:.0f} s")

    def _pids(self) -> list[int]:
        if self.process is None:
            return []
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids += [int(p) for p in children.read_text().split()]
        except OSError:
            pass
        return pids

    def cpu_seconds(self) -> float:
        """CPU time used so far by the master and its live workers (Linux /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def kill(self) -> None:
        """SIGKILL the master and every worker at once (a host that dies)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# The browser side
# --------------------------------------------------------------------------------------------


class ClientError(Exception):
    """No HTTP answer: the connection failed, was reset or timed out.

    ``sent`` is False only when the request certainly never reached a server (refused).
    """

    def __init__(self, message: str, *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str
    seconds: float


POLL_DIV = re.compile(r'<div id="matrix-poll"[^>]*?hx-get="([^"]+)"', re.S)
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def poll_url(html: str) -> str | None:
    """The ``hx-get`` of the page's ``#matrix-poll`` element (full page or out-of-band)."""
    found = POLL_DIV.search(html)
    return found.group(1).replace("&amp;", "&") if found else None


def since_of(url: str) -> int:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return int(query.get("since", ["0"])[0])


class Client:
    """One browser tab: a keep-alive connection and the session cookie.

    ``servers`` are the addresses it may reach (behind a load balancer); it moves to the next
    one when its server stops answering. An idle connection is replaced before use when it may
    have been closed by the server's keep-alive timeout, as a browser does.
    """

    def __init__(
        self, servers: Sequence[tuple[str, int]], *, timeout: float = 30.0, idle: float = 1.5
    ) -> None:
        self.servers = list(servers)
        self.current = 0
        self.timeout = timeout
        self.idle = idle
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.conn: http.client.HTTPConnection | None = None
        self.last_used = 0.0
        self.failovers = 0

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is not None and time.monotonic() - self.last_used > self.idle:
            self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                *self.servers[self.current], timeout=self.timeout
            )
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def fail_over(self) -> None:
        self.close()
        if len(self.servers) > 1:
            self.current = (self.current + 1) % len(self.servers)
            self.failovers += 1

    def request(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool | None = None,
    ) -> Answer:
        """One request; a GET is retried once on a fresh connection (a POST never is)."""
        retry = method == "GET" if retry is None else retry
        host, port = self.servers[self.current]
        send = {"Host": f"{host}:{port}", **(headers or {})}
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            send["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=send)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                if retry and attempt == 1:
                    continue
                refused = isinstance(exc, ConnectionRefusedError)
                raise ClientError(f"{type(exc).__name__}: {exc}", sent=not refused) from exc
            elapsed = time.perf_counter() - started
            self.last_used = time.monotonic()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for key, morsel in jar.items():
                    expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                    if expired or not morsel.value:
                        self.cookies.pop(key, None)
                    else:
                        self.cookies[key] = morsel.value
            if response.will_close:
                self.close()
            return Answer(response.status, response.headers, data.decode(), elapsed)
        raise AssertionError("unreachable")

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def htmx_headers(self, target: str, trigger: str, current_url: str) -> dict[str, str]:
        """What htmx sends with a request from an element of the page."""
        host, port = self.servers[self.current]
        return {
            "HX-Request": "true",
            "HX-Target": target,
            "HX-Trigger": trigger,
            "HX-Current-URL": f"http://{host}:{port}{current_url}",
            "X-CSRFToken": self.csrf,
        }

    def login(self, username: str, password: str = PASSWORD) -> None:
        """Through the real login form, as a person would."""
        page = self.get("/login")
        token = CSRF_FIELD.search(page.body)
        if page.status != 200 or token is None:
            raise ClientError(f"login page answered {page.status}")
        answer = self.request(
            "POST",
            "/login",
            form={"username": username, "password": password, "csrf_token": token.group(1)},
        )
        if answer.status != 302 or "session" not in self.cookies:
            raise ClientError(f"login of {username} answered {answer.status}")

    def open_page(self, path: str) -> Answer:
        """A full page; keeps the CSRF token its ``<body hx-headers>`` carries."""
        answer = self.get(path)
        token = CSRF_HEADER.search(answer.body)
        if token:
            self.csrf = token.group(1)
        return answer


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.seconds.append(value)

    def __len__(self) -> int:
        return len(self.seconds)

    def quantile(self, q: float) -> float:
        """Nearest-rank quantile in milliseconds (nan when there are no samples)."""
        if not self.seconds:
            return math.nan
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    def median(self) -> float:
        return 1000 * statistics.median(self.seconds) if self.seconds else math.nan


def ms(value: float) -> str:
    return "     –" if math.isnan(value) else f"{value:6.1f}"


def machine_line() -> str:
    load = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores shared by the server(s), the simulated browsers and "
        f"anything else running (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})"
    )


def command_line(script: str, options: Sequence[tuple[str, object]]) -> str:
    """The exact command that reproduces this run."""
    parts = [".venv/bin/python", f"bench/{script}"]
    if os.environ.get("REDIS_URL"):
        parts.insert(0, f"REDIS_URL={os.environ['REDIS_URL']}")
    for flag, value in options:
        if value is None or value is False:
            continue
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)
