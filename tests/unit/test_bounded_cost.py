"""Text a member writes cannot make a page slow: the history word diff and the Markdown
render cost about as much on hostile texts as on ordinary texts of the same length.

Every timing is measured against a baseline of the same work on ordinary text in the same
run (with a generous ratio), plus a loose absolute ceiling.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import markdown
import nh3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.adapters.markdown import ALLOWED_TAGS, render_markdown
from app.domain.diff import text_diff, word_diff
from app.web.presenters.history import diff_html

FIELD_MAX = 20_000
RATIO = 50
CEILING = 5.0  # seconds, far above what either takes on a busy machine


def _best_of(work: Callable[[], object], times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def _ordinary(length: int) -> str:
    words = ["the", "border", "drills", "exercise", "regional", "security", "option", "cost"]
    out: list[str] = []
    size = 0
    index = 0
    while size < length:
        word = words[index % len(words)] + ("." if index % 11 == 10 else "")
        word += "\n\n" if index % 97 == 96 else " "
        out.append(word)
        size += len(word)
        index += 1
    return "".join(out)[:length]


def _assert_bounded(hostile: Callable[[], object], baseline: Callable[[], object]) -> None:
    base = _best_of(baseline)
    spent = _best_of(hostile, times=2)
    assert spent <= CEILING, f"{spent:.2f} s"
    # A floor under the baseline, so a very quick ordinary render does not make the bound
    # a matter of a few milliseconds of scheduling noise.
    assert spent <= RATIO * max(base, 0.005), f"{spent:.3f} s against {base:.4f} s"


# --------------------------------------------------------------------------------------------
# Word diff
# --------------------------------------------------------------------------------------------

HOSTILE_EDITS = {
    "dots to dot-x": ("." * 1_500, ".x" * 750),
    "1,000 characters": ("." * 1_000, ".y" * 500),
    "field maximum": ("." * FIELD_MAX, ".x" * (FIELD_MAX // 2)),
    "repeated words": ("a b " * (FIELD_MAX // 4), "b a " * (FIELD_MAX // 4)),
    "same repeated text": ("a b " * (FIELD_MAX // 4), "a b " * (FIELD_MAX // 4)),
}


@pytest.mark.parametrize(("old", "new"), HOSTILE_EDITS.values(), ids=HOSTILE_EDITS.keys())
def test_word_diff_cost_is_bounded(old: str, new: str) -> None:
    plain = _ordinary(len(old))
    edited = plain[: len(plain) // 2] + "changed " + plain[len(plain) // 2 :]
    _assert_bounded(lambda: diff_html(old, new), lambda: diff_html(plain, edited))
    segments = word_diff(old, new)
    assert "".join(t for op, t in segments if op != "insert") == old
    assert "".join(t for op, t in segments if op != "delete") == new


def test_too_costly_diff_is_coarse_and_says_so() -> None:
    diff = text_diff("Intro. " + "." * 1_500 + " End.", "Intro. " + ".x" * 750 + " End.")
    assert diff.coarse
    ops = [op for op, _ in diff.segments]
    assert ops == ["equal", "delete", "insert", "equal"]
    assert diff.segments[0][1].startswith("Intro. ")
    assert diff.segments[-1] == ("equal", " End.")
    html = str(diff_html("." * 1_500, ".x" * 750))
    assert "Too many changes to show word by word" in html
    assert "<del>" in html and "<ins>" in html


def test_ordinary_edits_are_still_word_by_word() -> None:
    plain = _ordinary(FIELD_MAX)
    edited = plain.replace("security", "stability", 3)
    diff = text_diff(plain, edited)
    assert not diff.coarse
    assert ("delete", "security") in diff.segments and ("insert", "stability") in diff.segments
    assert "Too many changes" not in str(diff_html(plain, edited))


def test_edits_scattered_over_a_long_text_are_shown_word_by_word() -> None:
    paragraphs = [" ".join(f"w{i}_{j}" for j in range(60)) for i in range(40)]
    edited = list(paragraphs)
    for index in (3, 17, 30):
        edited[index] = edited[index].replace(f"w{index}_5 ", "changed ")
    old, new = "\n\n".join(paragraphs), "\n\n".join(edited)
    diff = text_diff(old, new)
    assert not diff.coarse
    assert [s for s in diff.segments if s[0] != "equal"] == [
        ("delete", "w3_5"),
        ("insert", "changed"),
        ("delete", "w17_5"),
        ("insert", "changed"),
        ("delete", "w30_5"),
        ("insert", "changed"),
    ]
    assert "".join(t for op, t in diff.segments if op != "insert") == old
    assert "".join(t for op, t in diff.segments if op != "delete") == new


words = st.lists(st.sampled_from(["the", "fox", ".", ",", "x", "Ünïcode", "a"]), max_size=30)
texts = st.builds(
    lambda ws, seps: "".join(w + s for w, s in zip(ws, seps, strict=False)),
    words,
    st.lists(st.sampled_from([" ", "\n", ""]), min_size=30, max_size=30),
)


@settings(deadline=None, max_examples=200)
@given(old=texts, new=texts, limit=st.sampled_from([0, 5, 50, 10_000]))
def test_any_work_limit_gives_back_both_texts(old: str, new: str, limit: int) -> None:
    segments = text_diff(old, new, limit=limit).segments
    assert "".join(t for op, t in segments if op != "insert") == old
    assert "".join(t for op, t in segments if op != "delete") == new
    assert all(t for _, t in segments)
    if old == new:
        assert all(op == "equal" for op, _ in segments)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

HOSTILE_MARKDOWN = {
    "6,000 [": "[" * 6_000,
    "20,000 [": "[" * FIELD_MAX,
    "[a repeated": "[a" * (FIELD_MAX // 2),
    "![ repeated": "![" * (FIELD_MAX // 2),
    "nested brackets": "[" * (FIELD_MAX // 2) + "]" * (FIELD_MAX // 2),
    "unclosed link targets": "[a](" * (FIELD_MAX // 4),
    "brackets closed in code": "[`]`" * (FIELD_MAX // 4),
    "unclosed tag starts": "<a " * (FIELD_MAX // 3),
    "unclosed quoted attributes": "<a x='" * (FIELD_MAX // 6),
    "header lines": "#a\n" * (FIELD_MAX // 3),
    "underlined header lines": "a\n=\n" * (FIELD_MAX // 4),
    "rule lines": "-\n" * (FIELD_MAX // 2),
    "unmatched backtick runs": "``a`" * (FIELD_MAX // 4),
    "nested quotes": ">" * FIELD_MAX,
}


# Ordinary text with the same structure, where plain prose would be an unfair baseline.
MARKDOWN_BASELINES = {"brackets closed in code": "a`]`" * (FIELD_MAX // 4)}


@pytest.mark.parametrize("name", HOSTILE_MARKDOWN.keys())
def test_markdown_cost_is_bounded(name: str) -> None:
    text = HOSTILE_MARKDOWN[name]
    plain = MARKDOWN_BASELINES.get(name) or _ordinary(len(text))
    _assert_bounded(lambda: render_markdown(text), lambda: render_markdown(plain))


def _reference(text: str) -> str:
    """Markdown and the sanitiser exactly as they are, with no bound."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    return str(
        nh3.clean(
            html,
            tags=ALLOWED_TAGS,
            attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )


ORDINARY_MARKDOWN = [
    'A [link](https://example.org "Title") and *emphasis*, **strong** and `a[0]`.',
    "| Option | Cost |\n|:--|--:|\n| [A](https://a.example) | 2 |\n| B [x] | 3 |",
    "- one\n- two [ref][r]\n\n1. first\n2. second\n\n[r]: https://r.example",
    "> quoted [text](mailto:a@example.org)\n\n    code [ ] <b>\n\nSee [1] and [2, 3).",
    "Raw <em>html</em> and <script>alert(1)</script> and ![image](https://i.example/x.png)",
    _ordinary(5_000) + " [a link](https://example.org) " + _ordinary(5_000),
    "Brackets: " + "[x] " * 200 + "and [y](https://y.example)",
]


@pytest.mark.parametrize("text", ORDINARY_MARKDOWN)
def test_ordinary_markdown_renders_exactly_as_before(text: str) -> None:
    assert str(render_markdown(text)) == _reference(text)


def test_hostile_brackets_show_as_written_with_code_intact() -> None:
    text = "[" * 6_000 + " `[code]` [a](https://example.org) <b>bold</b>"
    html = str(render_markdown(text))
    assert "[" * 6_000 in html
    assert "<code>[code]</code>" in html
    assert "<a " not in html  # such a text makes no links
    assert "[a](https://example.org)" in html
    assert "<b>bold</b>" in html


def test_hostile_tag_starts_show_as_written_and_escaped() -> None:
    text = "<a " * 7_000 + "<script>alert(1)</script> `<i>` [l](https://example.org)"
    html = str(render_markdown(text))
    assert "<script" not in html and "<a " not in html.replace('<a href="https', "")
    assert "&lt;a &lt;a" in html
    assert "<code>&lt;i&gt;</code>" in html
    assert '<a href="https://example.org"' in html


def test_stand_in_characters_in_the_text_never_become_brackets_or_tags() -> None:
    html = str(render_markdown("[" * 6_000 + " \ue000 \ue001 \ue002"))
    assert html.count("[") == 6_000 and "]" not in html and "&lt;" not in html
    html = str(render_markdown("<a " * 7_000 + " \ue002 \ue000"))
    assert html.count("&lt;") == 7_000 and "[" not in html
    assert str(render_markdown("private \ue000 use")) == _reference("private \ue000 use")


def test_text_too_costly_to_parse_shows_as_written_and_escaped() -> None:
    text = "#a\n" * 7_000 + "<script>alert(1)</script> & [x](https://example.org)\n\nNext"
    html = str(render_markdown(text))
    assert html.startswith("<p>#a<br>\n#a<br>")
    assert "&lt;script&gt;" in html and "<script" not in html and "&amp;" in html
    assert "<a " not in html
    assert html.endswith("<p>Next</p>")


LONG_DOCUMENT = (
    "## Background\n\nSome *text* with [a link](https://example.org) and `code`.\n\n"
    "- item one\n- item two\n    - nested [x]\n\n1. first\n2. second\n\n"
    "> quoted\n> > twice\n\n| a | b |\n|---|---|\n| 1 | [y](https://y.example) |\n\n"
) * 60


def test_a_long_ordinary_document_renders_exactly_as_before() -> None:
    assert len(LONG_DOCUMENT) <= FIELD_MAX
    assert str(render_markdown(LONG_DOCUMENT)) == _reference(LONG_DOCUMENT)
