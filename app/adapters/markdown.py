"""Markdown → sanitised HTML for option descriptions, background and memo text.

The cost of a render is bounded whatever a member writes. Python-Markdown looks for a link
at every ``[``, scanning ahead for the matching ``]`` (and then ``)``), so many unclosed or
nested brackets cost time quadratic in the text's length; its block parser re-reads the rest
of a block for every header or rule line it takes off, its code spans scan ahead for a
closing run of backticks, and its raw-HTML pass scans ahead from every unclosed ``<tag``.
Here the scanners count the characters they visit:

- past ``LINK_SCAN_BUDGET`` in the link scanners, the render starts again with the text's
  square brackets set aside as inert characters, put back after rendering (the brackets show
  as written and the text makes no links);
- past ``BLOCK_SCAN_BUDGET`` in the block parser or ``LINK_SCAN_BUDGET`` in the code-span
  scanner, the text is shown as written: escaped, in paragraphs, with its line breaks;
- tag starts are estimated in one pass before rendering, and past ``LINK_SCAN_BUDGET`` every
  ``<`` is shown as written.

Every other text renders exactly as Markdown has it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

import markdown as _markdown
import nh3
from markdown import inlinepatterns
from markdown.extensions import Extension
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
}

# Characters the link scanners may visit in one render; an ordinary page of text with a
# few dozen links and stray brackets needs a few thousand.
LINK_SCAN_BUDGET = 100_000

# Characters the block parser may read in one render (each block processor reads the rest of
# a block to test it); an ordinary page of text needs a few hundred thousand.
BLOCK_SCAN_BUDGET = 2_000_000

# Private-use characters stand in for set-aside characters while Markdown renders.
_OPEN, _CLOSE, _LESS = "\ue000", "\ue001", "\ue002"
_TAG_START = re.compile(r"<[a-zA-Z/!?]")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


class _TooCostly(Exception):
    def __init__(self, links: bool) -> None:
        super().__init__()
        self.links = links  # only the link scanners ran out


class _Budget:
    def __init__(self, left: int, *, links: bool = False) -> None:
        self.left = left
        self.links = links

    def spend(self, amount: int) -> None:
        self.left -= amount
        if self.left < 0:
            raise _TooCostly(self.links)


class _Counted:
    """Mixed into Markdown's link processors: charge every scan to the render's budget.

    (The ``super()`` calls reach the processor class this is mixed into, which the type
    checker cannot see from the mixin alone.)"""

    budget: _Budget

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802
        text, end, handled = super().getText(data, index)  # type: ignore[misc]
        self.budget.spend((end if handled else len(data)) - index + 1)
        return text, end, handled

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        href, title, end, handled = super().getLink(data, index)  # type: ignore[misc]
        self.budget.spend((end if handled else len(data)) - index + 1)
        return href, title, end, handled


_LINK_PROCESSORS = {
    "reference": (inlinepatterns.ReferenceInlineProcessor, 170),
    "link": (inlinepatterns.LinkInlineProcessor, 160),
    "image_link": (inlinepatterns.ImageInlineProcessor, 150),
    "image_reference": (inlinepatterns.ImageReferenceInlineProcessor, 140),
    "short_reference": (inlinepatterns.ShortReferenceInlineProcessor, 130),
    "short_image_ref": (inlinepatterns.ShortImageReferenceInlineProcessor, 125),
}
_COUNTED = {
    name: type(f"Counted{cls.__name__}", (_Counted, cls), {})
    for name, (cls, _) in _LINK_PROCESSORS.items()
}


def _counted_code_spans(find: Any, budget: _Budget) -> Any:
    def find_code_spans(start: int, text: str) -> tuple[int, int | None]:
        found, end = find(start, text)
        budget.spend((len(text) if end is None else end) - start + 1)
        return found, end

    return find_code_spans


def _counted_block(method: Any, budget: _Budget, block_of: Any) -> Any:
    def counted(parent: Any, blocks: Any) -> Any:
        budget.spend(len(block_of(blocks)) + 1)
        return method(parent, blocks)

    return counted


class _Bounded(Extension):
    """Counts the scanning of one render: link processors against one budget, the code-span
    scanner and the block parser against others."""

    def extendMarkdown(self, md: Any) -> None:  # noqa: N802
        links = _Budget(LINK_SCAN_BUDGET, links=True)
        for name, (_, priority) in _LINK_PROCESSORS.items():
            processor = _COUNTED[name](md.inlinePatterns[name].pattern, md)
            processor.budget = links
            md.inlinePatterns.register(processor, name, priority)
        backtick = md.inlinePatterns["backtick"]
        spans = _Budget(LINK_SCAN_BUDGET)
        backtick.find_code_spans = _counted_code_spans(backtick.find_code_spans, spans)
        blocks = _Budget(BLOCK_SCAN_BUDGET)
        for processor in md.parser.blockprocessors:
            # test(parent, block) reads one block; run(parent, blocks) the first of them.
            processor.test = _counted_block(processor.test, blocks, lambda block: block)
            processor.run = _counted_block(processor.run, blocks, lambda blocks: blocks[0])


def tag_scan_cost(text: str) -> int:
    """An upper estimate of the characters the raw-HTML pass visits: from each tag start to
    the next ``>`` (to the end of the text when a quote comes first, since a quoted
    attribute value may run past ``>``)."""
    length = len(text)
    closes = [m.start() for m in re.finditer(">", text)]
    quotes = [m.start() for m in re.finditer("[\"']", text)]
    cost = 0
    for match in _TAG_START.finditer(text):
        start = match.start()
        index = bisect_left(closes, start)
        close = closes[index] if index < len(closes) else length
        index = bisect_left(quotes, start)
        quoted = index < len(quotes) and quotes[index] < close
        cost += (length if quoted else close) - start
    return cost


def _markdown_html(text: str) -> str:
    """Markdown's HTML for ``text``, its scanning bounded: brackets set aside when the link
    scanning would cost too much, the text shown as written when anything else would."""
    try:
        return _render(text)
    except _TooCostly as exc:
        if not exc.links:
            return _as_written(text)
    inert = text.replace(_OPEN, "\ufffd").replace(_CLOSE, "\ufffd")
    inert = inert.replace("[", _OPEN).replace("]", _CLOSE)
    try:
        html = _render(inert)
    except _TooCostly:
        return _as_written(text)
    return html.replace(_OPEN, "[").replace(_CLOSE, "]")


def _render(text: str) -> str:
    return str(
        _markdown.markdown(
            text, extensions=["tables", "sane_lists", _Bounded()], output_format="html"
        )
    )


def _as_written(text: str) -> str:
    """The text itself, escaped: paragraphs at blank lines, its line breaks kept."""
    paragraphs = (p.strip("\n") for p in _BLANK_LINE.split(text.replace("\r\n", "\n")))
    return "\n".join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in p.split("\n")))
        for p in paragraphs
        if p.strip()
    )


def render_markdown(text: str | None, *, links: bool = True) -> Markup:
    """Render Markdown, then keep only harmless tags. Images are dropped; links keep only
    http(s)/mailto targets and always get ``rel="noopener noreferrer nofollow"``. A text
    whose brackets or tags would cost too much to scan renders them as written."""
    if not text:
        return Markup("")
    many_tags = tag_scan_cost(text) > LINK_SCAN_BUDGET
    if many_tags:  # (a stand-in never comes from the member's text)
        text = text.replace(_LESS, "\ufffd").replace("<", _LESS)
    html = _markdown_html(text)
    tags = ALLOWED_TAGS if links else ALLOWED_TAGS - {"a"}
    clean = nh3.clean(
        html,
        tags=tags,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    if many_tags:
        clean = clean.replace(_LESS, "&lt;")
    return Markup(clean)
