"""How robust the ranking is: SMAA-2 rank acceptability, exact weight sensitivity, TOPSIS.

One use case for the decision page's robustness panel, the JSON API and memos. It reads the
matrix through :func:`app.services.matrix.build_matrix`, so the visibility rule lives in one
place: in blind mode nobody sees robustness figures of a round before it is revealed
(:func:`compute` returns None).

Settings are chosen per request (the facilitator's form puts them in the page's query string,
so a view of the panel can be bookmarked and shared), and only the values the form offers are
accepted, so every figure a member can ask for is one of a few cached runs:

* ``samples``: number of Monte Carlo samples, one of :data:`SAMPLE_CHOICES` (default 10,000);
* ``band``: the weight model. A number ``b`` of percentage points from :data:`BAND_CHOICES`
  draws weightings uniformly among those with each weight within +/- ``b`` points of the agreed
  weight (default +/- 5; 0 keeps the agreed weights); ``any`` draws them uniformly from every
  possible weighting, the classic SMAA "no weight information" case;
* ``scores``: the score model (:data:`SCORE_MODEL_CHOICES`): ``panel`` (default) resamples the
  panel of analysts with replacement and combines each cell as the decision does (mean or
  median), ``analyst`` takes one analyst's whole score set, ``cell`` one analyst per cell;
* the seed is fixed (:data:`SEED`), so the same data and settings always give the same figures.

The decision's missing-score policy (``Decision.missing_policy``) is not a per-request
setting: the totals, ranks, every SMAA sample and the weight sensitivity follow it, and the
reproducibility stamp names it.

The figures are numbers only; their sentences, the panel's chart and the JSON shape are the
web layer's (:mod:`app.web.presenters.robustness`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

import numpy as np
from sqlmodel import Session

from app.config import VERSION
from app.db.models import Decision, Role
from app.domain import analysis
from app.domain.errors import ServiceError
from app.services.matrix import Matrix, Method, build_matrix

SAMPLE_CHOICES = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
SAMPLES_DEFAULT = 10_000
BAND_CHOICES = (0.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0)
BAND_DEFAULT: float | None = 5.0
BAND_ANY = "any"
SCORE_MODEL_CHOICES: tuple[analysis.ScoreModel, ...] = analysis.SCORE_MODELS
SCORE_MODEL_DEFAULT: analysis.ScoreModel = "panel"
SEED = 0
# A confidence factor resting on fewer first-rank samples than this is withheld on the page.
MIN_CONFIDENCE_SAMPLES = 100


@dataclass(frozen=True)
class Settings:
    """Sampling settings: ``band`` in percentage points, None for the whole simplex."""

    samples: int = SAMPLES_DEFAULT
    band: float | None = BAND_DEFAULT
    seed: int = SEED
    score_model: analysis.ScoreModel = SCORE_MODEL_DEFAULT
    # What the page's form offers (the only values parse_settings accepts).
    sample_choices: ClassVar[tuple[int, ...]] = SAMPLE_CHOICES
    band_choices: ClassVar[tuple[float, ...]] = BAND_CHOICES


def _listed(values: tuple[object, ...]) -> str:
    words = [f"{v:,}" if isinstance(v, int) else f"{v:g}" for v in values]
    return ", ".join(words[:-1]) + " or " + words[-1]


def parse_settings(args: Mapping[str, str]) -> Settings:
    """Read ``samples``, ``band`` and ``scores`` from query parameters; a value the form does
    not offer raises a 400 error. Missing or empty parameters take the defaults."""
    raw_samples = (args.get("samples") or "").strip().replace(",", "").replace("_", "")
    raw_band = (args.get("band") or "").strip().rstrip("%").strip().lower()
    raw_scores = (args.get("scores") or "").strip().lower()
    samples = SAMPLES_DEFAULT
    if raw_samples:
        try:
            samples = int(raw_samples)
        except ValueError:
            samples = -1
        if samples not in SAMPLE_CHOICES:
            raise ServiceError(
                f"The number of samples must be one of {_listed(SAMPLE_CHOICES)}; "
                f"got {raw_samples[:20]!r}."
            )
    band = BAND_DEFAULT
    if raw_band == BAND_ANY:
        band = None
    elif raw_band:
        try:
            band = float(raw_band)
        except ValueError:
            band = math.nan
        if band not in BAND_CHOICES:
            raise ServiceError(
                f"The weight band must be one of {_listed(BAND_CHOICES)} percentage points, "
                f"or {BAND_ANY!r} for any weighting; got {raw_band[:20]!r}."
            )
    score_model = SCORE_MODEL_DEFAULT
    if raw_scores:
        if raw_scores not in SCORE_MODEL_CHOICES:
            raise ServiceError(
                f"The score model must be one of {', '.join(SCORE_MODEL_CHOICES)}; "
                f"got {raw_scores[:20]!r}."
            )
        score_model = next(m for m in SCORE_MODEL_CHOICES if m == raw_scores)
    return Settings(samples=samples, band=band, score_model=score_model)


@dataclass(frozen=True)
class OptionRobustness:
    """One option's figures. Probabilities are shares of samples in [0, 1].

    * ``rank``/``total``: the weighted-sum rank and total (0-100) at the agreed weights.
    * ``first``: probability of ranking first (SMAA-2 first-rank acceptability).
    * ``acceptability``: probability of each rank, ``acceptability[0]`` = rank 1;
      ``acceptability_se``: the Monte-Carlo standard error of each.
    * ``confidence``: probability of ranking first under its central weights; None if the
      option never ranks first. ``confidence_se`` is its standard error and
      ``first_samples`` the number of samples in which the option ranks first, the samples its
      central weights (and so its confidence factor) rest on.
    * ``central_weights``: criterion id -> mean weight (0-1) of the samples in which it ranks
      first; None if it never does.
    * ``topsis``: TOPSIS closeness (0-1); None if the option has a missing cell.
    """

    @property
    def first_se(self) -> float:
        return self.acceptability_se[0] if self.acceptability_se else 0.0

    @property
    def confidence_shown(self) -> bool:
        """Whether the confidence factor rests on enough first-rank samples to be shown."""
        return self.confidence is not None and self.first_samples >= MIN_CONFIDENCE_SAMPLES

    option_id: int
    title: str
    rank: int | None
    total: float | None
    first: float
    acceptability: list[float]
    acceptability_se: list[float]
    confidence: float | None
    confidence_se: float | None
    first_samples: int
    central_weights: dict[int, float] | None
    topsis: float | None


@dataclass(frozen=True)
class CriterionRobustness:
    """One criterion's exact sensitivity, with names.

    The top option (``top_option_id``) stays first while the criterion's weight stays in
    ``[lower, upper]`` (the other weights rescaled in proportion; all weights 0-1).
    ``below_option_id``/``above_option_id`` take over just below ``lower`` / just above
    ``upper`` (None when nothing takes over at that end). ``smallest_change`` is the smaller
    distance to an end with a takeover (None if the top never changes). ``sensitivity`` is the
    analysis's own result, whose option numbers index :attr:`Robustness.titles`.
    """

    criterion_id: int
    name: str
    weight: float
    top_option_id: int | None
    tied_at_top: bool
    lower: float
    upper: float
    below_option_id: int | None
    below_option: str | None
    above_option_id: int | None
    above_option: str | None
    smallest_change: float | None
    sensitivity: analysis.CriterionSensitivity


@dataclass(frozen=True)
class Robustness:
    """Robustness of the ranking of one round, as the viewer may see it.

    ``ready`` is False (and ``note`` says why) when there is nothing to analyse yet: no
    options, no criteria or no scores; the figure lists are then empty. ``titles`` are the
    options' titles in the matrix's order, the order the analysis numbers options in.
    """

    decision_id: int
    round_number: int
    method: Method
    settings: Settings
    ready: bool
    note: str | None
    criteria: list[tuple[int, str, float]]  # (id, name, normalised weight)
    options: list[OptionRobustness]  # in weighted-sum rank order, unranked last
    ranks: int  # number of rank positions (= number of options)
    titles: list[str]
    sensitivity: list[CriterionRobustness]
    weighted_sum_top: list[str]  # more than one when options tie for first
    topsis_top: list[str]
    # Whether TOPSIS puts first the option(s) the weighted sum puts first among the options
    # TOPSIS can rank (like with like); None when TOPSIS cannot rank any option.
    topsis_agrees: bool | None
    topsis_excluded: list[str]  # options TOPSIS left out for missing cells
    # The weighted sum's first among the options TOPSIS ranks, and its leaders TOPSIS left out.
    weighted_sum_top_compared: list[str] = field(default_factory=list)
    topsis_leader_excluded: list[str] = field(default_factory=list)
    app_version: str = VERSION
    # The decision's missing-score policy, and what it says of each option
    # (:func:`app.domain.analysis.missing_report`; None when not ready).
    missing_policy: str = analysis.MissingPolicy.SKIP.value
    missing: dict[str, Any] | None = None

    @property
    def stamp(self) -> dict[str, object]:
        """What it takes to reproduce the figures."""
        s = self.settings
        return {
            "aggregation": self.method,
            "missing_policy": self.missing_policy,
            "weight_model": "simplex" if s.band is None else "band",
            "band_percentage_points": s.band,
            "score_model": s.score_model,
            "samples": s.samples,
            "seed": s.seed,
            "app_version": self.app_version,
        }

    @property
    def methods(self) -> dict[str, object]:
        """The weighted sum and TOPSIS compared, by option titles."""
        return {
            "weighted_sum_top": self.weighted_sum_top,
            "topsis_top": self.topsis_top,
            "agree": self.topsis_agrees,
            "topsis_excluded": self.topsis_excluded,
            "weighted_sum_top_compared": self.weighted_sum_top_compared,
            "topsis_leader_excluded": self.topsis_leader_excluded,
        }

    @property
    def by_first(self) -> list[OptionRobustness]:
        """Options by probability of ranking first, highest first."""
        return sorted(self.options, key=lambda o: -o.first)


def compute(
    *,
    session: Session,
    decision: Decision,
    viewer_id: int,
    role: Role,
    samples: int | None = None,
    band: float | None | Literal["default"] = "default",
    seed: int | None = None,
    round_number: int | None = None,
    score_model: analysis.ScoreModel | None = None,
    settings: Settings | None = None,
) -> Robustness | None:
    """Robustness figures of a round (the current one by default); None when not visible.

    Either ``settings`` (from :func:`parse_settings`) or the separate values: ``band`` in
    percentage points (None: the whole simplex; left out: the default band). Raises
    :class:`app.domain.errors.NotFound` for a round that does not exist.
    """
    if settings is None:
        settings = Settings(
            samples=SAMPLES_DEFAULT if samples is None else int(samples),
            band=BAND_DEFAULT if band == "default" else None if band is None else float(band),
            seed=SEED if seed is None else int(seed),
            score_model=SCORE_MODEL_DEFAULT if score_model is None else score_model,
        )
    m = build_matrix(
        session=session,
        decision=decision,
        viewer_id=viewer_id,
        role=role,
        round_number=round_number,
    )
    if not m.group_visible:
        return None
    not_ready = Robustness(
        decision_id=_id(decision.id),
        round_number=m.round.number,
        method=m.method,
        settings=settings,
        ready=False,
        note=None,
        criteria=[(_id(c.id), c.name, w) for c, w in zip(m.criteria, m.weights, strict=True)],
        options=[],
        ranks=0,
        titles=[],
        sensitivity=[],
        weighted_sum_top=[],
        topsis_top=[],
        topsis_agrees=None,
        topsis_excluded=[],
        weighted_sum_top_compared=[],
        topsis_leader_excluded=[],
        missing_policy=analysis.MissingPolicy(m.decision.missing_policy).value,
    )
    ev, tensor = policy_evaluation(m), m.score_tensor
    if not m.options or not m.criteria:
        return replace(
            not_ready, note="Robustness needs at least one active option and one criterion."
        )
    if ev is None or tensor is None or bool(np.isnan(ev.totals).all()):
        return replace(not_ready, note="Robustness appears once analysts have scored this round.")

    options, criteria = m.options, m.criteria
    titles = [o.title for o in options]
    directions = [c.direction for c in criteria]
    weights = [float(c.weight) for c in criteria]
    smaa = _run_smaa(tensor, weights, directions, m.scale, settings, m.method, ev.missing)
    closeness = analysis.topsis(ev.stats.value, [c.weight for c in criteria], directions)

    rows = []
    for i, o in enumerate(options):
        central = smaa.central_weights[i]
        rows.append(
            OptionRobustness(
                option_id=_id(o.id),
                title=o.title,
                rank=ev.ranks[i],
                total=_opt(ev.totals[i]),
                first=float(smaa.rank_acceptability[i, 0]),
                acceptability=[float(x) for x in smaa.rank_acceptability[i]],
                acceptability_se=[float(x) for x in smaa.rank_acceptability_se[i]],
                confidence=_opt(smaa.confidence[i]),
                confidence_se=_opt(smaa.confidence_se[i]),
                first_samples=int(smaa.first_samples[i]),
                central_weights=None
                if np.isnan(central).any()
                else {_id(c.id): float(w) for c, w in zip(criteria, central, strict=True)},
                topsis=_opt(closeness[i]),
            )
        )
    position = {o.id: k for k, o in enumerate(options)}
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, position[r.option_id]))

    sens_rows = []
    counted = analysis.policy_utilities(ev.utilities, ev.weights, ev.missing)
    for s in analysis.sensitivity(counted, ev.weights):
        c = criteria[s.criterion]
        sens_rows.append(
            CriterionRobustness(
                criterion_id=_id(c.id),
                name=c.name,
                weight=s.weight,
                top_option_id=None if s.top_option is None else options[s.top_option].id,
                tied_at_top=s.tied_at_top,
                lower=s.lower,
                upper=s.upper,
                below_option_id=None if s.below_option is None else options[s.below_option].id,
                below_option=None if s.below_option is None else titles[s.below_option],
                above_option_id=None if s.above_option is None else options[s.above_option].id,
                above_option=None if s.above_option is None else titles[s.above_option],
                smallest_change=s.smallest_change,
                sensitivity=s,
            )
        )

    compared = analysis.compare_methods(ev.totals, closeness)
    return replace(
        not_ready,
        ready=True,
        note=None,
        options=rows,
        ranks=len(options),
        titles=titles,
        sensitivity=sens_rows,
        weighted_sum_top=[titles[i] for i in compared.weighted_sum_top],
        topsis_top=[titles[i] for i in compared.topsis_top],
        topsis_agrees=compared.agree,
        topsis_excluded=[titles[i] for i in compared.excluded],
        weighted_sum_top_compared=[titles[i] for i in compared.weighted_sum_top_compared],
        topsis_leader_excluded=[titles[i] for i in compared.leaders_excluded],
        missing=analysis.missing_report(
            ev, [_id(o.id) for o in options], titles, [c.name for c in criteria]
        ),
    )


def policy_evaluation(m: Matrix) -> analysis.Evaluation | None:
    """The matrix's round evaluated under its decision's missing-score policy (as it stood, in
    an "as of" matrix); None when its group results are hidden or there is nothing to
    evaluate."""
    if not m.group_visible or m.score_tensor is None or not m.options or not m.criteria:
        return None
    return analysis.evaluate(
        m.score_tensor,
        [float(c.weight) for c in m.criteria],
        [c.direction for c in m.criteria],
        m.scale,
        m.method,
        missing=m.decision.missing_policy,
    )


# The same data and settings always give the same figures (fixed seed), so recent results are
# kept per process: a page view then costs one SMAA run per change, not one per visit.
_SMAA_CACHE: OrderedDict[tuple[object, ...], analysis.SmaaResult] = OrderedDict()
_SMAA_CACHE_SIZE = 32
_SMAA_LOCK = threading.Lock()


def _run_smaa(
    tensor: np.ndarray,
    weights: list[float],
    directions: list[str],
    scale: analysis.Scale,
    settings: Settings,
    method: Method,
    missing: analysis.MissingPolicy = analysis.MissingPolicy.SKIP,
) -> analysis.SmaaResult:
    key = (
        tensor.shape,
        hashlib.sha256(np.ascontiguousarray(tensor, dtype=float).tobytes()).hexdigest(),
        tuple(weights),
        tuple(directions),
        (scale.min, scale.max),
        settings,
        method,
        missing.value,
    )
    with _SMAA_LOCK:
        hit = _SMAA_CACHE.get(key)
        if hit is not None:
            _SMAA_CACHE.move_to_end(key)
            return hit
    result = analysis.run_smaa(
        tensor,
        weights,
        directions,
        scale,
        samples=settings.samples,
        seed=settings.seed,
        band=None if settings.band is None else settings.band / 100.0,
        score_model=settings.score_model,
        method=method,
        missing=missing,
    )
    with _SMAA_LOCK:
        _SMAA_CACHE[key] = result
        while len(_SMAA_CACHE) > _SMAA_CACHE_SIZE:
            _SMAA_CACHE.popitem(last=False)
    return result


def _id(value: int | None) -> int:
    assert value is not None  # stored rows
    return value


def _opt(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)
