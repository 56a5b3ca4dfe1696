"""How the product names things it prints: analysts whose names are withheld, the
missing-score policy with the sentences that go with it, and changes to criteria."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.vocabulary import MissingPolicy


def analyst_letter(index: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA", 701 → "ZZ", 702 → "AAA": an analyst's letter by position.

    Bijective base-26, like spreadsheet column names, so every position gets a distinct label.
    A negative position raises ``ValueError``.
    """
    if index < 0:
        raise ValueError(f"analyst position must be non-negative, got {index}")
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


MISSING_POLICY_LABELS: dict[MissingPolicy, str] = {
    MissingPolicy.SKIP: "Skipped, weights rescaled",
    MissingPolicy.MIDPOINT: "Counted at the scale's midpoint",
    MissingPolicy.WORST: "Counted at the scale's worst",
}
"""Short names of the missing-score policies (the settings form's choices)."""

MISSING_POLICY_EXPLANATIONS: dict[MissingPolicy, str] = {
    MissingPolicy.SKIP: (
        "A missing or N/A score is left out and the option's other weights are scaled up to "
        "fill the gap, so the gap counts as the option's own average elsewhere."
    ),
    MissingPolicy.MIDPOINT: (
        "A missing or N/A score counts as the middle of the scale, with its criterion's full "
        "weight."
    ),
    MissingPolicy.WORST: (
        "A missing or N/A score counts as the worst end of the scale, with its criterion's full "
        "weight, so no option gains from a gap."
    ),
}
"""One line per policy: what it does to an option's total."""


def missing_policy_label(policy: MissingPolicy | str) -> str:
    return MISSING_POLICY_LABELS[MissingPolicy(policy)]


def missing_policy_explanation(policy: MissingPolicy | str) -> str:
    return MISSING_POLICY_EXPLANATIONS[MissingPolicy(policy)]


def missing_policy_sentence(policy: MissingPolicy | str) -> str:
    """The policy as the overview and the memo state it."""
    label = missing_policy_label(policy)
    return f"Missing scores: {label[0].lower()}{label[1:]}. {missing_policy_explanation(policy)}"


def _names(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def outranks_sentence(above: str, below: str, common: list[str]) -> str:
    """An incomplete option ranked above one it does not beat on the criteria both were scored
    on (``common``, named when there are at most three), e.g.

    "Joint drills ranks above Do little only through missing scores: on the criteria both were
    scored on (Cost and Speed), Joint drills does not score higher than Do little."
    """
    where = f" ({_names(common)})" if 0 < len(common) <= 3 else ""
    return (
        f"{above} ranks above {below} only through missing scores: on the criteria both were "
        f"scored on{where}, {above} does not score higher than {below}."
    )


def _number(value: object) -> str:
    return f"{float(value):g}" if isinstance(value, int | float | str) else "?"


def _anchor_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """Which scale points' wording changed, counted from the lowest point (1st, 2nd, …)."""
    old, new = list(before.get("anchors") or []), list(after.get("anchors") or [])
    if not new:
        return "verbal anchors back to the defaults"
    size = max(len(old), len(new))
    old, new = old + [""] * (size - len(old)), new + [""] * (size - len(new))

    def words(text: str) -> str:
        return f"“{text}”" if text else "default"

    changed = [
        f"point {position + 1} {words(a)} → {words(b)}"
        for position, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b
    ]
    return "verbal anchors edited" + (": " + ", ".join(changed) if changed else "")


def criterion_change_sentence(
    actor: str, action: str, before: Mapping[str, Any], after: Mapping[str, Any], name: str
) -> str:
    """A revision of a criterion in words. ``before``/``after`` are the recorded states
    (``CriterionState``, empty when absent: a new or deleted criterion); ``name`` is the
    criterion's name when the states do not hold it. Older revisions without ``status`` or
    ``anchors`` read as active with default anchors.

    "Morgan Hale retired the criterion “Cost”: out of totals and memos, its scores kept in
    history"; "… changed the criterion “Cost”: weight 15 → 25; verbal anchors edited: …".
    """
    name = str(after.get("name") or before.get("name") or name)
    if action == "create":
        weight = _number(after.get("weight", 0))
        return f"{actor} added the criterion “{name}” ({after.get('direction')}, weight {weight})"
    if action == "delete":
        return f"{actor} removed the criterion “{name}” from the draft"
    if action == "retire":
        return (
            f"{actor} retired the criterion “{name}”: out of totals and memos, its scores kept "
            "in history"
        )
    if action == "restore":
        return f"{actor} restored the retired criterion “{name}”: back in totals and memos"

    def changed(key: str, default: Any = None) -> bool:
        return bool(before.get(key, default) != after.get(key, default))

    changes = []
    if changed("weight"):
        changes.append(
            f"weight {_number(before.get('weight', 0))} → {_number(after.get('weight'))}"
        )
    if changed("direction"):
        changes.append(f"direction {before.get('direction')} → {after.get('direction')}")
    if changed("name"):
        changes.append(f"name “{before.get('name')}” → “{after.get('name')}”")
    if changed("description", ""):
        changes.append("description edited")
    if (before.get("anchors") or []) != (after.get("anchors") or []):
        changes.append(_anchor_change(before, after))
    if changed("status", "active"):
        changes.append(f"status {before.get('status', 'active')} → {after.get('status')}")
    sentence = f"{actor} changed the criterion “{name}”"
    return sentence + (": " + "; ".join(changes) if changes else "")
