"""Decision analysis core for Options Matrix: weighted-sum totals, sensitivity, SMAA-2, TOPSIS.

Pure Python + NumPy; no Flask, no database, no ``app`` imports beyond the domain's own
vocabulary (:class:`app.domain.vocabulary.MissingPolicy`). Import the names below
from this package (or from its public alias :mod:`app.analysis`); the modules are:

* :mod:`~app.domain.analysis.core`: scale, weights, cell statistics, utilities, totals,
  ranks and :func:`evaluate`;
* :mod:`~app.domain.analysis.weight_sensitivity`: :func:`sensitivity`, :func:`weights_at`;
* :mod:`~app.domain.analysis.acceptability`: SMAA-2 (:func:`smaa`) with standard errors;
* :mod:`~app.domain.analysis.sampling`: weight and score models (:func:`sample_weights`,
  :func:`sample_utilities`) and :func:`run_smaa`;
* :mod:`~app.domain.analysis.ideal_point`: :func:`topsis`, :func:`compare_methods` (the
  weighted sum's and TOPSIS's first options over the same options), :func:`methods_agree`;
* :mod:`~app.domain.analysis.group`: the group's own views (:func:`kendalls_w`,
  :func:`own_rankings`, :func:`ranking_agreement`, :func:`leave_one_out`,
  :func:`convergence`);
* :mod:`~app.domain.analysis.missing`: the missing-score policy's totals, total ranges,
  :func:`outranks_without_beating`, and the safe printing of coverage and ranges;
* :mod:`~app.domain.analysis.rounding`: rounding a threshold or an error the safe way before
  it is printed.

Vocabulary and shapes
---------------------
* An *analyst* scores each *option* against each *criterion* on a *scale* ``[min, max]``.
* ``scores``: float array of shape ``(analysts, options, criteria)``; ``NaN`` marks a cell
  the analyst left empty or marked N/A.
* ``directions``: one of ``"benefit"`` / ``"cost"`` per criterion (case-insensitive).
* ``weights``: raw non-negative *weights* per criterion; only their proportions matter
  (see :func:`normalise_weights`).
* A *utility* is a score mapped linearly onto ``[0, 1]`` with 1 always best
  (:func:`utilities`); a *total* is a weighted mean utility on ``[0, 100]`` (:func:`totals`);
  a *rank* is a competition rank with 1 = best (:func:`rank`).

Missing-score policy
--------------------
A missing cell (``NaN`` group value or utility: nobody scored it, or every analyst marked it
N/A) counts as the decision's *missing-score policy* says (:class:`MissingPolicy`, the
``missing`` argument of :func:`evaluate`, :func:`run_smaa` and :func:`smaa`):

* ``skip`` (the default): left out, the option's other weights rescaled among the criteria it
  has a value for. This fills the gap with the option's own weighted average elsewhere::

      total_a = 100 * sum_{j present} w_j * u_aj / sum_{j present} w_j

* ``midpoint``: counted at the scale's midpoint, utility 0.5, with its full weight;
* ``worst``: counted at the scale's worst end, utility 0, with its full weight::

      total_a = 100 * (sum_{j present} w_j * u_aj + f * sum_{j missing} w_j),  f = 0.5 or 0

Whatever the policy:

* ``completeness_a = (number of present criteria) / (number of criteria)``.
* ``weight_coverage_a = sum_{j present} w_j`` (normalised weights, so in ``[0, 1]``): how much
  of the decision's weight the total actually rests on.
* An option with no present cell - or whose present cells all carry zero weight
  (``weight_coverage == 0``) - has total ``NaN`` and rank ``None`` (unranked, listed last).
* The *range* of a total runs from every missing cell at the worst end of the scale to every
  missing cell at the best end, full weights: ``[100 * sum_{j present} w_j u_aj,
  that + 100 * (1 - weight_coverage_a)]``; it holds the total under every policy.
* :func:`outranks_without_beating` lists the pairs in which an incomplete option ranks above
  another it does not beat on the criteria both were scored on.

The same policy applies per sample in SMAA, and to weight sensitivity through
:func:`policy_utilities` (under skip the sensitivity's total is a linear-fractional function
of the varied weight). TOPSIS is the exception: it needs a complete row, so options with any
missing cell get closeness ``NaN`` and are left out of the normalisation and ideal points
(see :func:`topsis`).

Ties
----
* :func:`rank`: totals within ``tol`` (default ``1e-9`` total points) of each other are tied
  and share the best rank of the group (competition ranking "1, 1, 3").
  Precisely, ``rank_i = 1 + #{k : total_k > total_i + tol}``.
* :func:`smaa`: within each sample, options whose totals are within ``tol`` (chained in sorted
  order) form a tie group occupying ranks ``r .. r+g-1``; each member is credited ``1/g`` of
  each of those ranks. Options with no total in a sample form the last tie group. Rank
  acceptability rows and columns therefore each sum to exactly 1, and no option is favoured
  by its index.
* :func:`sensitivity`: if several options share the top, the lowest-index one is tracked and
  ``tied_at_top`` is set.
"""

from app.domain.analysis.acceptability import SmaaResult, smaa
from app.domain.analysis.core import (
    BENEFIT,
    COST,
    RANK_TOL,
    CellStats,
    Evaluation,
    Scale,
    cell_stats,
    evaluate,
    normalise_weights,
    rank,
    top_options,
    totals,
    utilities,
)
from app.domain.analysis.group import (
    Agreement,
    Convergence,
    LeaveOneOut,
    OwnRanking,
    convergence,
    kendalls_w,
    leave_one_out,
    midranks,
    own_rankings,
    ranking_agreement,
)
from app.domain.analysis.ideal_point import (
    MethodComparison,
    compare_methods,
    methods_agree,
    topsis,
)
from app.domain.analysis.missing import (
    coverage_text,
    fill_utility,
    missing_report,
    outranks_without_beating,
    policy_utilities,
    range_text,
    range_texts,
)
from app.domain.analysis.sampling import (
    SCORE_MODELS,
    ScoreModel,
    run_smaa,
    sample_utilities,
    sample_weights,
)
from app.domain.analysis.weight_sensitivity import CriterionSensitivity, sensitivity, weights_at
from app.domain.vocabulary import MissingPolicy

__all__ = [
    "BENEFIT",
    "COST",
    "RANK_TOL",
    "SCORE_MODELS",
    "Agreement",
    "CellStats",
    "Convergence",
    "CriterionSensitivity",
    "Evaluation",
    "LeaveOneOut",
    "MethodComparison",
    "MissingPolicy",
    "OwnRanking",
    "Scale",
    "ScoreModel",
    "SmaaResult",
    "cell_stats",
    "compare_methods",
    "convergence",
    "coverage_text",
    "evaluate",
    "fill_utility",
    "kendalls_w",
    "leave_one_out",
    "methods_agree",
    "midranks",
    "missing_report",
    "normalise_weights",
    "outranks_without_beating",
    "own_rankings",
    "policy_utilities",
    "range_text",
    "range_texts",
    "rank",
    "ranking_agreement",
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
]
