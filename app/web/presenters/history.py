"""History in plain words: one sentence per revision (with word diffs of edited texts) and per
issued memo, the labels of the kinds of change, and score texts for comparisons."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from app.db.models import Revision
from app.domain.diff import text_diff
from app.domain.labels import criterion_change_sentence
from app.services.history import MemoMark, Names, Page, ScoreValue, revision_id

KIND_LABELS: dict[str, str] = {
    "option": "Option texts and status",
    "score": "Scores",
    "criterion": "Criteria and weights",
    "round": "Rounds and reveals",
    "member": "Members",
    "decision": "Decision settings",
    "memo": "Memos issued",
    "comment": "Comments",
}
TEXT_LABELS = (("title", "Title"), ("summary", "Summary"), ("description", "Description"))
SETTING_LABELS = {
    "title": "title",
    "question": "question",
    "background": "background",
    "classification": "classification",
    "status": "status",
    "scoring_mode": "scoring mode",
    "aggregation": "group value",
    "missing_policy": "missing scores",
    "paper": "memo paper",
    "name_analysts_in_memo": "analysts named in memos",
    "scale_min": "scale minimum",
    "scale_max": "scale maximum",
    "current_round": "round",
}
LONG_SETTINGS = frozenset({"question", "background"})

Diffs = list[tuple[str, Markup]]


# --------------------------------------------------------------------------------------------
# Word diffs as HTML
# --------------------------------------------------------------------------------------------


def _lines(text: str) -> Markup:
    """Escaped text with its line breaks shown (one pass, whatever the number of lines)."""
    return Markup(str(escape(text)).replace("\n", "<br>\n"))


def diff_html(old: str, new: str) -> Markup:
    """The word diff as HTML: ``<del>`` and ``<ins>``, each with a spoken label.

    Browsers strike deletions through and underline insertions by default, so the diff reads
    without colour; the visually hidden labels say the same to screen readers. A diff too
    costly to work out word by word says so plainly before showing the passage replaced.
    """
    diff = text_diff(old, new)
    parts: list[Markup] = []
    if diff.coarse:
        parts.append(
            Markup('<span class="diff-note">{}</span><br>\n').format(
                "Too many changes to show word by word: the changed passage is shown "
                "replaced as a whole."
            )
        )
    previous = "equal"
    for op, text in diff.segments:
        if op == "insert" and previous == "delete":
            parts.append(Markup(" "))  # keep "old" and "new" apart on screen
        previous = op
        if op == "equal":
            parts.append(_lines(text))
        elif op == "delete":
            parts.append(
                Markup(
                    '<del><span class="sr-only">[deleted: </span>{}'
                    '<span class="sr-only">]</span></del>'
                ).format(_lines(text))
            )
        else:
            parts.append(
                Markup(
                    '<ins><span class="sr-only">[inserted: </span>{}'
                    '<span class="sr-only">]</span></ins>'
                ).format(_lines(text))
            )
    return Markup("").join(parts)


# --------------------------------------------------------------------------------------------
# Small texts
# --------------------------------------------------------------------------------------------


def _num(value: Any) -> str:
    return f"{float(value):g}"


def score_text(state: Mapping[str, Any] | None) -> str:
    """A recorded score as it reads: its value, "N/A" or "no score"."""
    if not state:
        return "no score"
    if state.get("not_applicable"):
        return "N/A"
    if state.get("value") is None:
        return "no score"
    return _num(state["value"])


def value_text(score: ScoreValue) -> str:
    """A score in a comparison as it reads."""
    return score_text({"value": score.value, "not_applicable": score.not_applicable})


def _quote(text: str | None) -> str:
    text = (text or "").strip()
    return f" — “{text}”" if text else ""


def _rationale(state: Mapping[str, Any]) -> str:
    return _quote(state.get("rationale"))


def _list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _num(value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Entries: one revision in plain words
# --------------------------------------------------------------------------------------------


@dataclass
class Entry:
    revision: Revision
    actor: str
    sentence: str
    diffs: Diffs = field(default_factory=list)
    restorable: bool = False

    @property
    def id(self) -> int:
        return revision_id(self.revision)

    @property
    def when(self) -> datetime:
        return self.revision.created_at

    @property
    def kind(self) -> str:
        return self.revision.entity

    @property
    def option_id(self) -> int | None:
        return self.revision.option_id


@dataclass(frozen=True)
class _Change:
    """What every sentence reads: the revision, its states and the names."""

    revision: Revision
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    actor: str
    names: Names

    def changed(self, key: str) -> bool:
        return self.before.get(key) != self.after.get(key)


Sentence = tuple[str, Diffs]


def _score(c: _Change) -> Sentence:
    r, before, after = c.revision, c.before, c.after
    analyst = c.names.user(after.get("analyst_id", before.get("analyst_id", r.actor_id)))
    where = f"{c.names.option(r.option_id)} on {c.names.criterion(r.criterion_id)}"
    old, new = score_text(r.before), score_text(r.after)
    in_round = f"round {r.round_number}"
    if r.before is None and new == "no score":
        return f"{analyst} wrote a rationale for {where}, {in_round}" + _rationale(after), []
    if r.before is None:
        return f"{analyst} scored {where}: {new}, {in_round}" + _rationale(after), []
    if r.action == "undo":
        return f"{analyst} undid their last change to {where}: {old} → {new}, {in_round}" + (
            _rationale(after)
        ), []
    if old != new:
        return f"{analyst} changed {where}: {old} → {new}, {in_round}" + _rationale(after), []
    if before.get("rationale", "") != after.get("rationale", ""):
        cleared = _quote(after.get("rationale") or "(cleared)")
        return f"{analyst} changed the rationale for {where}, {in_round}" + cleared, []
    return f"{analyst} saved {where} unchanged, {in_round}", []


def _option(c: _Change) -> Sentence:
    r, actor = c.revision, c.actor
    title = c.after.get("title") or c.names.option(r.option_id)
    diffs: Diffs = []
    if r.action in ("update", "restore"):
        diffs = [
            (label, diff_html(str(c.before.get(key) or ""), str(c.after.get(key) or "")))
            for key, label in TEXT_LABELS
            if c.changed(key)
        ]
    if r.action == "create":
        return f"{actor} proposed the option “{title}”" + _quote(c.after.get("summary")), diffs
    if r.action == "withdraw":
        return f"{actor} withdrew the option “{title}”", diffs
    if r.action == "restore" and c.changed("status"):
        return f"{actor} restored the withdrawn option “{title}”", diffs
    edited = [label.lower() for key, label in TEXT_LABELS if c.changed(key)]
    verb = "restored an earlier text of" if r.action == "restore" else "edited"
    return f"{actor} {verb} “{title}”" + (f": {_list(edited)}" if edited else ""), diffs


def _criterion(c: _Change) -> Sentence:
    r = c.revision
    sentence = criterion_change_sentence(
        c.actor, r.action, c.before, c.after, c.names.criterion(r.criterion_id)
    )
    diffs: Diffs = []
    if r.action == "update" and c.changed("description"):
        old, new = c.before.get("description") or "", c.after.get("description") or ""
        diffs = [("Description", diff_html(old, new))]
    return sentence, diffs


def _member(c: _Change) -> Sentence:
    r, actor = c.revision, c.actor
    person = c.names.user(r.entity_id) if r.entity_id.isdigit() else c.after.get("username", "?")
    if r.action == "create":
        return f"{actor} added {person} as {c.after.get('role')}", []
    if r.action == "remove":
        return (
            f"{actor} removed {person} ({c.before.get('role')}) from the decision; "
            "their scores stay in the history",
            [],
        )
    return f"{actor} changed {person}’s role: {c.before.get('role')} → {c.after.get('role')}", []


_DECISION_SENTENCES = {
    "archive": "{actor} archived the decision",
    "restore": "{actor} restored the decision from the archive",
    "delete": "{actor} deleted the draft",
}


def _decision(c: _Change) -> Sentence:
    if c.revision.action == "create":
        return f"{c.actor} created the decision “{c.after.get('title')}”", []
    if c.revision.action in _DECISION_SENTENCES:
        return _DECISION_SENTENCES[c.revision.action].format(actor=c.actor), []
    changes = [
        f"{label} edited"
        if key in LONG_SETTINGS
        else f"{label} {_plain(c.before.get(key))} → {_plain(c.after.get(key))}"
        for key, label in SETTING_LABELS.items()
        if c.changed(key)
    ]
    return f"{c.actor} changed the decision settings" + (
        ": " + "; ".join(changes) if changes else ""
    ), []


_ROUND_SENTENCES = {
    "reveal": "{actor} revealed round {n}",
    "done": "{actor} marked their round {n} scoring done",
    "undone": "{actor} reopened their round {n} scoring",
}


def _round(c: _Change) -> Sentence:
    r, n = c.revision, c.revision.round_number
    if r.action == "open":
        previous = (n or 1) - 1
        return f"{c.actor} opened round {n}; analysts start from their round {previous} scores", []
    template = _ROUND_SENTENCES.get(r.action, "{actor} recorded “{action}” for round {n}")
    return template.format(actor=c.actor, n=n, action=r.action), []


COMMENT_QUOTE = 200


def _comment(c: _Change) -> Sentence:
    r = c.revision
    where = c.names.option(r.option_id)
    if r.criterion_id is not None:
        where += f" on {c.names.criterion(r.criterion_id)}"
    verb = "replied to a comment on" if c.after.get("parent_id") else "commented on"
    body = " ".join(str(c.after.get("body") or "").split())
    if len(body) > COMMENT_QUOTE:
        body = body[: COMMENT_QUOTE - 1].rstrip() + "…"
    return f"{c.actor} {verb} {where}, round {r.round_number} — “{body}”", []


def _other(c: _Change) -> Sentence:
    r = c.revision
    return f"{c.actor} recorded “{r.action}” on {r.entity} {r.entity_id}", []


_SENTENCES: dict[str, Callable[[_Change], Sentence]] = {
    "score": _score,
    "option": _option,
    "criterion": _criterion,
    "member": _member,
    "decision": _decision,
    "round": _round,
    "comment": _comment,
}


def describe(revision: Revision, names: Names) -> Entry:
    """One revision in plain words, with word diffs for edited texts."""
    actor = names.user(revision.actor_id)
    change = _Change(revision, revision.before or {}, revision.after or {}, actor, names)
    sentence, diffs = _SENTENCES.get(revision.entity, _other)(change)
    return Entry(revision=revision, actor=actor, sentence=sentence, diffs=diffs)


# --------------------------------------------------------------------------------------------
# Pages of entries
# --------------------------------------------------------------------------------------------


@dataclass
class MemoEntry:
    """An issued memo in the feed: the template links its PDF (and Word copy) and the matrix
    "as of" the revision it reflects (``memo.revision_id``)."""

    memo: MemoMark
    actor: str
    sentence: str
    diffs: Diffs = field(default_factory=list)
    restorable: bool = False
    kind: str = "memo"
    option_id: int | None = None

    @property
    def id(self) -> int:
        return self.memo.id

    @property
    def when(self) -> datetime:
        return self.memo.issued_at


def describe_memo(memo: MemoMark, names: Names) -> MemoEntry:
    """An issued memo in plain words: who issued which memo, on what, reflecting which round."""
    actor = names.user(memo.issued_by)
    cited = len(memo.option_ids)
    sentence = (
        f"{actor} issued memo {memo.number}, “{memo.subject}”: round {memo.round_number}, "
        f"{cited} option{'' if cited == 1 else 's'}"
    )
    if memo.revision_id is not None:
        sentence += f", as of change #{memo.revision_id}"
    return MemoEntry(memo=memo, actor=actor, sentence=sentence)


@dataclass
class EntryPage:
    """What the feed and timeline templates read: ``entries`` (revisions and memos, newest
    first) and the next page's cursor."""

    entries: list[Entry | MemoEntry]
    next_before: int | None


def entries(page: Page) -> EntryPage:
    """A page of revisions as entries, each memo just after the revision it reflects; option
    texts that differ from the current text are marked restorable."""
    revisions = [describe(r, page.names) for r in page.revisions]
    for entry in revisions:
        entry.restorable = entry.id in page.restorable
    keyed: list[tuple[tuple[int, int, int], Entry | MemoEntry]] = [
        ((e.id, 0, 0), e) for e in revisions
    ]
    keyed += [((m.position, 1, m.id), describe_memo(m, page.names)) for m in page.memos]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return EntryPage([e for _, e in keyed], page.next_before)
