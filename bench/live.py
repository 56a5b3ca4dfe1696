"""Live-update costs against a real gunicorn server (2 workers) on a fresh SQLite database.

Prints latency percentiles for: the change poll when nothing changed (204), the poll right after
a change (200 with the changed values), and saving a score. Run: ``python bench/live.py``.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""

    def request(
        self, path: str, data: dict[str, str] | None = None, htmx: bool = False
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body)
        if htmx:
            req.add_header("HX-Request", "true")
        if self.token:
            req.add_header("X-CSRFToken", self.token)
        with self.opener.open(req) as response:
            return response.status, response.read().decode()

    def login(self, username: str) -> None:
        _, html = self.request("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        self.request("/login", {"username": username, "password": PASSWORD, "csrf_token": token})
        _, html = self.request("/")
        self.token = re.search(r'"X-CSRFToken": "([^"]+)"', html).group(1)


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return (
        f"p50 {statistics.median(ms):6.2f} ms   p95 {pick(0.95):6.2f} ms   p99 {pick(0.99):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            INSTANCE_PATH=tmp,
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
            SECRET_KEY="bench",
            DEMO_PASSWORD=PASSWORD,
        )
        for command in (["init-db"], ["seed-demo"]):
            subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app", *command],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "app.wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=1)
                    break
                except OSError:
                    time.sleep(0.1)
            a, b = Browser(base), Browser(base)
            a.login("analyst-a")
            b.login("analyst-b")
            _, page = b.request("/decisions/1/matrix")
            poll = (
                re.search(r'hx-get="([^"]+/matrix/poll[^"]+)"', page).group(1).replace("&amp;", "&")
            )
            idle, changed, saves = [], [], []
            for _ in range(args.requests):
                t = time.perf_counter()
                status, _ = b.request(poll, htmx=True)
                idle.append(time.perf_counter() - t)
                assert status == 204, status
            for i in range(args.requests // 4):
                t = time.perf_counter()
                a.request(
                    "/decisions/1/matrix/scores",
                    {"option_id": "1", "criterion_id": "1", "value": str(1 + i % 5)},
                    htmx=True,
                )
                saves.append(time.perf_counter() - t)
                t = time.perf_counter()
                status, _ = b.request(poll, htmx=True)
                changed.append(time.perf_counter() - t)
                assert status == 200, status
            print(
                "Options Matrix live updates (demo decision, gunicorn 2 workers × 4 threads, SQLite)"
            )
            print(f"  poll, nothing changed (204)   n={len(idle):4d}  {percentiles(idle)}")
            print(f"  poll after a change (200)     n={len(changed):4d}  {percentiles(changed)}")
            print(f"  save one score                n={len(saves):4d}  {percentiles(saves)}")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
