"""The what-if page's words: the verdict sentence, the change against the agreed ranking, and
weights written back exactly."""

from __future__ import annotations

import numpy as np
import pytest

from app.db.models import Criterion, Option
from app.domain import analysis
from app.services.what_if import Basis, Outcome, WhatIfBasis
from app.web.presenters.what_if import Row, names, verdict, weight_text

OPTIONS = [
    Option(id=1, title="Option A"),
    Option(id=2, title="Option B"),
    Option(id=3, title="Option C"),
]


def basis(kind: Basis = Basis.GROUP) -> WhatIfBasis:
    return WhatIfBasis(
        basis=kind,
        round_number=1,
        options=OPTIONS,
        criteria=[Criterion(id=7, name="Cost", weight=1.0, direction="cost")],
        values=np.zeros((3, 1)),
        scale=analysis.Scale(1, 5),
        missing_policy="skip",
    )


def outcome(*ranks: int | None) -> Outcome:
    ids = [o.id for o in OPTIONS]
    return Outcome(
        shares={7: 1.0},
        totals={i: None if r is None else 100.0 - r for i, r in zip(ids, ranks, strict=True)},
        ranks=dict(zip(ids, ranks, strict=True)),
        coverage={i: 1.0 for i in ids},
        bounds={i: (None, None) for i in ids},
    )


@pytest.mark.parametrize(
    ("tried", "agreed", "sentence"),
    [
        ((1, 2, 3), (1, 2, 3), "Option A still ranks first."),
        ((2, 1, 3), (1, 2, 3), "With these weights, Option B ranks first instead of Option A."),
        ((1, 1, 3), (1, 1, 3), "Option A and Option B still share first place."),
        (
            (1, 1, 1),
            (3, 2, 1),
            "With these weights, Option A, Option B and Option C share first place instead "
            "of Option C.",
        ),
        (
            (2, 1, 3),
            (1, 1, 3),
            "With these weights, Option B ranks first instead of Option A and Option B.",
        ),
        (
            (None, None, None),
            (1, 2, None),
            "With these weights no option has a total: the criteria scored so far carry no weight.",
        ),
        (
            (1, 2, None),
            (None, None, None),
            "With these weights, Option A ranks first; the agreed weights rank no option.",
        ),
        (
            (None, None, None),
            (None, None, None),
            "Nothing to compare yet: no option has a score on a weighted criterion.",
        ),
    ],
)
def test_the_verdict_sentence(
    tried: tuple[int | None, ...], agreed: tuple[int | None, ...], sentence: str
) -> None:
    assert verdict(basis(), outcome(*tried), outcome(*agreed)) == sentence


def test_a_hidden_round_has_nothing_to_compare() -> None:
    hidden = basis(Basis.HIDDEN)
    empty = Outcome({7: 1.0}, {}, {}, {}, {})
    assert verdict(hidden, empty, empty) == "Nothing to compare until the round is revealed."


@pytest.mark.parametrize(
    ("rank", "agreed", "text", "moved"),
    [
        (1, 3, "up 2 places", 2),
        (2, 1, "down 1 place", -1),
        (2, 2, "no change", 0),
        (None, 1, "–", None),
        (1, None, "–", None),
    ],
)
def test_the_change_against_the_agreed_ranking(
    rank: int | None, agreed: int | None, text: str, moved: int | None
) -> None:
    row = Row(1, "Option A", 50.0, rank, 40.0, agreed, 1.0, (50.0, 50.0))
    assert (row.change_text, row.moved) == (text, moved)


def test_names_and_exact_weights() -> None:
    assert names(["A"]) == "A" and names(["A", "B"]) == "A and B"
    assert names(["A", "B", "C"]) == "A, B and C"
    assert weight_text(60.0) == "60" and weight_text(37.25) == "37.25"
    assert float(weight_text(100 / 3)) == 100 / 3
    assert float(weight_text(1234567.5)) == 1234567.5
