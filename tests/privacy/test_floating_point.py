"""The textbook Laplace sampler, and Mironov's floating-point attack on it.

Statistical tests use fixed seeds; each rejects a correct implementation with
probability at most ALPHA = 1e-3 (or, for the advantage bounds, the stated
number of standard errors), and being seeded, a pass is reproducible.
"""

import math

import numpy as np
import pytest
from scipy import stats

from respai.exceptions import ParameterValueError
from respai.privacy.floating_point_attack import (
    distinguishing_advantage,
    floating_point_attack,
    naive_laplace_reachable,
)
from respai.privacy.mechanisms import (
    naive_laplace_mechanism,
    naive_laplace_sample,
    snapping_epsilon,
    snapping_mechanism,
)
from respai.privacy.mechanisms.naive_laplace import naive_laplace_transform, naive_uniform

ALPHA = 1e-3


@pytest.mark.parametrize("scale", [0.1, 1.0, 7.5])
def test_naive_sampler_is_laplace_over_the_reals(scale):
    noise = naive_laplace_sample(scale, 20_000, rng=12345)
    assert stats.kstest(noise, stats.laplace(scale=scale).cdf).pvalue > ALPHA


def test_naive_uniform_is_the_53_bit_grid():
    k = np.array([1, 2, 2**52 - 1, 2**52, 2**52 + 1, 2**53 - 1])
    u = naive_uniform(k)
    assert np.all((u > -0.5) & (u < 0.5))
    assert np.array_equal(u * 2.0**53 + 2.0**52, k.astype(float))  # exact multiples of 2^-53
    assert naive_uniform(2**52) == 0.0


def test_transform_is_monotone_in_the_uniform():
    rng = np.random.default_rng(0)
    k = np.sort(
        np.concatenate(
            [
                rng.integers(1, 2**53, 100_000),
                2**52 + np.arange(-2000, 2000),  # around u = 0
                np.arange(1, 2000),  # the far negative tail
                2**53 - np.arange(1, 2000),  # the far positive tail
            ]
        )
    )
    y = naive_laplace_transform(naive_uniform(k), 2.0)
    assert np.all(np.diff(y) >= 0)
    for value in (0.0, 1.0, -3.7, 1e6):
        assert np.all(np.diff(value + y) >= 0)


@pytest.mark.parametrize("value, scale", [(0.0, 2.0), (1.0, 2.0), (-13.25, 0.3), (1e4, 50.0)])
def test_every_output_is_reachable_from_its_own_input(value, scale):
    out = value + naive_laplace_sample(scale, 5_000, rng=4)
    assert naive_laplace_reachable(out, value, scale).all()


def brute_force_reachable(output, value, scale, window=3000):
    """Independent check: invert the CDF analytically, then try every k near the inverse."""
    y = output - value
    u = math.copysign(-math.expm1(-abs(y) / scale) / 2, y)
    centre = int(round((u + 0.5) * 2**53))
    k = np.clip(np.arange(centre - window, centre + window + 1), 1, 2**53 - 1)
    return bool(np.any(value + naive_laplace_transform(naive_uniform(k), scale) == output))


def test_reachability_agrees_with_brute_force_on_neighbouring_doubles():
    rng = np.random.default_rng(1)
    value, scale = 1.0, 2.0
    outputs = value + naive_laplace_sample(scale, 60, rng=rng)
    # the doubles around real outputs: a mix of reachable and unreachable ones
    candidates = np.concatenate(
        [outputs + 0.0] + [np.nextafter(outputs, np.inf * s) for s in (1, -1)]
    )
    more = [candidates]
    for _ in range(3):
        more.append(np.nextafter(more[-1], np.inf))
    candidates = np.concatenate(more)
    got = naive_laplace_reachable(candidates, value, scale)
    want = np.array([brute_force_reachable(o, value, scale) for o in candidates])
    assert np.array_equal(got, want)
    assert 0 < got.mean() < 1  # both kinds were tested


def test_the_attack_beats_the_dp_bound_on_the_naive_mechanism():
    # epsilon = 0.5, neighbouring answers 0 and 1: 0.5-DP allows an advantage of tanh(1/4) = 0.245
    rng = np.random.default_rng(12345)
    n = 5_000
    out_0 = naive_laplace_mechanism(np.zeros(n), 1.0, 0.5, rng=rng)
    out_1 = naive_laplace_mechanism(np.ones(n), 1.0, 0.5, rng=rng)
    # Mironov's observation: most outputs can come from one of the two inputs only
    only_0 = naive_laplace_reachable(out_0, 0.0, 2.0) & ~naive_laplace_reachable(out_0, 1.0, 2.0)
    assert only_0.mean() > 0.6
    guesses_0 = floating_point_attack(out_0, 0.0, 1.0, 2.0)
    guesses_1 = floating_point_attack(out_1, 0.0, 1.0, 2.0)
    assert np.all(guesses_0[only_0] == 0)  # certain, and never wrong
    advantage = distinguishing_advantage(guesses_0, guesses_1)
    # measured about 0.80; its standard error is below 0.01, so 0.6 is > 20 SE away
    assert advantage > 0.6 > math.tanh(0.25)


def test_the_attack_gets_no_more_than_dp_allows_from_the_snapping_mechanism():
    # the same post-processing of snapping outputs is bounded by tanh(eps'/2) = 0.245;
    # the expected advantage is about 0.2 and its standard error 0.005 (n = 20,000 each):
    # the bound plus 4.5 standard errors fails a correct mechanism with probability < 1e-5
    rng = np.random.default_rng(12345)
    n = 20_000
    eps = snapping_epsilon(1.0, 0.5, 1000.0)
    out_0 = snapping_mechanism(np.zeros(n), 1.0, 0.5, bound=1000.0, rng=rng)
    out_1 = snapping_mechanism(np.ones(n), 1.0, 0.5, bound=1000.0, rng=rng)
    advantage = distinguishing_advantage(
        floating_point_attack(out_0, 0.0, 1.0, 2.0), floating_point_attack(out_1, 0.0, 1.0, 2.0)
    )
    standard_error = math.sqrt(2 * 0.25 / n)
    assert advantage < math.tanh(eps / 2) + 4.5 * standard_error


def test_the_decision_rule_case_by_case():
    # naive outputs (mostly reachable from one input only) and snapping outputs
    # (multiples of 2: often reachable from both, or from neither)
    out = np.concatenate(
        [
            naive_laplace_mechanism(np.zeros(300), 1.0, 0.5, rng=2),
            naive_laplace_mechanism(np.ones(300), 1.0, 0.5, rng=3),
            snapping_mechanism(np.zeros(300), 1.0, 0.5, bound=1000.0, rng=4),
        ]
    )
    reach_0 = naive_laplace_reachable(out, 0.0, 2.0)
    reach_1 = naive_laplace_reachable(out, 1.0, 2.0)
    guesses = floating_point_attack(out, 0.0, 1.0, 2.0)
    closer_to_1 = (np.abs(out - 1.0) < np.abs(out)).astype(int)
    want = np.where(reach_0 == reach_1, closer_to_1, reach_1.astype(int))
    assert np.array_equal(guesses, want)
    assert (reach_0 & reach_1).any() and (reach_0 != reach_1).any()  # both cases occur
    # swapping the roles of the two inputs swaps the guesses
    assert np.array_equal(floating_point_attack(out, 1.0, 0.0, 2.0), 1 - guesses)


def test_distinguishing_advantage():
    assert distinguishing_advantage([0, 0, 0, 0], [1, 1, 1, 1]) == 1.0
    assert distinguishing_advantage(np.array([1, 0]), np.array([1, 0])) == 0.0
    with pytest.raises(ParameterValueError, match="`guesses_given_1`"):
        distinguishing_advantage([0, 1], [0, 2])
    with pytest.raises(ParameterValueError, match="`guesses_given_0`"):
        distinguishing_advantage([], [0, 1])


def test_attack_bad_input():
    with pytest.raises(ParameterValueError, match="`value0` and `value1` must differ"):
        floating_point_attack([0.0], 1.0, 1.0, 2.0)
    with pytest.raises(ParameterValueError, match="`output`"):
        floating_point_attack([np.inf], 0.0, 1.0, 2.0)
    with pytest.raises(ParameterValueError, match="`scale`"):
        naive_laplace_reachable([0.0], 0.0, -2.0)
    with pytest.raises(ParameterValueError, match="`value` must be a single number"):
        naive_laplace_reachable([0.0], [0.0, 1.0], 2.0)


def test_naive_mechanism_shapes_and_reproducibility():
    assert isinstance(naive_laplace_mechanism(1.0, 1.0, 1.0, rng=0), float)
    assert naive_laplace_mechanism(1.0, 1.0, 1.0, rng=0) == naive_laplace_mechanism(
        1.0, 1.0, 1.0, rng=0
    )
    assert naive_laplace_mechanism(np.zeros((2, 3)), 1.0, 1.0, rng=0).shape == (2, 3)
    assert isinstance(naive_laplace_sample(1.0, rng=0), float)
