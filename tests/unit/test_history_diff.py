"""Word-level diffs (pure) and their HTML form (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.diff import word_diff
from app.web.presenters.history import diff_html

words = st.lists(
    st.sampled_from(["the", "quick", "fox", "border", "drills", "CSTO", ",", ".", "–", "Ünïcode"]),
    max_size=25,
)
texts = st.builds(
    lambda ws, seps: "".join(w + s for w, s in zip(ws, seps, strict=False)),
    words,
    st.lists(st.sampled_from([" ", "  ", "\n", ""]), min_size=25, max_size=25),
)


@settings(deadline=None, max_examples=300)
@given(old=texts, new=texts)
def test_diff_gives_back_both_texts(old: str, new: str) -> None:
    segments = word_diff(old, new)
    assert "".join(t for op, t in segments if op != "insert") == old
    assert "".join(t for op, t in segments if op != "delete") == new
    assert all(t for _, t in segments)
    if old == new:
        assert all(op == "equal" for op, _ in segments)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("Hold drills", "Hold drills", [("equal", "Hold drills")]),
        ("", "New text", [("insert", "New text")]),
        ("Old text", "", [("delete", "Old text")]),
        (
            "Hold bilateral or multilateral exercises",
            "Hold bilateral exercises",
            [("equal", "Hold bilateral "), ("delete", "or multilateral "), ("equal", "exercises")],
        ),
        (
            "the quick brown fox",
            "a slow red fox",
            [("delete", "the quick brown"), ("insert", "a slow red"), ("equal", " fox")],
        ),
        (
            "risk is low.",
            "risk is high.",
            [("equal", "risk is "), ("delete", "low"), ("insert", "high"), ("equal", ".")],
        ),
    ],
)
def test_diff_examples(old: str, new: str, expected: list[tuple[str, str]]) -> None:
    assert word_diff(old, new) == expected


def test_diff_html_marks_changes_without_colour_and_escapes() -> None:
    html = str(diff_html("Keep <b>old</b> & go", "Keep <i>new</i> & go\nnext"))
    assert "<del>" in html and "<ins>" in html
    assert "[deleted: " in html and "[inserted: " in html  # spoken labels
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;" in html and "&gt;" in html and "&amp;" in html
    assert "<br>" in html
    # A deletion followed by an insertion stays visibly apart.
    assert "</del> <ins>" in html
