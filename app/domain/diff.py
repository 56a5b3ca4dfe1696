"""Word-level differences between two texts (option titles, summaries, descriptions).

The cost is bounded whatever a member writes: matching words is roughly cubic on long,
repetitive texts, so the matcher stops once it has done ``WORK_LIMIT`` steps. The diff then
matches lines first and words only within the changed lines, and where even that would take
too long it falls back to a coarser diff: the common start and end kept, the passage between
them shown as replaced whole (``coarse``). Every form gives back the two texts exactly.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate
from typing import Literal

Op = Literal["equal", "delete", "insert"]
Raw = list[tuple[str, str, str]]  # (tag, old text, new text)

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")

# Steps of the word matcher one diff may take (each a dictionary update in its inner loop),
# about a tenth of a second: edits to a few places of a page of text fit well within it.
WORK_LIMIT = 300_000


@dataclass(frozen=True)
class TextDiff:
    """``segments`` of a diff; ``coarse`` when some changed passage is shown replaced whole
    rather than word by word."""

    segments: list[tuple[Op, str]]
    coarse: bool


class _TooMuchWork(Exception):
    pass


class _Work:
    """Steps left to the matchers of one diff."""

    def __init__(self, left: int) -> None:
        self.left = left


class _BoundedMatcher(difflib.SequenceMatcher[str]):
    """A sequence matcher that gives up once its longest-match searches have, together,
    looked at more units and candidate positions than ``work`` has left."""

    def __init__(self, a: list[str], b: list[str], work: _Work) -> None:
        super().__init__(None, a, b, autojunk=False)
        in_b = Counter(b)  # with no junk, how many places each unit has in ``b``
        counts = [in_b[token] for token in a]
        # cost[i] = places in ``b`` where the units a[:i] occur; a search over a[alo:ahi]
        # visits at most cost[ahi] - cost[alo] of them.
        self._cost = [0, *accumulate(counts)]
        self._work = work

    def find_longest_match(
        self, alo: int = 0, ahi: int | None = None, blo: int = 0, bhi: int | None = None
    ) -> difflib.Match:
        end = len(self._cost) - 1 if ahi is None else ahi
        # One step per unit of a[alo:end] and per place in ``b`` it may match.
        self._work.left -= (end - alo) + (self._cost[end] - self._cost[alo]) + 1
        if self._work.left < 0:
            raise _TooMuchWork
        return super().find_longest_match(alo, ahi, blo, bhi)


def text_diff(old: str, new: str, *, limit: int = WORK_LIMIT) -> TextDiff:
    """``old`` → ``new`` as ``(op, text)`` segments, op ∈ {"equal", "delete", "insert"}.

    Words, punctuation and runs of whitespace are the units. Joining the "equal" and
    "delete" texts gives ``old`` back; joining "equal" and "insert" gives ``new``. A lone
    space between two changes is folded into them, so "the quick fox" → "a slow fox" reads
    as one deletion and one insertion rather than a patchwork. When matching the words
    would take more than ``limit`` steps, lines are matched first and words only within
    changed lines; a changed passage that is still too costly is one deletion and one
    insertion (``coarse``).
    """
    old, new = old or "", new or ""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    try:
        return TextDiff(_segments(_words(a, b, _Work(limit))), coarse=False)
    except _TooMuchWork:
        pass
    work = _Work(limit)
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    try:
        line_opcodes = _BoundedMatcher(old_lines, new_lines, work).get_opcodes()
    except _TooMuchWork:
        return TextDiff(_segments(_replaced(a, b)), coarse=True)
    raw: Raw = []
    coarse = False
    for tag, i1, i2, j1, j2 in line_opcodes:
        left, right = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        if tag == "equal":
            raw.append(("equal", left, ""))
            continue
        block_a, block_b = _TOKEN.findall(left), _TOKEN.findall(right)
        try:
            raw += _words(block_a, block_b, work)
        except _TooMuchWork:
            raw += _replaced(block_a, block_b)
            coarse = True
    return TextDiff(_segments(_merge_equal(raw)), coarse=coarse)


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """The segments of :func:`text_diff` (word by word where the cost allows)."""
    return text_diff(old, new).segments


def _words(a: list[str], b: list[str], work: _Work) -> Raw:
    """Units ``a`` → ``b`` matched word by word (raises when ``work`` runs out)."""
    start, end = _common_ends(a, b)
    middle_a, middle_b = a[start : len(a) - end], b[start : len(b) - end]
    opcodes = _BoundedMatcher(middle_a, middle_b, work).get_opcodes()
    raw: Raw = [("equal", "".join(a[:start]), "")] if start else []
    raw += [
        (tag, "".join(middle_a[i1:i2]), "".join(middle_b[j1:j2]))
        for tag, i1, i2, j1, j2 in opcodes
        if tag != "equal" or i2 > i1
    ]
    if end:
        raw.append(("equal", "".join(a[len(a) - end :]), ""))
    return _merge_equal(raw)


def _common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """How many units ``a`` and ``b`` share at the start, and then at the end."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end = 0
    while end < len(a) - start and end < len(b) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return start, end


def _merge_equal(raw: Raw) -> Raw:
    """Neighbouring "equal" runs as one."""
    out: list[tuple[str, str, str]] = []
    for tag, left, right in raw:
        if out and tag == "equal" and out[-1][0] == "equal":
            out[-1] = ("equal", out[-1][1] + left, "")
        else:
            out.append((tag, left, right))
    return out


def _replaced(a: list[str], b: list[str]) -> Raw:
    """The common leading and trailing units kept, everything between replaced."""
    start, end = _common_ends(a, b)
    raw: Raw = []
    if start:
        raw.append(("equal", "".join(a[:start]), ""))
    middle = ("".join(a[start : len(a) - end]), "".join(b[start : len(b) - end]))
    if middle[0] or middle[1]:
        raw.append(("replace", *middle))
    if end:
        raw.append(("equal", "".join(a[len(a) - end :]), ""))
    return raw


def _segments(raw: Raw) -> list[tuple[Op, str]]:
    # Fold whitespace-only equal runs that sit between two changes into the changes.
    folded: list[tuple[str, str, str]] = []
    for index, (tag, left, right) in enumerate(raw):
        between = 0 < index < len(raw) - 1 and raw[index - 1][0] != "equal"
        between = between and raw[index + 1][0] != "equal"
        if tag == "equal" and between and left.isspace():
            tag = "replace"
        if folded and tag != "equal" and folded[-1][0] != "equal":
            _, old_left, old_right = folded[-1]
            folded[-1] = ("replace", old_left + left, old_right + right)
        else:
            folded.append((tag, left, right))
    out: list[tuple[Op, str]] = []
    for tag, left, right in folded:
        if tag == "equal":
            out.append(("equal", left))
            continue
        if left:
            out.append(("delete", left))
        if right:
            out.append(("insert", right))
    return out
