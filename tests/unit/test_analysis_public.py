"""The public import paths of the decision maths: ``app.analysis`` and ``app.domain.analysis``."""

from __future__ import annotations

import inspect

import pytest

import app.analysis as public
import app.domain.analysis as domain


def test_public_alias_re_exports_every_name() -> None:
    assert public.__all__ == domain.__all__
    for name in domain.__all__:
        assert getattr(public, name) is getattr(domain, name), name


@pytest.mark.parametrize(
    "name",
    [
        "cell_stats",
        "evaluate",
        "methods_agree",
        "normalise_weights",
        "rank",
        "run_smaa",
        "sample_utilities",
        "sample_weights",
        "sensitivity",
        "smaa",
        "top_options",
        "topsis",
        "totals",
        "utilities",
        "weights_at",
    ],
)
def test_functions_are_functions_not_modules(name: str) -> None:
    # The package's modules are named apart from its functions, so neither shadows the other.
    assert inspect.isfunction(getattr(public, name))
    assert getattr(public, name).__name__ == name


def test_names_resolve_the_same_way_from_both_paths() -> None:
    from app.analysis import Scale, evaluate, sensitivity, smaa, topsis

    scale = Scale(1, 5)
    result = evaluate([[[5.0, 1.0], [1.0, 5.0]]], [3, 1], ["benefit", "cost"], scale)
    assert result.ranks == [1, 2]
    assert [s.criterion for s in sensitivity(result.utilities, [3, 1])] == [0, 1]
    assert smaa(result.utilities, [3, 1]).rank_acceptability[0, 0] == 1.0
    assert topsis([[5.0, 1.0], [1.0, 5.0]], [3, 1], ["benefit", "cost"])[0] == 1.0
