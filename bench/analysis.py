"""Benchmark app.analysis: ``python bench/analysis.py [--samples N] [--repeats R]``.

Prints the median wall time of several runs for evaluate, sensitivity, SMAA (``run_smaa``
with the page's default models: weights within +/- 5 points, the panel resampled) and TOPSIS on small / medium / large random problems
(options x criteria x analysts), then compares ``smaa`` with the previous implementation
(kept below as :func:`previous_smaa`, for this comparison only) on the same samples in the
same run: the speed-up and the largest difference between their figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from app.analysis import (  # noqa: E402
    Scale,
    evaluate,
    run_smaa,
    sample_utilities,
    sample_weights,
    sensitivity,
    smaa,
    topsis,
)
from app.domain.analysis.acceptability import _normalise_rows, _tie_groups  # noqa: E402
from app.domain.analysis.core import RANK_TOL, _ratio_total  # noqa: E402

SIZES = {
    "small": (5, 7, 3),
    "medium": (15, 10, 6),
    "large": (30, 12, 10),
}
SCALE = Scale(0, 10)


def problem(
    n_options: int, n_criteria: int, n_analysts: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 11, (n_analysts, n_options, n_criteria)).astype(float)
    scores[rng.random(scores.shape) < 0.1] = np.nan
    directions = ["benefit" if k % 3 else "cost" for k in range(n_criteria)]
    weights = rng.integers(1, 10, n_criteria).astype(float)
    return scores, weights, directions


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def bench_size(dims: tuple[int, int, int], samples: int, repeats: int) -> list[float]:
    """Median milliseconds for evaluate, sensitivity, sampling + SMAA and TOPSIS."""
    scores, weights, directions = problem(*dims)
    ev = evaluate(scores, weights, directions, SCALE)
    return [
        median_ms(lambda: evaluate(scores, weights, directions, SCALE), repeats),
        median_ms(lambda: sensitivity(ev.utilities, ev.weights), repeats),
        median_ms(
            lambda: run_smaa(scores, weights, directions, SCALE, samples=samples, band=0.05),
            repeats,
        ),
        median_ms(lambda: topsis(ev.stats.value, weights, directions), repeats),
    ]


# --------------------------------------------------------------------------------------------
# The previous smaa (before the one-product confidence step), for the comparison only
# --------------------------------------------------------------------------------------------


def _previous_batch_totals(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    present = ~np.isnan(u)
    num = np.matmul(np.where(present, u, 0.0), w[:, :, None])[:, :, 0]
    den = np.matmul(present.astype(float), w[:, :, None])[:, :, 0]
    return _ratio_total(num, den)


def previous_smaa(
    u: np.ndarray, w: np.ndarray, tol: float = RANK_TOL, chunk_elements: int = 2_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rank acceptability, central weights and confidence as ``smaa`` computed them before."""
    w = _normalise_rows(w)
    n_s, n_opt, n_crit = u.shape
    chunk = max(1, chunk_elements // (n_opt * max(n_crit, n_opt)))
    width = n_opt + 1
    acc_diff = np.zeros(n_opt * width)
    first_mass = np.zeros(n_opt)
    first_wsum = np.zeros((n_opt, n_crit))
    for lo in range(0, n_s, chunk):
        uc, wc = u[lo : lo + chunk], w[lo : lo + chunk]
        tot = _previous_batch_totals(uc, wc)
        order, start, end = _tie_groups(tot, tol)
        share = 1.0 / (end - start + 1)
        base = order * width
        acc_diff += np.bincount((base + start).ravel(), share.ravel(), n_opt * width)
        acc_diff -= np.bincount((base + end + 1).ravel(), share.ravel(), n_opt * width)
        first = np.zeros(tot.shape)
        np.put_along_axis(first, order, np.where(start == 0, share, 0.0), axis=1)
        first_mass += first.sum(axis=0)
        first_wsum += first.T @ wc
    acceptability = np.cumsum(acc_diff.reshape(n_opt, width), axis=1)[:, :n_opt] / n_s
    acceptability = np.clip(acceptability, 0.0, 1.0)
    has_central = first_mass > 0
    central = np.full((n_opt, n_crit), np.nan)
    central[has_central] = first_wsum[has_central] / first_mass[has_central, None]
    confidence = np.full(n_opt, np.nan)
    idx = np.flatnonzero(has_central)
    if idx.size:
        wc_t = central[idx].T
        hits = np.zeros(idx.size)
        for lo in range(0, n_s, chunk):
            uc = u[lo : lo + chunk]
            present = ~np.isnan(uc)
            num = np.where(present, uc, 0.0) @ wc_t
            den = present.astype(float) @ wc_t
            tot = _ratio_total(num, den)
            key = np.where(np.isnan(tot), -np.inf, tot)
            best = key.max(axis=1, keepdims=True)
            at_top = key >= best - tol
            n_top = at_top.sum(axis=1)
            own = at_top[:, idx, np.arange(idx.size)]
            hits += np.where(own, 1.0 / np.maximum(n_top, 1), 0.0).sum(axis=0)
        confidence[idx] = hits / n_s
    return acceptability, central, confidence


def compare_smaa(samples: int, repeats: int) -> None:
    """``smaa`` against :func:`previous_smaa` on the large problem, interleaved runs."""
    scores, _, directions = problem(*SIZES["large"])
    rng = np.random.default_rng(0)
    ws = sample_weights(rng, samples, scores.shape[2])
    us = sample_utilities(rng, samples, scores, SCALE, directions, model="panel")
    now, before = [], []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        old = previous_smaa(us, ws)
        before.append(time.perf_counter() - start)
        start = time.perf_counter()
        new = smaa(us, ws)
        now.append(time.perf_counter() - start)
    before, now = before[1:], now[1:]  # the first run of each warms up
    diff = max(
        float(np.nanmax(np.abs(old[0] - new.rank_acceptability))),
        float(np.nanmax(np.abs(old[1] - new.central_weights))),
        float(np.nanmax(np.abs(old[2] - new.confidence))),
    )
    b, n = statistics.median(before) * 1000, statistics.median(now) * 1000
    dims = "x".join(str(d) for d in (samples, *SIZES["large"][:2]))
    print(f"smaa {dims}: previous {b:.1f} ms, now {n:.1f} ms, {b / n:.2f}x faster;")
    print(f"largest difference in any figure: {diff:.2e}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000, help="SMAA samples")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per cell")
    args = parser.parse_args(argv)

    print(f"numpy {np.__version__}; SMAA samples {args.samples}; median of {args.repeats} runs")
    header = f"{'size':<8}{'O x C x A':>12}{'evaluate':>12}{'sensitiv.':>12}"
    header += f"{'smaa':>12}{'topsis':>12}"
    print(header)
    print("-" * len(header))
    for name, dims in SIZES.items():
        cells = bench_size(dims, args.samples, args.repeats)
        n_o, n_c, n_a = dims
        row = f"{name:<8}{f'{n_o}x{n_c}x{n_a}':>12}"
        row += "".join(f"{c:>10.2f}ms" for c in cells)
        print(row)
    print()
    compare_smaa(args.samples, args.repeats)


if __name__ == "__main__":
    main()
