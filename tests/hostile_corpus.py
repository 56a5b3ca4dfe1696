"""Hostile text that members may write: markup and script payloads, Markdown tricks, entities,
template expressions, spreadsheet formula starts and odd Unicode.

Shared by the browser test (every page and fragment escapes it) and the integration tests (the
memo PDF shows it as written, CSV and XLSX run none of it). Every script payload calls
``alert`` with its own code (``xss-1`` …), so a dialog says which payload got through.
:func:`seed_decision` writes a decision whose every text a person writes carries the corpus.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlmodel import Session

from app.db.models import User
from app.services import criteria as criteria_service
from app.services import decisions as decision_service
from app.services import options as option_service
from app.services import scores as score_service

# Markup and script, each short enough to be a title of its own.
MARKUP: tuple[str, ...] = (
    "<script>alert('xss-1')</script>",
    "<img src=x onerror=alert('xss-2')>",
    "<svg/onload=alert('xss-3')><circle r=9 /></svg>",
    '"><iframe src="javascript:alert(\'xss-4\')"></iframe>',
    "<a href=\"javascript:alert('xss-5')\">click me</a>",
    "javascript:alert('xss-6')",
    "' onmouseover='alert(\"xss-7\")' x='",
    "<details open ontoggle=alert('xss-8')>",
    "<math><style><img src=x onerror=alert('xss-9')></style></math>",
    "<body onload=alert('xss-10')>",
    "<input autofocus onfocus=alert('xss-11')>",
    "</textarea><script>alert('xss-12')</script>",
)
# Markdown that tries to make a script link or an image with a handler.
MARKDOWN: tuple[str, ...] = (
    "[md link](javascript:alert('xss-13'))",
    "![md image](x\" onerror=\"alert('xss-14'))",
    "[ref link][r]\n\n[r]: javascript:alert('xss-15')",
    "<a href='jav&#x09;ascript:alert(\"xss-16\")'>entity link</a>",
)
# Entities must show as typed, not decoded into markup.
ENTITIES = "&lt;b&gt;bold?&lt;/b&gt; &#60;i&#62; &amp;amp; &quot;"
# A template expression: shown as typed, never evaluated (the check looks for "tpl=49").
TEMPLATE = "tpl={{7*7}} ${7*7} #{7*7} <%= 7*7 %>"
TEMPLATE_EVALUATED = "tpl=49"
# Formula starts a spreadsheet would run.
FORMULAS: tuple[str, ...] = (
    '=HYPERLINK("http://example.test","open")',
    "+1+1",
    "-2+3",
    "@SUM(1,1)",
    "=cmd|' /C calc'!A0",
)
# The same formulas after a separator a spreadsheet may split at, and after leading blanks.
FORMULA_VARIANTS: tuple[str, ...] = (
    "a;=1+1",
    "b,+1",
    "c|@SUM(1)",
    "d\t-3+4",
    "e\r=1+2",
    "f, =1+3",
    "g; @SUM(2)",
)
# Right-to-left override and mark, zero-width characters, a byte-order mark, emoji.
ODD_UNICODE = "rtl\u202eevil\u202c \u200fmark \u200bzero\u200dwidth\u2060 \ufeffbom 🧨 👩‍👩‍👧 🇺🇳"

SCRIPT_PAYLOADS: tuple[str, ...] = MARKUP + MARKDOWN
EVERYTHING: tuple[str, ...] = (
    *SCRIPT_PAYLOADS,
    ENTITIES,
    TEMPLATE,
    *FORMULAS,
    *FORMULA_VARIANTS,
    ODD_UNICODE,
)

# What a DOM must not hold after any of this was shown: an event-handler attribute or a
# script URL (the pages' own scripts are files under /static/).
ACTIVE_CONTENT_SCRIPT = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(`${el.tagName} ${name}`);
      if (['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].includes(name)
          && value.startsWith('javascript:')) found.push(`${el.tagName} ${name}=${attr.value}`);
    }
  }
  for (const el of document.querySelectorAll('script')) {
    const src = el.getAttribute('src') || '';
    if (!src.startsWith('/static/')) found.push(`SCRIPT ${src || el.textContent.slice(0, 60)}`);
  }
  // Our own frames: the memo preview and a memo's download.
  for (const el of document.querySelectorAll('iframe, object, embed, math')) {
    const ours = el.tagName === 'IFRAME' && (el.getAttribute('name') === 'memo-preview'
      || (el.getAttribute('src') || '').startsWith('/decisions/'));
    if (!ours) found.push(el.tagName);
  }
  return found;
}"""


def packed(tag: str, limit: int, parts: tuple[str, ...] = EVERYTHING) -> str:
    """``tag`` followed by as many of ``parts`` as fit in ``limit`` characters."""
    text = tag
    for part in parts:
        if len(text) + 1 + len(part) <= limit:
            text = f"{text} {part}"
    return text


def titled(tag: str, index: int) -> str:
    """A title of its own for each script payload: ``tag`` and payload ``index`` (cycling)."""
    return f"{tag} {SCRIPT_PAYLOADS[index % len(SCRIPT_PAYLOADS)]}"


_FORMULA_START = re.compile(r"^[ ]*[=+\-@]")
_SEPARATORS = re.compile(r"[,;\t|\n\r]")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:e-?\d+)?$")


def formula_starts(field: str) -> list[str]:
    """The pieces of a spreadsheet text cell that a spreadsheet could run as a formula: the
    cell split at every separator one may use, leading blanks ignored. Plain numbers (a
    negative weight or score) are values, not formulas."""
    if _NUMBER.match(field):
        return []
    return [piece for piece in _SEPARATORS.split(field) if _FORMULA_START.match(piece)]


def without_guards(field: str) -> str:
    """A neutralised spreadsheet text with its guarding apostrophes taken out again (each
    stands before a formula start, at the beginning or after a separator)."""
    return re.sub(r"(?:^|(?<=[,;\t|\n\r]))'(?=[ ]*[=+\-@\t\r])", "", field)


# --------------------------------------------------------------------------------------------
# A decision whose every text a person writes carries the corpus
# --------------------------------------------------------------------------------------------

DECISION_TITLE = packed("Decision", 200, MARKUP[:3] + (TEMPLATE,))
# The question is plain text and kept as written (leading tab and all).
QUESTION = "\t=1+1 " + packed("Question", 2_000)
BACKGROUND = packed("Background", 20_000, EVERYTHING + MARKUP)  # Markdown
CLASSIFICATION = packed("SECRET", 80, (MARKUP[0], TEMPLATE))  # stored in capitals
# Option titles: one per payload, so the matrix, lists and exports show each on its own.
OPTION_TITLES: tuple[str, ...] = (*SCRIPT_PAYLOADS, *FORMULAS, *FORMULA_VARIANTS)
FIRST_SUMMARY = packed("Summary", 500, (*MARKUP, ENTITIES, TEMPLATE))
DESCRIPTION = packed("Description", 20_000)  # Markdown
EDITED_DESCRIPTION = DESCRIPTION.replace("xss-1'", "xss-1-edited'")
CRITERIA: tuple[tuple[str, str, str, int], ...] = (
    (packed("=SUM(1)", 200, MARKUP[3:]), "\t=2+2 " + packed("Criterion", 2_000), "benefit", 50),
    (f"@crit {TEMPLATE} {ENTITIES}", " =3+3 " + ODD_UNICODE, "cost", 30),
    ("-risk, =1+1 " + MARKUP[0], "\r=4+4 " + " ".join(MARKDOWN), "benefit", 20),
)
RATIONALES = (
    packed("=Rationale", 2_000),
    f"@Other view {ODD_UNICODE} {TEMPLATE} " + " ".join(reversed(MARKUP)),
)
DISPLAY_NAMES = (
    packed("Fac", 120, MARKUP[:2] + (TEMPLATE,)),
    packed("=Ann", 120, MARKUP[2:5]),
    packed("+Bob", 120, (ODD_UNICODE,) + MARKUP[8:11]),
)
MEMO_FORM: dict[str, str] = {
    "memorandum_for": packed("=For", 300, MARKUP[:6]),
    "from_line": packed("@From", 300, MARKUP[6:]),
    "subject": packed("Subject", 300, (TEMPLATE, ENTITIES) + MARKUP[:4]),
    "bottom_line": packed("Bottom line", 10_000),  # Markdown
}


@dataclass
class HostileDecision:
    decision_id: int
    options: list[int] = field(default_factory=list)
    criteria: list[int] = field(default_factory=list)


def seed_decision(
    session: Session, *, facilitator: User, analysts: tuple[User, User]
) -> HostileDecision:
    """A decision made by ``facilitator`` (an administrator) with the two ``analysts``, whose
    title, question, background, marking, options, criteria and rationales carry the corpus.
    The first option's description is edited once (a word diff in its timeline), and the
    analysts disagree on the first three options, so the memo shows their rationales."""
    decision = decision_service.create_decision(
        session=session,
        actor=facilitator,
        data={
            "title": DECISION_TITLE,
            "question": QUESTION,
            "background": BACKGROUND,
            "classification": CLASSIFICATION,
            "scale_min": 1,
            "scale_max": 5,
        },
    )
    seeded = HostileDecision(decision_id=decision.id)
    for analyst in analysts:
        decision_service.set_member(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            username=analyst.username,
            role="analyst",
        )
    for index, title in enumerate(OPTION_TITLES):
        summary = FIRST_SUMMARY if index == 0 else titled(f"Summary {index}", index + 1)
        option = option_service.create_option(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "title": title,
                "summary": summary,
                "description": DESCRIPTION if index == 0 else "",
            },
        )
        seeded.options.append(option.id)
    option_service.update_option(
        session=session,
        decision_id=decision.id,
        option_id=seeded.options[0],
        actor_id=facilitator.id,
        data={
            "title": OPTION_TITLES[0],
            "summary": FIRST_SUMMARY,
            "description": EDITED_DESCRIPTION,
            "version": 1,
        },
    )
    for name, description, direction, weight in CRITERIA:
        criterion = criteria_service.create_criterion(
            session=session,
            decision_id=decision.id,
            actor_id=facilitator.id,
            data={
                "name": name,
                "description": description,
                "direction": direction,
                "weight": weight,
            },
        )
        seeded.criteria.append(criterion.id)
    stored = decision_service.start_scoring(
        session=session, decision=decision, actor_id=facilitator.id
    )
    for option_id in seeded.options[:3]:
        for criterion_id in seeded.criteria:
            for analyst, value, rationale in zip(analysts, ("1", "5"), RATIONALES, strict=True):
                score_service.save_score(
                    session=session,
                    decision=stored,
                    analyst_id=analyst.id,
                    option_id=option_id,
                    criterion_id=criterion_id,
                    value=value,
                    rationale=rationale,
                )
    return seeded
