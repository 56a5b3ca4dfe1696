"""Word-level differences between two texts (option titles, summaries, descriptions)."""

from __future__ import annotations

import difflib
import re
from typing import Literal

Op = Literal["equal", "delete", "insert"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """``old`` → ``new`` as ``(op, text)`` segments, op ∈ {"equal", "delete", "insert"}.

    Words, punctuation and runs of whitespace are the units. Joining the "equal" and
    "delete" texts gives ``old`` back; joining "equal" and "insert" gives ``new``. A lone
    space between two changes is folded into them, so "the quick fox" → "a slow fox" reads
    as one deletion and one insertion rather than a patchwork.
    """
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    raw: list[tuple[str, str, str]] = []  # (tag, old text, new text)
    for opcode, i1, i2, j1, j2 in matcher.get_opcodes():
        raw.append((opcode, "".join(a[i1:i2]), "".join(b[j1:j2])))
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
