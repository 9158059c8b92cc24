"""Side-by-side timings of respai's mechanisms against the plain reference computation.

Prints one line per comparison: median time of each, and the ratio respai / reference.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
from scipy import optimize, stats

from respai.privacy.mechanisms import analytic_gaussian_sigma, gaussian_mechanism, laplace_mechanism


def median_seconds(function, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def scipy_bisection_sigma(epsilon: float, delta: float) -> float:
    def condition(sigma: float) -> float:
        a, b = 1 / (2 * sigma), epsilon * sigma
        return stats.norm.cdf(a - b) - math.exp(epsilon) * stats.norm.cdf(-a - b) - delta

    hi = 1.0
    while condition(hi) > 0:
        hi *= 2
    return optimize.bisect(condition, hi / 2**60, hi, xtol=1e-300, rtol=1e-15)


def main() -> None:
    values = np.zeros(1_000_000)
    rows = []
    ours = median_seconds(lambda: laplace_mechanism(values, 1.0, 1.0, rng=0))
    ref = median_seconds(lambda: np.random.default_rng(0).laplace(0.0, 1.0, values.shape) + values)
    rows.append(("laplace_mechanism, 1e6 values", ours, ref))
    ours = median_seconds(lambda: gaussian_mechanism(values, 1.0, 1.0, 1e-5, rng=0))
    ref = median_seconds(lambda: np.random.default_rng(0).normal(0.0, 4.0, values.shape) + values)
    rows.append(("gaussian_mechanism, 1e6 values", ours, ref))
    grid = [(e, d) for e in np.geomspace(0.05, 20, 10) for d in (1e-10, 1e-6, 1e-2)]
    ours = median_seconds(lambda: [analytic_gaussian_sigma(e, d) for e, d in grid], repeat=3)
    ref = median_seconds(lambda: [scipy_bisection_sigma(e, d) for e, d in grid], repeat=3)
    rows.append((f"analytic_gaussian_sigma, {len(grid)} (eps, delta)", ours, ref))
    worst = max(
        abs(analytic_gaussian_sigma(e, d) / scipy_bisection_sigma(e, d) - 1) for e, d in grid
    )
    print(f"{'comparison':45s} {'respai':>10s} {'reference':>10s} {'ratio':>7s}")
    for name, a, b in rows:
        print(f"{name:45s} {a * 1e3:8.2f}ms {b * 1e3:8.2f}ms {a / b:7.2f}")
    print(f"analytic sigma vs scipy bisection: max relative difference {worst:.1e}")


if __name__ == "__main__":
    main()
