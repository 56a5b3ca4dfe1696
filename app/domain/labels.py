"""How the product names things it prints: analysts whose names are withheld, and the
missing-score policy with the sentences that go with it."""

from __future__ import annotations

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
