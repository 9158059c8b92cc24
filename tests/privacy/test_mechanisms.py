"""Statistical and reference tests of the noise mechanisms.

Statistical tests run with fixed seeds, so they are deterministic here; the
false-failure rate quoted for each is the probability that a *correct*
implementation fails for a random seed (the test's significance level).
"""

import math

import numpy as np
import pytest
from scipy import stats

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.mechanisms import (
    gaussian_mechanism,
    laplace_mechanism,
    laplace_scale,
    randomized_response,
    randomized_response_estimate,
    randomized_response_probability,
)

ALPHA = 1e-3  # significance level = false-failure rate of each statistical test


# --- Laplace ---------------------------------------------------------------


@pytest.mark.parametrize("sensitivity, epsilon", [(1.0, 1.0), (2.0, 0.1), (0.5, 10.0)])
def test_laplace_noise_follows_laplace_distribution(sensitivity, epsilon):
    # KS test against Lap(0, sensitivity/epsilon); false-failure rate 0.1%.
    noise = laplace_mechanism(np.zeros(20_000), sensitivity, epsilon, rng=1234)
    scale = sensitivity / epsilon
    assert stats.kstest(noise, stats.laplace(scale=scale).cdf).pvalue > ALPHA
    # ... and is distinguishable from a wrong scale (power check of the test itself).
    assert stats.kstest(noise, stats.laplace(scale=1.2 * scale).cdf).pvalue < ALPHA


def test_laplace_scalar_in_scalar_out_and_shape_preserved():
    assert isinstance(laplace_mechanism(3.0, 1.0, 1.0, rng=0), float)
    out = laplace_mechanism(np.ones((3, 4)), 1.0, 1.0, rng=0)
    assert out.shape == (3, 4)
    assert len(np.unique(out)) == 12, "each element needs its own noise draw"


def test_laplace_independent_noise_per_element():
    noisy = laplace_mechanism(np.zeros((5000, 2)), 1.0, 1.0, rng=7)
    # Pearson correlation of independent coordinates: |r| < 4/sqrt(n) fails w.p. ~6e-5.
    assert abs(np.corrcoef(noisy[:, 0], noisy[:, 1])[0, 1]) < 4 / math.sqrt(5000)


def test_laplace_is_reproducible_with_a_seed_and_a_generator():
    assert laplace_mechanism(1.0, 1.0, 1.0, rng=5) == laplace_mechanism(1.0, 1.0, 1.0, rng=5)
    a = laplace_mechanism(1.0, 1.0, 1.0, rng=np.random.default_rng(5))
    assert a == laplace_mechanism(1.0, 1.0, 1.0, rng=5)


def test_laplace_scale():
    assert laplace_scale(2.0, 0.5) == 4.0


@pytest.mark.parametrize(
    "kwargs, param",
    [
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"epsilon": float("inf")}, "epsilon"),
        ({"sensitivity": 0.0}, "sensitivity"),
        ({"sensitivity": -2.0}, "sensitivity"),
        ({"value": float("nan")}, "value"),
        ({"value": [1.0, float("inf")]}, "value"),
    ],
)
def test_laplace_bad_input_names_parameter_and_value(kwargs, param):
    args = {"value": 1.0, "sensitivity": 1.0, "epsilon": 1.0, **kwargs}
    with pytest.raises(ParameterValueError, match=rf"`{param}` must be .*; got"):
        laplace_mechanism(**args)


def test_laplace_wrong_types():
    with pytest.raises(ParameterTypeError, match="`epsilon` must be a real number"):
        laplace_mechanism(1.0, 1.0, "1")
    with pytest.raises(ParameterTypeError, match="`rng`"):
        laplace_mechanism(1.0, 1.0, 1.0, rng="seed")


# --- randomized response ---------------------------------------------------


@pytest.mark.parametrize("epsilon", [0.1, 1.0, math.log(3), 4.0])
def test_randomized_response_keeps_bits_with_probability_p(epsilon):
    bits = np.tile([0, 1], 10_000)
    reports = randomized_response(bits, epsilon, rng=99)
    p = math.exp(epsilon) / (1 + math.exp(epsilon))
    for value in (0, 1):
        kept = int(np.sum(reports[bits == value] == value))
        # Exact binomial test per true value; false-failure rate 0.1% each.
        assert stats.binomtest(kept, 10_000, p).pvalue > ALPHA


def test_randomized_response_satisfies_the_epsilon_ratio():
    eps = 0.7
    p = randomized_response_probability(eps)
    assert math.isclose(math.log(p / (1 - p)), eps, rel_tol=1e-12)
    assert randomized_response_probability(1000.0) == 1.0  # no overflow


def test_randomized_response_estimate_is_unbiased():
    # Mean of 400 estimates vs the true proportion, z-test at 4 sigma
    # (false-failure rate 6e-5) with the variance formula of the docstring.
    rng = np.random.default_rng(2024)
    eps, n, true_prop = 0.5, 2000, 0.3
    bits = (np.arange(n) < true_prop * n).astype(int)
    estimates = [
        randomized_response_estimate(randomized_response(bits, eps, rng=rng), eps)
        for _ in range(400)
    ]
    p = randomized_response_probability(eps)
    sd_mean = math.sqrt(p * (1 - p) / (n * (2 * p - 1) ** 2) / 400)
    assert abs(np.mean(estimates) - true_prop) < 4 * sd_mean
    # the raw mean of the reports is biased towards 1/2 and must differ
    assert abs(np.mean(randomized_response(bits, eps, rng=1)) - true_prop) > 10 * sd_mean


def test_randomized_response_inputs():
    assert randomized_response(np.array([True, False]), 50.0, rng=0).tolist() == [1, 0]
    with pytest.raises(ParameterValueError, match="`bits` must be an array of 0/1"):
        randomized_response([0, 2], 1.0)
    with pytest.raises(ParameterValueError, match="`noisy_bits` must be non-empty"):
        randomized_response_estimate([], 1.0)
    with pytest.raises(ParameterValueError, match="`epsilon`"):
        randomized_response([0, 1], 0)


# --- Gaussian mechanism ----------------------------------------------------


def test_gaussian_mechanism_noise_is_normal_with_analytic_sigma():
    from respai.privacy.mechanisms import analytic_gaussian_sigma

    sigma = analytic_gaussian_sigma(1.0, 1e-5, 2.0)
    noise = gaussian_mechanism(np.zeros(20_000), 2.0, 1.0, 1e-5, rng=3)
    assert stats.kstest(noise, stats.norm(scale=sigma).cdf).pvalue > ALPHA  # 0.1%
    assert isinstance(gaussian_mechanism(0.0, 1.0, 1.0, 1e-5, rng=3), float)


@pytest.mark.parametrize("delta", [0.0, 1.0, -1e-5, 1.5, float("nan")])
def test_gaussian_mechanism_rejects_bad_delta(delta):
    with pytest.raises(ParameterValueError, match=r"`delta` must be in the open interval \(0, 1\)"):
        gaussian_mechanism(0.0, 1.0, 1.0, delta)
