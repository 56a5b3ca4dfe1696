"""Benchmark app.analysis: ``python bench/analysis.py [--samples N] [--repeats R]``.

Prints the median wall time of several runs for evaluate, sensitivity, SMAA (``run_smaa``:
weight and utility sampling + smaa) and TOPSIS on small / medium / large random problems
(options x criteria x analysts).
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
    sensitivity,
    topsis,
)

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
        median_ms(lambda: run_smaa(scores, weights, directions, SCALE, samples=samples), repeats),
        median_ms(lambda: topsis(ev.stats.value, weights, directions), repeats),
    ]


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


if __name__ == "__main__":
    main()
