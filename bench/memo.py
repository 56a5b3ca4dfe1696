"""Benchmark decision memos: ``python bench/memo.py [--repeats R] [--keep DIR]``.

On a fresh SQLite database (demo decision + a generated 40-option × 15-criterion decision with
three analysts), prints for each memo:

* issue: a facilitator's POST that issues the memo (snapshot, PDF and Word copy, store),
  through the Flask test client;
* WeasyPrint alone: ``HTML(...).write_pdf()`` in this process on the very same HTML;
* snapshot: the read transaction alone (matrix, robustness figures), part of issue;
* the ratio issue / WeasyPrint (target ≤ 1.5);
* re-download: GET of the issued PDF, median and p95 of 50 runs (target < 20 ms).

Issue, snapshot and WeasyPrint are medians of R runs, interleaved after one warm-up.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlalchemy import select  # noqa: E402

PASSWORD = "bench-password-1"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_large(session, facilitator, analysts, n_options: int = 40, n_criteria: int = 15) -> int:  # type: ignore[no-untyped-def]
    from app.db.models import Round, Score
    from app.services import criteria as criteria_service
    from app.services import decisions as decision_service
    from app.services import options as option_service

    rng = np.random.default_rng(7)
    decision = decision_service.create_decision(
        session=session,
        actor=facilitator,
        data={
            "title": f"Benchmark: {n_options} options × {n_criteria} criteria",
            "question": "Which course of action serves the objective best?",
            "background": "A generated decision to measure memo rendering.\n\n" * 3,
        },
    )
    for user in analysts:
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            username=user.username,
            role="analyst",
        )
    options = [
        option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "title": f"Option {i + 1}: a course of action with a realistic title",
                "summary": "One line that says what the option is about.",
                "description": "A paragraph of description, as analysts write them. " * 3,
            },
        )
        for i in range(n_options)
    ]
    criteria = [
        criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "name": f"Criterion {j + 1} with a name of usual length",
                "direction": "cost" if j % 4 == 3 else "benefit",
                "weight": int(rng.integers(1, 10)),
                "description": "What the criterion measures.",
            },
        )
        for j in range(n_criteria)
    ]
    session.flush()
    # A new decision is a draft: start scoring as a facilitator does once it is set up.
    decision_service.start_scoring(session=session, decision=decision, actor_id=facilitator.id)
    round_one = session.scalar(select(Round).where(Round.decision_id == decision.id))
    for o in options:
        for c in criteria:
            # Analysts mostly agree within a point; about one cell in ten is contested.
            base = int(rng.integers(2, 5))
            wide = rng.random() < 0.1
            for a in analysts:
                value = base + int(rng.integers(-2, 3) if wide else rng.integers(-1, 1))
                session.add(
                    Score(
                        round_id=round_one.id,
                        option_id=o.id,
                        criterion_id=c.id,
                        analyst_id=a.id,
                        value=float(min(5, max(1, value))),
                        rationale="A short reason for this score, as analysts write them.",
                    )
                )
    session.flush()
    return int(decision.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep", help="directory to keep the PDFs in")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="memo-bench-"))
    os.environ["INSTANCE_PATH"] = str(workdir / "instance")
    os.environ["DEMO_PASSWORD"] = PASSWORD

    from app import create_app
    from app.adapters import pdf as memo
    from app.db.engine import get_engine
    from app.db.migrate import upgrade
    from app.db.models import Memo, User
    from app.db.uow import unit_of_work
    from app.services import memos as memo_service
    from app.services.demo import seed
    from app.web.print import MEMO_PRINTER, render_memo_html
    from tests.factories import make_user

    app = create_app(
        {"DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "SECRET_KEY": "bench"}
    )
    with app.app_context():
        upgrade(app)
        with unit_of_work() as session:
            demo_id = seed(session=session).decision_id
            facilitator = session.scalar(select(User).where(User.username == "facilitator"))
            analysts = [make_user(session, f"bench-analyst-{k}") for k in range(3)]
            large_id = make_large(session, facilitator, analysts)

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    login = client.post(
        "/login", data={"username": "facilitator", "password": PASSWORD, "csrf_token": token}
    )
    assert login.status_code == 302, "login failed"
    page = client.get(f"/decisions/{demo_id}/memos/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {
        "memorandum_for": "The Principal",
        "from_line": "Benchmark",
        "subject": "Benchmark memo",
        "bottom_line": "We recommend the option that ranks first.",
        "sections": ["chart", "disagreements", "robustness"],
        "csrf_token": token,
    }

    def issue(decision_id: int) -> int:
        response = client.post(f"/decisions/{decision_id}/memos", data=form)
        assert response.status_code == 303, re.sub(r"\s+", " ", response.get_data(as_text=True))[
            -1500:
        ]
        return int(response.headers["Location"].rsplit("=", 1)[1])

    memo.prepare_fontconfig(str(workdir / "instance" / "cache"))
    print(
        f"Memo benchmark: median of {args.repeats} interleaved runs after a warm-up "
        f"(SQLite, {os.cpu_count()} CPUs)"
    )
    print(
        f"{'memo':<17}{'pages':>6}{'KB':>6}{'issue':>9}{'snapshot':>10}{'WeasyPrint':>12}"
        f"{'ratio':>7}{'download':>10}{'p95':>8}"
    )
    for label, decision_id in (("demo (5 × 7)", demo_id), ("large (40 × 15)", large_id)):
        memo_id = issue(decision_id)  # warm-up: starts the render worker, loads fonts
        with app.app_context(), unit_of_work(write=False) as session:
            row = session.get(Memo, memo_id)
            assert row is not None
            snapshot = {**row.snapshot, "snapshot_sha256": row.snapshot_sha256}
            pdf = bytes(row.pdf)
        html = render_memo_html(snapshot)
        again = memo.html_to_pdf(html)  # warm-up, and the same bytes as issued
        assert again == pdf, "WeasyPrint alone did not reproduce the issued PDF"
        form_data = memo_service.parse_form(form)
        issuer = User(id=row.issued_by, username="facilitator", display_name="F", password_hash="")

        def snap(decision: int = decision_id, by: User = issuer, data: Any = form_data) -> None:
            with app.app_context():
                memo_service.read_snapshot(
                    engine=get_engine(),
                    decision_id=decision,
                    issuer=by,
                    form=data,
                    printer=MEMO_PRINTER,
                )

        issue_times, weasy_times, snapshot_times = [], [], []
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            start = time.perf_counter()
            memo_id = issue(decision_id)
            issue_times.append(time.perf_counter() - start)
            weasy_times.append(timed(lambda h=html: memo.html_to_pdf(h)))
            snapshot_times.append(timed(snap))
        url = f"/decisions/{decision_id}/memos/{memo_id}.pdf"
        client.get(url)
        downloads = sorted(timed(lambda u=url: client.get(u).get_data()) for _ in range(50))
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        issue_s, weasy_s = statistics.median(issue_times), statistics.median(weasy_times)
        print(
            f"{label:<17}{pages:>6}{len(pdf) / 1024:>6.0f}{issue_s * 1000:>7.0f}ms"
            f"{statistics.median(snapshot_times) * 1000:>8.0f}ms{weasy_s * 1000:>10.0f}ms"
            f"{issue_s / weasy_s:>7.2f}"
            f"{statistics.median(downloads) * 1000:>8.1f}ms{downloads[47] * 1000:>6.1f}ms"
        )
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            Path(args.keep, f"{label.split()[0]}.pdf").write_bytes(pdf)
            Path(args.keep, f"{label.split()[0]}.json").write_text(json.dumps(snapshot))
    print("Targets: issue ≤ 1.5 × WeasyPrint alone; re-download < 20 ms.")
    memo.renderer().stop()


if __name__ == "__main__":
    main()
