"""How robust the ranking is: SMAA-2 rank acceptability, exact weight sensitivity, TOPSIS.

One use case for the decision page's robustness panel, the JSON API and memos. It reads the
matrix through :func:`app.services.matrix.build_matrix`, so the visibility rule lives in one
place: in blind mode nobody sees robustness figures of a round before it is revealed
(:func:`compute` returns None).

Settings are chosen per request (the facilitator's form puts them in the page's query string,
so a view of the panel can be bookmarked and shared):

* ``samples``: number of Monte Carlo samples, 1,000-50,000 (default 10,000);
* ``band``: None (default) draws weights uniformly from every possible weighting, the classic
  SMAA "no weight information" case; a number ``b`` of percentage points (0-50) draws each
  weight within +/- ``b`` points of the agreed weight instead (0 keeps the agreed weights and
  leaves only the analysts' disagreement as uncertainty);
* the seed is fixed (:data:`SEED`), so the same data and settings always give the same figures.

Scores are sampled from the analysts' own scores for each cell
(:func:`app.domain.analysis.sample_utilities`, via :func:`app.domain.analysis.run_smaa`).

The figures are numbers only; their sentences, the panel's chart and the JSON shape are the
web layer's (:mod:`app.web.presenters.robustness`).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from sqlmodel import Session

from app.db.models import Decision, Role
from app.domain import analysis
from app.domain.errors import ServiceError
from app.services.matrix import Method, build_matrix

SAMPLES_DEFAULT = 10_000
SAMPLES_MIN = 1_000
SAMPLES_MAX = 50_000
BAND_MIN = 0.0
BAND_MAX = 50.0
SEED = 0


@dataclass(frozen=True)
class Settings:
    """Sampling settings: ``band`` in percentage points, None for uniform weights."""

    samples: int = SAMPLES_DEFAULT
    band: float | None = None
    seed: int = SEED


def parse_settings(args: Mapping[str, str]) -> Settings:
    """Read ``samples`` and ``band`` from query parameters; bad values raise a 400 error.

    Missing or empty parameters take the defaults (10,000 samples, uniform weights).
    """
    raw_samples = (args.get("samples") or "").strip().replace(",", "").replace("_", "")
    raw_band = (args.get("band") or "").strip().rstrip("%").strip()
    samples = SAMPLES_DEFAULT
    if raw_samples:
        try:
            samples = int(raw_samples)
        except ValueError:
            raise ServiceError(
                f"The sample count must be a whole number from {SAMPLES_MIN:,} "
                f"to {SAMPLES_MAX:,}; got {raw_samples[:20]!r}."
            ) from None
        if not SAMPLES_MIN <= samples <= SAMPLES_MAX:
            raise ServiceError(
                f"The sample count must be from {SAMPLES_MIN:,} to {SAMPLES_MAX:,}; "
                f"got {samples:,}."
            )
    band: float | None = None
    if raw_band:
        try:
            band = float(raw_band)
        except ValueError:
            raise ServiceError(
                f"The weight band must be a number of percentage points from {BAND_MIN:g} "
                f"to {BAND_MAX:g}, or empty for any weighting; got {raw_band[:20]!r}."
            ) from None
        if not (math.isfinite(band) and BAND_MIN <= band <= BAND_MAX):
            raise ServiceError(
                f"The weight band must be from {BAND_MIN:g} to {BAND_MAX:g} percentage points, "
                f"or empty for any weighting; got {raw_band[:20]}."
            )
    return Settings(samples=samples, band=band)


@dataclass(frozen=True)
class OptionRobustness:
    """One option's figures. Probabilities are shares of samples in [0, 1].

    * ``rank``/``total``: the weighted-sum rank and total (0-100) at the agreed weights.
    * ``first``: probability of ranking first (SMAA-2 first-rank acceptability).
    * ``acceptability``: probability of each rank, ``acceptability[0]`` = rank 1.
    * ``confidence``: probability of ranking first under its central weights; None if the
      option never ranks first.
    * ``central_weights``: criterion id -> mean weight (0-1) of the samples in which it ranks
      first; None if it never does.
    * ``topsis``: TOPSIS closeness (0-1); None if the option has a missing cell.
    """

    option_id: int
    title: str
    rank: int | None
    total: float | None
    first: float
    acceptability: list[float]
    confidence: float | None
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
    topsis_agrees: bool | None  # None when TOPSIS cannot rank (no option complete)
    topsis_excluded: list[str]  # options TOPSIS left out for missing cells

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
    band: float | None = None,
    seed: int | None = None,
    round_number: int | None = None,
) -> Robustness | None:
    """Robustness figures of a round (the current one by default); None when not visible.

    ``band`` is in percentage points (None: uniform weights). Raises
    :class:`app.domain.errors.NotFound` for a round that does not exist.
    """
    settings = Settings(
        samples=SAMPLES_DEFAULT if samples is None else int(samples),
        band=None if band is None else float(band),
        seed=SEED if seed is None else int(seed),
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
    )
    ev, tensor = m.evaluation, m.score_tensor
    if not m.options or not m.criteria:
        return replace(
            not_ready, note="Robustness needs at least one active option and one criterion."
        )
    if ev is None or tensor is None or bool(np.isnan(ev.totals).all()):
        return replace(not_ready, note="Robustness appears once analysts have scored this round.")

    options, criteria = m.options, m.criteria
    titles = [o.title for o in options]
    directions = [c.direction for c in criteria]
    smaa = _run_smaa(tensor, [float(c.weight) for c in criteria], directions, m.scale, settings)
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
                confidence=_opt(smaa.confidence[i]),
                central_weights=None
                if np.isnan(central).any()
                else {_id(c.id): float(w) for c, w in zip(criteria, central, strict=True)},
                topsis=_opt(closeness[i]),
            )
        )
    position = {o.id: k for k, o in enumerate(options)}
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0, position[r.option_id]))

    sens_rows = []
    for s in analysis.sensitivity(ev.utilities, ev.weights):
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

    tops = list(ev.top)
    ws_top = [titles[i] for i in tops]
    complete = ~np.isnan(closeness)
    topsis_top = [titles[i] for i in analysis.top_options(closeness)] if complete.any() else []
    agrees = analysis.methods_agree(ev.totals, closeness) if complete.any() else None
    return replace(
        not_ready,
        ready=True,
        note=None,
        options=rows,
        ranks=len(options),
        titles=titles,
        sensitivity=sens_rows,
        weighted_sum_top=ws_top,
        topsis_top=topsis_top,
        topsis_agrees=agrees,
        topsis_excluded=[titles[i] for i in np.flatnonzero(~complete)],
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
) -> analysis.SmaaResult:
    key = (
        tensor.shape,
        hashlib.sha256(np.ascontiguousarray(tensor, dtype=float).tobytes()).hexdigest(),
        tuple(weights),
        tuple(directions),
        (scale.min, scale.max),
        settings,
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
