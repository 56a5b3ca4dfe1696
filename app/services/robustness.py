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
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

    @property
    def weights_described(self) -> str:
        """The weight sampling in plain words."""
        if self.band is None:
            return "weights drawn at random from every possible weighting"
        if self.band == 0:
            return "weights fixed at the agreed weights"
        return f"each weight within ± {_points(self.band)} of the agreed weight"


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
    distance to an end with a takeover (None if the top never changes). ``sentence`` says it in
    plain English.
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
    sentence: str


@dataclass(frozen=True)
class Robustness:
    """Robustness of the ranking of one round, as the viewer may see it.

    ``ready`` is False (and ``note`` says why) when there is nothing to analyse yet: no
    options, no criteria or no scores; the figure lists are then empty.
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
    sensitivity: list[CriterionRobustness]
    sentences: list[str]
    most_sensitive: str | None  # a sentence naming the most sensitive criterion, if any
    weighted_sum_top: list[str]
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
    base = {
        "decision_id": decision.id,
        "round_number": m.round.number,
        "method": m.method,
        "settings": settings,
        "criteria": [(c.id, c.name, w) for c, w in zip(m.criteria, m.weights, strict=True)],
    }
    ev, tensor = m.evaluation, m.score_tensor
    note = None
    if not m.options or not m.criteria:
        note = "Robustness needs at least one active option and one criterion."
    elif ev is None or tensor is None or bool(np.isnan(ev.totals).all()):
        note = "Robustness appears once analysts have scored this round."
    if note is not None or ev is None or tensor is None:
        return Robustness(
            **base,  # type: ignore[arg-type]
            ready=False,
            note=note,
            options=[],
            ranks=0,
            sensitivity=[],
            sentences=[],
            most_sensitive=None,
            weighted_sum_top=[],
            topsis_top=[],
            topsis_agrees=None,
            topsis_excluded=[],
        )

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
                option_id=o.id,
                title=o.title,
                rank=ev.ranks[i],
                total=_opt(ev.totals[i]),
                first=float(smaa.rank_acceptability[i, 0]),
                acceptability=[float(x) for x in smaa.rank_acceptability[i]],
                confidence=_opt(smaa.confidence[i]),
                central_weights=None
                if np.isnan(central).any()
                else {c.id: float(w) for c, w in zip(criteria, central, strict=True)},
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
                criterion_id=c.id,
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
                sentence=sensitivity_sentence(s, titles, c.name),
            )
        )

    tops = list(ev.top)
    ws_top = [titles[i] for i in tops]
    complete = ~np.isnan(closeness)
    topsis_top = [titles[i] for i in analysis.top_options(closeness)] if complete.any() else []
    agrees = analysis.methods_agree(ev.totals, closeness) if complete.any() else None
    sentences = []
    if len(tops) > 1:
        sentences.append(f"{_join(ws_top)} are tied for first at the agreed weights.")
    sentences += [r.sentence for r in sens_rows]
    return Robustness(
        **base,  # type: ignore[arg-type]
        ready=True,
        note=None,
        options=rows,
        ranks=len(options),
        sensitivity=sens_rows,
        sentences=sentences,
        most_sensitive=_most_sensitive(sens_rows),
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


# --------------------------------------------------------------------------------------------
# Plain-English wording
# --------------------------------------------------------------------------------------------


def percent(weight: float) -> str:
    """A weight (0-1) as a percentage: ``0.2 -> "20 %"``, ``0.3062 -> "30.6 %"``."""
    value = round(weight * 100.0, 1)
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text} %"


def _points(value: float) -> str:
    text = f"{round(value, 1):.1f}".removesuffix(".0")
    return f"{text} percentage point" + ("" if text == "1" else "s")


def _join(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def sensitivity_sentence(
    s: analysis.CriterionSensitivity, titles: list[str], criterion: str
) -> str:
    """One criterion's sensitivity in plain English, e.g.

    "Joint drills stays first unless the weight of Escalation risk rises from 20 % to above
    31 %, when Intelligence sharing overtakes it."
    """
    if s.top_option is None:
        return f"No option has a total yet, so the weight of {criterion} cannot change the top."
    top = titles[s.top_option]
    if s.tied_at_top:
        others = [titles[i] for i in s.top_options if i != s.top_option]
        top = f"{top} (tied for first with {_join(others)})"
    now = percent(s.weight)
    # Each clause: (wording when it comes first, wording when it follows another, who).
    clauses: list[tuple[str, str, str]] = []
    if s.above_option is not None:
        if s.upper >= 1.0:
            first, then = f"rises from {now} to 100 %", "rises to 100 %"
        elif percent(s.upper) == now:
            first, then = f"rises at all from {now}", "rises at all"
        else:
            first, then = (
                f"rises from {now} to above {percent(s.upper)}",
                f"rises above {percent(s.upper)}",
            )
        clauses.append((first, then, titles[s.above_option]))
    if s.below_option is not None:
        if s.lower <= 0.0:
            first, then = f"falls from {now} to 0 %", "falls to 0 %"
        elif percent(s.lower) == now:
            first, then = f"falls at all from {now}", "falls at all"
        else:
            first, then = (
                f"falls from {now} to below {percent(s.lower)}",
                f"falls below {percent(s.lower)}",
            )
        clauses.append((first, then, titles[s.below_option]))
    if not clauses:
        return f"{top} stays first whatever the weight of {criterion} (now {now})."
    (move, _, who), *rest = clauses
    sentence = f"{top} stays first unless the weight of {criterion} {move}, when {who} overtakes it"
    for _, move, who in rest:
        sentence += f", or {move}, when {who} overtakes it"
    return sentence + "."


def _most_sensitive(rows: list[CriterionRobustness]) -> str | None:
    fragile = [r for r in rows if r.smallest_change is not None]
    if not fragile:
        return "No single weight change alters which option comes first."
    r = min(fragile, key=lambda r: r.smallest_change or 0.0)
    change = (r.smallest_change or 0.0) * 100.0
    if round(change, 1) == 0:
        return f"The top is on a knife-edge: any change to the weight of {r.name} alters it."
    return (
        f"The top option is most sensitive to the weight of {r.name}: a change of "
        f"{_points(change)} alters which option comes first."
    )


def _opt(value: float) -> float | None:
    return None if value is None or np.isnan(value) else float(value)


# --------------------------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def as_json(r: Robustness) -> dict[str, Any]:
    """The figures as JSON-ready data (probabilities and weights 0-1, rounded to 6 places)."""
    s = r.settings
    return {
        "decision_id": r.decision_id,
        "round": r.round_number,
        "group_visible": True,
        "method": r.method,
        "ready": r.ready,
        "note": r.note,
        "settings": {
            "samples": s.samples,
            "band_percentage_points": s.band,
            "weights": "uniform" if s.band is None else "band",
            "seed": s.seed,
            "described": s.weights_described,
        },
        "criteria": [
            {"id": cid, "name": name, "weight_normalised": _num(w)} for cid, name, w in r.criteria
        ],
        "options": [
            {
                "id": o.option_id,
                "title": o.title,
                "rank": o.rank,
                "total": _num(o.total),
                "first_rank_probability": _num(o.first),
                "rank_acceptability": [_num(p) for p in o.acceptability],
                "confidence": _num(o.confidence),
                "central_weights": None
                if o.central_weights is None
                else {str(cid): _num(w) for cid, w in o.central_weights.items()},
                "topsis_closeness": _num(o.topsis),
            }
            for o in r.options
        ],
        "sensitivity": [
            {
                "criterion_id": c.criterion_id,
                "criterion": c.name,
                "weight": _num(c.weight),
                "top_option_id": c.top_option_id,
                "tied_at_top": c.tied_at_top,
                "lower": _num(c.lower),
                "upper": _num(c.upper),
                "below_option_id": c.below_option_id,
                "below_option": c.below_option,
                "above_option_id": c.above_option_id,
                "above_option": c.above_option,
                "smallest_change": _num(c.smallest_change),
                "sentence": c.sentence,
            }
            for c in r.sensitivity
        ],
        "sentences": r.sentences,
        "most_sensitive": r.most_sensitive,
        "methods": {
            "weighted_sum_top": r.weighted_sum_top,
            "topsis_top": r.topsis_top,
            "agree": r.topsis_agrees,
            "topsis_excluded": r.topsis_excluded,
        },
    }
