"""The analytic Gaussian sigma against an independent scipy solution of Balle & Wang's condition."""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from respai.exceptions import ParameterValueError
from respai.privacy.mechanisms import (
    analytic_gaussian_sigma,
    classical_gaussian_sigma,
    gaussian_delta,
    gaussian_epsilon,
)

EPSILONS = np.geomspace(0.05, 20.0, 9)
DELTAS = [1e-10, 1e-8, 1e-6, 1e-4, 1e-2]


def independent_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """Solve Balle & Wang (2018) Thm 8 with scipy.stats.norm in linear space, by bisection."""

    def condition(sigma):
        a, b = sensitivity / (2 * sigma), epsilon * sigma / sensitivity
        return stats.norm.cdf(a - b) - math.exp(epsilon) * stats.norm.cdf(-a - b) - delta

    hi = sensitivity
    while condition(hi) > 0:
        hi *= 2
    result = optimize.root_scalar(
        condition, bracket=(hi / 2**60, hi), method="bisect", xtol=1e-300, rtol=1e-15
    )
    return result.root


@pytest.mark.parametrize("epsilon", EPSILONS)
@pytest.mark.parametrize("delta", DELTAS)
def test_analytic_sigma_matches_independent_solution(epsilon, delta):
    expected = independent_sigma(epsilon, delta, 1.0)
    assert analytic_gaussian_sigma(epsilon, delta) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("sensitivity", [0.1, 1.0, 37.0])
def test_analytic_sigma_is_linear_in_sensitivity(sensitivity):
    expected = independent_sigma(0.8, 1e-6, sensitivity)
    assert analytic_gaussian_sigma(0.8, 1e-6, sensitivity) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("epsilon, delta", [(0.05, 1e-10), (1.0, 1e-5), (20.0, 1e-2)])
def test_analytic_sigma_is_the_smallest_private_sigma(epsilon, delta):
    sigma = analytic_gaussian_sigma(epsilon, delta)
    assert gaussian_delta(sigma, epsilon) == pytest.approx(delta, rel=1e-8)
    assert gaussian_delta(sigma * (1 - 1e-6), epsilon) > delta


def test_analytic_sigma_monotone_in_epsilon_and_delta():
    sigmas = [analytic_gaussian_sigma(e, 1e-5) for e in EPSILONS]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:], strict=False))
    sigmas = [analytic_gaussian_sigma(1.0, d) for d in DELTAS]
    assert all(a > b for a, b in zip(sigmas, sigmas[1:], strict=False))


@pytest.mark.parametrize("epsilon", [0.05, 0.3, 0.9])
def test_classical_sigma_formula_and_it_is_never_tighter(epsilon):
    delta = 1e-5
    expected = math.sqrt(2 * math.log(1.25 / delta)) / epsilon
    assert classical_gaussian_sigma(epsilon, delta) == pytest.approx(expected, rel=1e-12)
    assert classical_gaussian_sigma(epsilon, delta) > analytic_gaussian_sigma(epsilon, delta)
    # the classical sigma is private: its exact delta is below the target
    assert gaussian_delta(classical_gaussian_sigma(epsilon, delta), epsilon) <= delta


@pytest.mark.parametrize("epsilon", [1.0, 2.5])
def test_classical_sigma_refuses_epsilon_at_least_one(epsilon):
    with pytest.raises(
        ParameterValueError, match=r"`epsilon` must be < 1 .*Theorem A\.1.*analytic_gaussian_sigma"
    ):
        classical_gaussian_sigma(epsilon, 1e-5)


@pytest.mark.parametrize(
    "args, param",
    [
        ((0.0, 1e-5), "epsilon"),
        ((1.0, 0.0), "delta"),
        ((1.0, 1.0), "delta"),
        ((1.0, 1e-5, -1.0), "sensitivity"),
    ],
)
def test_sigma_bad_input(args, param):
    for function in (analytic_gaussian_sigma, classical_gaussian_sigma):
        with pytest.raises(ParameterValueError, match=f"`{param}`"):
            function(*args)


def mpmath_delta(sigma: float, epsilon: float, sensitivity: float) -> float:
    """Balle & Wang (2018) Thm 8 evaluated directly in 60-digit arithmetic (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(60):
        a = mpmath.mpf(sensitivity) / (2 * mpmath.mpf(sigma))
        b = mpmath.mpf(epsilon) * mpmath.mpf(sigma) / sensitivity
        return float(mpmath.ncdf(a - b) - mpmath.exp(epsilon) * mpmath.ncdf(-a - b))


@pytest.mark.parametrize("sensitivity", [1e-4, 1.0, 3000.0])
@pytest.mark.parametrize("epsilon", [1e-3, 0.1, 1.0, 2.0, 10.0, 50.0])
def test_gaussian_delta_matches_high_precision_far_from_the_calibrated_sigma(epsilon, sensitivity):
    # sigma from 1e-3 to 1e6 times the sensitivity: delta from about 1 down to underflow.
    for ratio in np.geomspace(1e-3, 1e6, 25):
        sigma = ratio * sensitivity
        expected = mpmath_delta(sigma, epsilon, sensitivity)
        got = gaussian_delta(sigma, epsilon, sensitivity)
        if expected > 1e-300:
            assert got == pytest.approx(expected, rel=1e-9), (sigma, epsilon, sensitivity)
        else:
            assert 0.0 <= got <= 1e-290, (sigma, epsilon, sensitivity)


@pytest.mark.parametrize("sensitivity", [1e-3, 1.0, 3000.0])
def test_calibrated_sigma_and_epsilon_are_on_the_private_side(sensitivity):
    # Brent's root is within 1e-13 of the true one but may fall on either side of it.
    for epsilon in np.geomspace(1e-3, 50.0, 15):
        for delta in [1e-12, 1e-8, 1e-5, 1e-2, 0.3]:
            sigma = analytic_gaussian_sigma(epsilon, delta, sensitivity)
            assert gaussian_delta(sigma, epsilon, sensitivity) <= delta, (epsilon, delta)
            assert gaussian_delta(sigma * (1 - 1e-9), epsilon, sensitivity) > delta
            spent = gaussian_epsilon(sigma, delta, sensitivity)
            assert gaussian_delta(sigma, spent, sensitivity) <= delta, (epsilon, delta)
            assert spent == pytest.approx(epsilon, rel=1e-9)
