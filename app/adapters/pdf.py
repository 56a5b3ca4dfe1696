"""HTML → PDF with WeasyPrint, for decision memos: a time-bound worker process and a
restricted URL fetcher.

The same HTML always renders the same PDF, so a memo's SHA-256 can be checked by rendering its
snapshot again. The memo's HTML comes from its print templates (``app.web.print``); issuing,
which ties snapshot, HTML, PDF and storage together, is ``app.services.memos``.

Accessible. Memos are PDF/UA-1 (:data:`PDF_VARIANT`): tagged (headings, lists, tables with
their header cells, figures), in reading order, with the document's language and title, and
alternative text for every chart (the SVG's ``<title>``, written by the print templates).

Same bytes. WeasyPrint writes no random identifier unless asked for one, and the dates of the
PDF/UA metadata (its XMP packet and document information) are the memo's own, from the
``dcterms.created`` and ``dcterms.modified`` the print template sets. What remains is the embedded
fonts: WeasyPrint subsets them with HarfBuzz when libharfbuzz-subset (4.1 or later) is installed
and otherwise with fontTools, which stamps each subset font's ``head.modified`` with the current
second — two renders a second apart then differ inside a font stream. fontTools takes that stamp
from ``SOURCE_DATE_EPOCH`` when it is set, so every process that renders pins it
(:data:`FONT_TIMESTAMP`). The two subsetters give different (each stable) bytes, so a memo
re-renders byte for byte on an installation with the same WeasyPrint, fonts and system libraries
(Pango, HarfBuzz, libharfbuzz-subset) as the one that issued it.

Safety. WeasyPrint fetches through :class:`MemoURLFetcher`, which serves only our own static
files (memo.css and the bundled fonts) on a virtual origin, plus ``data:`` URLs. Every other
URL — http(s), ``file:``, anything named in user text or CSS ``url()`` — is refused before
any connection or file is opened, so there is nothing to redirect either. (Before that, the
print templates escape user text and render Markdown without links or images.)

Time bound. PDFs are rendered by one long-lived worker process per application process:
WeasyPrint is imported and its fonts warmed once, and a render that overruns its time limit
is stopped by killing the worker (a thread could not be stopped). The next render starts a
fresh worker.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from app.config import ROOT

STATIC_DIR = Path(ROOT, "static").resolve()
ASSET_ORIGIN = "https://memo-assets.invalid"
PDF_ASSET_BASE = f"{ASSET_ORIGIN}/static/"
"""Where the PDF's HTML finds memo.css and the fonts; only :class:`MemoURLFetcher` answers."""
SERVED_SUFFIXES = {".css": "text/css", ".ttf": "font/ttf", ".svg": "image/svg+xml"}
PDF_VARIANT = "pdf/ua-1"
"""Tagged PDF for accessibility (structure, language, title, alternative text)."""
FONT_TIMESTAMP = "0"
"""``SOURCE_DATE_EPOCH`` in every process that renders: the ``head.modified`` that fontTools
writes into subset fonts (1970-01-01), instead of the second the memo was rendered."""


class MemoRenderError(Exception):
    """The PDF could not be produced; nothing should be stored."""


class MemoRenderTimeout(MemoRenderError):
    pass


# --------------------------------------------------------------------------------------------
# Restricted URL fetcher
# --------------------------------------------------------------------------------------------


class RefusedURL(ValueError):
    pass


@functools.cache
def _fetcher_class() -> type:
    """Built on first use so importing this module does not import WeasyPrint (0.3 s)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class MemoURLFetcher(URLFetcher):
        """Serves our own static assets and ``data:`` URLs; refuses everything else.

        Nothing is ever opened over a network or outside ``static/``, so redirects cannot
        happen. ``refused`` lists what was asked for and refused (for logs and tests).
        """

        def __init__(self) -> None:
            super().__init__(timeout=1, allowed_protocols=("data", "https"), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> Any:
            if url.startswith("data:"):
                from urllib.request import DataHandler, Request

                response = DataHandler().data_open(Request(url))
                return URLFetcherResponse(url, response.read(), dict(response.headers))
            path = static_path(url)
            if path is None:
                self.refused.append(url)
                raise RefusedURL(f"memos may only use their own assets, not {url[:200]}")
            return URLFetcherResponse(
                url, _asset_bytes(str(path)), {"Content-Type": SERVED_SUFFIXES[path.suffix]}
            )

    return MemoURLFetcher


def make_url_fetcher() -> Any:
    return _fetcher_class()()


def static_path(url: str) -> Path | None:
    """The file under static/ that ``url`` names on the asset origin, or None if refused."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if f"{parts.scheme}://{parts.netloc}" != ASSET_ORIGIN or parts.query or parts.fragment:
        return None
    if not parts.path.startswith("/static/"):
        return None
    relative = unquote(parts.path[len("/static/") :])
    if not relative or "\\" in relative or "\x00" in relative:
        return None
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or path.suffix not in SERVED_SUFFIXES:
        return None
    return path if path.is_file() else None


@functools.lru_cache(maxsize=32)
def _asset_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


# --------------------------------------------------------------------------------------------
# HTML → PDF (in this process); used by the worker, the benchmark and tests
# --------------------------------------------------------------------------------------------


def prepare_fontconfig(cache_dir: str | None = None) -> None:
    """Give fontconfig a writable cache directory (before WeasyPrint is first imported)."""
    if "weasyprint" in sys.modules:
        return
    cache = Path(cache_dir or Path(tempfile.gettempdir(), "options-matrix-cache"))
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    home_cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    if not os.access(home_cache, os.W_OK):
        os.environ["XDG_CACHE_HOME"] = str(cache)


def pin_font_timestamps() -> None:
    """Make fontTools stamp subset fonts with :data:`FONT_TIMESTAMP`, not the current time.

    fontTools reads ``SOURCE_DATE_EPOCH`` each time it saves a font, so this holds for every
    later render in this process (a value set by the environment is replaced: the bytes must
    not depend on it either).
    """
    os.environ["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP


def html_to_pdf(html: str, *, fetcher: Any = None) -> bytes:
    """WeasyPrint on ``html`` with the restricted fetcher: the PDF's bytes, the same for the
    same ``html`` whenever it is rendered."""
    from weasyprint import HTML

    pin_font_timestamps()
    fetcher = fetcher or make_url_fetcher()
    document = HTML(string=html, base_url=PDF_ASSET_BASE, url_fetcher=fetcher)
    pdf = document.write_pdf(pdf_variant=PDF_VARIANT, uncompressed_pdf=False)
    assert pdf is not None
    return bytes(pdf)


# --------------------------------------------------------------------------------------------
# The render worker: one long-lived WeasyPrint process, killed when a render overruns
# --------------------------------------------------------------------------------------------


def worker_main() -> None:  # pragma: no cover - runs in the worker process
    """The render worker: read HTML documents from stdin, write PDFs to stdout, forever.

    Frames are ``<4-byte big-endian length><payload>``; replies start with ``b"+"`` (a PDF)
    or ``b"!"`` (an error message).
    """
    cache_dir = sys.argv[1] if len(sys.argv) > 1 else None
    prepare_fontconfig(cache_dir)
    import logging

    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    log = logging.getLogger("options_matrix.memo")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the reply stream
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            return
        html = stdin.read(int.from_bytes(header, "big")).decode("utf-8")
        fetcher = make_url_fetcher()
        try:
            reply = b"+" + html_to_pdf(html, fetcher=fetcher)
            if fetcher.refused:
                log.warning(
                    "memo render refused %d URL(s): %s",
                    len(fetcher.refused),
                    ", ".join(u[:120] for u in fetcher.refused[:10]),
                )
        except Exception as exc:  # reported to the caller, which stores nothing
            reply = b"!" + f"{type(exc).__name__}: {exc}"[:500].encode()
        stdout.write(len(reply).to_bytes(4, "big") + reply)
        stdout.flush()


WORKER_CODE = "import sys; from app.adapters.pdf import worker_main; worker_main()"


class PdfRenderer:
    """A worker process holding WeasyPrint, used by one thread at a time.

    The worker is a plain ``python -c`` child speaking over pipes (not multiprocessing, whose
    spawn mode re-imports the parent's main script).
    """

    def __init__(self, cache_dir: str | None = None) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._pid = os.getpid()
        self._cache_dir = cache_dir or str(Path(tempfile.gettempdir(), "options-matrix-cache"))

    def render(self, html: str, *, timeout: float) -> bytes:
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            raise MemoRenderTimeout("Another memo is being rendered; try again in a moment.")
        deadline = time.monotonic() + timeout  # the render's own time, not the wait for its turn
        try:
            process = self._worker()
            assert process.stdin is not None and process.stdout is not None
            data = html.encode("utf-8")
            try:
                process.stdin.write(len(data).to_bytes(4, "big") + data)
                process.stdin.flush()
                header = self._read(process.stdout.fileno(), 4, deadline)
                reply = self._read(process.stdout.fileno(), int.from_bytes(header, "big"), deadline)
            except TimeoutError:
                self.stop()
                raise MemoRenderTimeout(
                    f"Rendering the memo took longer than {timeout:g} s and was stopped."
                ) from None
            except (OSError, EOFError) as exc:
                self.stop()
                raise MemoRenderError(f"the render worker stopped ({exc})") from None
            if reply[:1] != b"+":
                raise MemoRenderError(reply[1:].decode("utf-8", "replace"))
            return reply[1:]
        finally:
            self._lock.release()

    @staticmethod
    def _read(fd: int, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                raise EOFError("no reply")
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _worker(self) -> subprocess.Popen[bytes]:
        if self._pid != os.getpid():  # forked: the parent's worker is not ours to use
            self._process, self._pid = None, os.getpid()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self.stop()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
        env["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP  # see pin_font_timestamps
        self._process = subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, self._cache_dir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            close_fds=True,
        )
        return self._process

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait(5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


_renderer: PdfRenderer | None = None
_renderer_lock = threading.Lock()


def renderer(cache_dir: str | None = None) -> PdfRenderer:
    """This process's renderer; its worker starts on first use."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = PdfRenderer(cache_dir)
            atexit.register(_renderer.stop)
        return _renderer


def render_pdf(html: str, *, timeout: float, cache_dir: str | None = None) -> bytes:
    """The PDF for ``html``, rendered within ``timeout`` seconds or :class:`MemoRenderError`."""
    pdf = renderer(cache_dir).render(html, timeout=timeout)
    if not pdf.startswith(b"%PDF-"):
        raise MemoRenderError("The renderer returned something that is not a PDF.")
    return pdf
