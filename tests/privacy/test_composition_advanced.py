"""Advanced composition, the exact ε of a Gaussian mechanism, and k composed Gaussians.

References computed independently here: the advanced-composition formula by
hand, the Gaussian ε by solving Balle & Wang's condition with
``scipy.stats.norm`` in linear space, and the composition of k Gaussians as
one Gaussian with sensitivity √k (the concatenated answers).
"""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from respai.exceptions import ParameterValueError
from respai.privacy.accounting import PRVAccountant
from respai.privacy.composition import (
    COMPOSITION_METHODS,
    advanced_composition,
    gaussian_composition_epsilon,
    sequential_composition,
)
from respai.privacy.mechanisms import analytic_gaussian_sigma, gaussian_delta, gaussian_epsilon

# --- advanced composition ---------------------------------------------------------------


@pytest.mark.parametrize(
    "epsilon, delta, k, delta_prime",
    [(0.1, 0.0, 100, 1e-5), (0.5, 1e-7, 10, 1e-6), (0.01, 1e-9, 10_000, 1e-5), (2.0, 0.0, 1, 0.1)],
)
def test_advanced_composition_formula(epsilon, delta, k, delta_prime):
    eps, dlt = advanced_composition(epsilon, delta, k, delta_prime)
    # Dwork & Roth (2014), Theorem 3.20, written out
    want = math.sqrt(2 * k * math.log(1 / delta_prime)) * epsilon + k * epsilon * (
        math.exp(epsilon) - 1
    )
    assert eps == pytest.approx(want, rel=1e-12)
    assert dlt == pytest.approx(k * delta + delta_prime, rel=1e-12)


@pytest.mark.parametrize("target", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("k", [10, 1000])
def test_dwork_roth_corollary_3_21(target, k):
    # Corollary 3.21: per-mechanism eps_0 = eps / (2 sqrt(2k ln(1/delta'))) keeps the total <= eps
    delta_prime = 1e-6
    eps_0 = target / (2 * math.sqrt(2 * k * math.log(1 / delta_prime)))
    assert advanced_composition(eps_0, 0.0, k, delta_prime)[0] <= target


def test_advanced_beats_basic_only_for_many_small_steps():
    many = advanced_composition(0.01, 0.0, 10_000, 1e-6)[0]
    assert many < sequential_composition([0.01] * 10_000) / 5
    assert advanced_composition(1.0, 0.0, 1, 1e-6)[0] > 1.0  # one mechanism: worse than basic


@pytest.mark.parametrize(
    "args, match",
    [
        ((0.0, 0.0, 10, 1e-5), "`epsilon`"),
        ((0.1, -0.1, 10, 1e-5), "`delta`"),
        ((0.1, 1.0, 10, 1e-5), r"`delta` must be in \[0, 1\)"),
        ((0.1, 0.0, 0, 1e-5), "`k`"),
        ((0.1, 0.0, 10, 0.0), "`delta_prime`"),
        ((0.1, 0.2, 10, 1e-5), r"`k \* delta \+ delta_prime` must be < 1"),
    ],
)
def test_advanced_composition_bad_input(args, match):
    with pytest.raises(ParameterValueError, match=match):
        advanced_composition(*args)


def test_advanced_composition_k_must_be_an_integer():
    with pytest.raises(TypeError, match="`k`"):
        advanced_composition(0.1, 0.0, 2.5, 1e-5)


# --- the exact epsilon of one Gaussian mechanism -----------------------------------------


def independent_epsilon(sigma, delta, sensitivity=1.0):
    """Root in epsilon of Balle & Wang's condition, with scipy.stats.norm in linear space."""

    def condition(eps):
        a, b = sensitivity / (2 * sigma), eps * sigma / sensitivity
        return stats.norm.cdf(a - b) - math.exp(eps) * stats.norm.cdf(-a - b) - delta

    if condition(0.0) <= 0:
        return 0.0
    hi = 1.0
    while condition(hi) > 0:
        hi *= 2
    return optimize.brentq(condition, 0.0, hi, xtol=1e-14, rtol=1e-13)


@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.0, 30.0])
@pytest.mark.parametrize("delta", [1e-8, 1e-5, 1e-2])
def test_gaussian_epsilon_matches_independent_solution(sigma, delta):
    expected = independent_epsilon(sigma, delta)
    assert gaussian_epsilon(sigma, delta) == pytest.approx(expected, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("epsilon, delta", [(0.05, 1e-10), (0.5, 1e-5), (3.0, 1e-3), (20.0, 0.01)])
def test_gaussian_epsilon_inverts_the_calibration(epsilon, delta):
    sigma = analytic_gaussian_sigma(epsilon, delta, 2.5)
    assert gaussian_epsilon(sigma, delta, 2.5) == pytest.approx(epsilon, rel=1e-8)
    assert gaussian_delta(sigma, gaussian_epsilon(sigma, delta, 2.5), 2.5) == pytest.approx(
        delta, rel=1e-8
    )


def test_gaussian_epsilon_is_zero_when_delta_alone_suffices():
    sigma = 1.0
    delta_at_zero = 2 * stats.norm.cdf(0.5) - 1  # 0.383
    assert gaussian_epsilon(sigma, delta_at_zero + 1e-3) == 0.0
    assert gaussian_epsilon(sigma, delta_at_zero - 1e-3) > 0.0


def test_gaussian_epsilon_bad_input():
    with pytest.raises(ParameterValueError, match="`sigma`"):
        gaussian_epsilon(0.0, 1e-5)
    with pytest.raises(ParameterValueError, match="`delta`"):
        gaussian_epsilon(1.0, 0.0)


# --- k composed Gaussian mechanisms --------------------------------------------------------

STEPS = [1, 10, 100, 1000]


@pytest.mark.parametrize("k", STEPS)
def test_exact_composition_is_one_gaussian_with_sensitivity_sqrt_k(k):
    sigma, delta = 30.0, 1e-5
    exact = gaussian_composition_epsilon(sigma, k, delta, method="exact")
    assert exact == pytest.approx(independent_epsilon(sigma, delta, math.sqrt(k)), rel=1e-8)


@pytest.mark.parametrize("k", STEPS)
def test_every_method_is_an_upper_bound_and_prv_is_near_exact(k):
    sigma, delta = 30.0, 1e-5
    eps = {m: gaussian_composition_epsilon(sigma, k, delta, method=m) for m in COMPOSITION_METHODS}
    for method in ("basic", "advanced", "rdp", "prv"):
        assert eps[method] >= eps["exact"] * (1 - 1e-9), method
    # the PRV accountant's bounds bracket the exact value, within 2 eps_error of it
    acc = PRVAccountant()
    acc.step(noise_multiplier=sigma, sample_rate=1.0, steps=k)
    lower, _, upper = acc.get_epsilon_bounds(delta)
    assert lower <= eps["exact"] <= upper == eps["prv"]
    assert eps["prv"] - eps["exact"] < 2 * acc.eps_error
    if k == 1:
        assert eps["basic"] == pytest.approx(eps["exact"], rel=1e-12)
    if k >= 100:  # many steps: sqrt(k) growth wins
        assert eps["exact"] < eps["prv"] < eps["rdp"] < eps["advanced"] < eps["basic"]


def test_advanced_split_is_valid_and_near_optimal():
    sigma, k, delta = 100.0, 1000, 1e-5
    eps = gaussian_composition_epsilon(sigma, k, delta, method="advanced")
    # any split of delta gives a valid bound; the helper's is the smallest on a fine grid
    grid = []
    for fraction in np.linspace(0.01, 0.99, 99):
        delta_0 = (1 - fraction) * delta / k
        grid.append(
            advanced_composition(gaussian_epsilon(sigma, delta_0), delta_0, k, fraction * delta)[0]
        )
    assert eps <= min(grid) + 1e-6


def test_epsilon_grows_with_steps_and_falls_with_noise():
    for method in COMPOSITION_METHODS:
        by_steps = [gaussian_composition_epsilon(30.0, k, 1e-5, method=method) for k in STEPS]
        assert all(a < b for a, b in zip(by_steps, by_steps[1:], strict=False)), method
        by_noise = [
            gaussian_composition_epsilon(s, 100, 1e-5, method=method) for s in (10, 30, 100)
        ]
        assert all(a > b for a, b in zip(by_noise, by_noise[1:], strict=False)), method


def test_unknown_method_and_bad_input():
    with pytest.raises(ParameterValueError, match="`method` must be one of 'basic'"):
        gaussian_composition_epsilon(1.0, 10, 1e-5, method="moments")
    with pytest.raises(ParameterValueError, match="`noise_multiplier`"):
        gaussian_composition_epsilon(-1.0, 10, 1e-5, method="exact")
    with pytest.raises(ParameterValueError, match="`steps`"):
        gaussian_composition_epsilon(1.0, 0, 1e-5, method="exact")
