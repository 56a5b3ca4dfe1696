"""Cross-checks of app.domain.analysis against independent implementations.

Libraries (dev dependencies): pymcdm (``pymcdm.methods.WSM`` / ``TOPSIS``) and
scikit-criteria (``skcriteria.agg.simple.WeightedSumModel`` / ``skcriteria.agg.topsis.TOPSIS``).

Normalisation conventions -- read before changing a comparison:

* Our weighted sum uses *scale* utilities ``(v - scale.min) / span`` (cost: ``(scale.max - v) /
  span``), i.e. normalisation by the scale, not by the data. Library min-max normalisation uses
  the column's own min and max, so the two agree only when every column spans the whole scale.
  We therefore compare (a) on random matrices whose columns are forced to contain both scale
  ends (so min-max == scale utility), and (b) on arbitrary matrices by handing pymcdm our
  scale normalisation as an explicit custom normalisation function.
* pymcdm's cost ``min-max`` is ``(max - x)/(max - min)``; scikit-criteria turns cost criteria
  into benefit ones with ``NegateMinimize`` (-x) before ``MinMaxScaler``, which gives the same.
* Our totals are on 0-100, the libraries' scores on 0-1: compare ``totals / 100``.
* TOPSIS, all three with vector normalisation ``r_ij = x_ij / sqrt(sum_i x_ij^2)``: ours and
  scikit-criteria keep ``r`` and take the ideal as max (benefit) / min (cost); pymcdm's
  ``vector_normalization`` instead maps cost columns to ``1 - r`` and always takes the max as
  ideal. Both distances are invariant under that reflection (|(1-a)-(1-b)| = |a-b| times the
  same weight), so the closeness coefficients must be identical.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from pymcdm import normalizations as pymcdm_norm
from pymcdm.methods import TOPSIS as PymcdmTOPSIS
from pymcdm.methods import WSM as PymcdmWSM

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import skcriteria as skc
    from skcriteria.agg.simple import WeightedSumModel
    from skcriteria.agg.topsis import TOPSIS as SkcTOPSIS
    from skcriteria.preprocessing.invert_objectives import NegateMinimize
    from skcriteria.preprocessing.scalers import MinMaxScaler, VectorScaler

from app.domain.analysis import Scale, rank, topsis, totals, utilities

B, C = "benefit", "cost"
SEEDS = range(25)


def _random_problem(seed, spanning):
    """Random scores on a random scale; with ``spanning`` every column hits both scale ends."""
    rng = np.random.default_rng(seed)
    n_o, n_c = int(rng.integers(3, 9)), int(rng.integers(2, 7))
    lo = float(rng.choice([0, 1, -5]))
    scale = Scale(lo, lo + float(rng.choice([4, 10, 7.5])))
    x = rng.uniform(scale.min, scale.max, (n_o, n_c))
    if spanning:
        for j in range(n_c):
            i, k = rng.choice(n_o, 2, replace=False)
            x[i, j], x[k, j] = scale.min, scale.max
    dirs = [B if d else C for d in rng.random(n_c) < 0.6]
    w = rng.random(n_c) + 0.05
    return x, scale, dirs, w / w.sum()


@contextmanager
def _quiet():
    """Silence the libraries' advisory UserWarnings (pymcdm: "alternatives ... are dominant";
    scikit-criteria: "TOPSIS with minimisation objectives is not recommended"), which the
    project's ``filterwarnings = error`` would otherwise turn into failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _types(dirs):
    return np.array([1 if d == B else -1 for d in dirs])


def _sk_ranks(result):
    return [int(r) for r in result.rank_]


# ----------------------------------------------------------------------------- weighted sum


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_sum_matches_pymcdm_minmax_on_spanning_columns(seed):
    # Columns contain scale.min and scale.max -> column min-max == our scale utility.
    x, scale, dirs, w = _random_problem(seed, spanning=True)
    ours = totals(utilities(x, scale, dirs), w) / 100
    with _quiet():
        theirs = PymcdmWSM(pymcdm_norm.minmax_normalization)(x, w, _types(dirs))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_sum_matches_pymcdm_with_scale_normalisation(seed):
    # Arbitrary columns: pass our scale normalisation explicitly to pymcdm.
    x, scale, dirs, w = _random_problem(seed, spanning=False)

    def scale_norm(col, cost=False):
        return (scale.max - col) / scale.span if cost else (col - scale.min) / scale.span

    ours = totals(utilities(x, scale, dirs), w) / 100
    with _quiet():
        theirs = PymcdmWSM(scale_norm)(x, w, _types(dirs))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_sum_matches_scikit_criteria_on_spanning_columns(seed):
    # NegateMinimize -> MinMaxScaler(matrix) == our scale utility on spanning columns.
    x, scale, dirs, w = _random_problem(seed, spanning=True)
    ours = totals(utilities(x, scale, dirs), w)
    with _quiet():
        dm = skc.mkdm(x, [max if d == B else min for d in dirs], weights=w)
        dm = MinMaxScaler(target="matrix").transform(NegateMinimize().transform(dm))
        result = WeightedSumModel().evaluate(dm)
    np.testing.assert_allclose(ours / 100, result.e_.score, atol=1e-12)
    assert rank(ours) == _sk_ranks(result)


# ----------------------------------------------------------------------------- TOPSIS


def test_tzeng_huang_example_with_both_libraries():
    m = np.array([[5, 8, 4], [7, 6, 8], [8, 8, 6], [7, 4, 6]], dtype=float)
    w = np.array([0.3, 0.4, 0.3])
    expected = [0.5037, 0.6581, 0.7482, 0.3340]
    ours = topsis(m, w, [B, B, B])
    np.testing.assert_allclose(np.round(ours, 4), expected)
    with _quiet():
        pym = PymcdmTOPSIS(pymcdm_norm.vector_normalization)(m, w, np.ones(3))
        dm = VectorScaler(target="matrix").transform(skc.mkdm(m, [max] * 3, weights=w))
        skc_c = SkcTOPSIS().evaluate(dm).e_.similarity
    np.testing.assert_allclose(np.round(pym, 4), expected)
    np.testing.assert_allclose(np.round(skc_c, 4), expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_topsis_matches_pymcdm_vector_normalisation(seed):
    x, _, dirs, w = _random_problem(seed, spanning=False)
    x = x - x.min() + 1.0  # positive data, as TOPSIS with vector normalisation assumes
    ours = topsis(x, w, dirs)
    with _quiet():
        theirs = PymcdmTOPSIS(pymcdm_norm.vector_normalization)(x, w, _types(dirs))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_topsis_matches_scikit_criteria(seed):
    x, _, dirs, w = _random_problem(seed, spanning=False)
    x = x - x.min() + 1.0
    ours = topsis(x, w, dirs)
    with _quiet():
        dm = skc.mkdm(x, [max if d == B else min for d in dirs], weights=w)
        result = SkcTOPSIS().evaluate(VectorScaler(target="matrix").transform(dm))
    np.testing.assert_allclose(ours, result.e_.similarity, atol=1e-12)
    assert rank(ours) == _sk_ranks(result)
