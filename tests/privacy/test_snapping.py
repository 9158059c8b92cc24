"""Mironov's snapping mechanism: grid, clamps, law (vs scipy's Laplace), privacy bound.

Statistical tests use fixed seeds; each rejects a correct implementation with
probability ALPHA = 1e-3 (so the file's false-failure rate is below 1%), and
being seeded, a pass is reproducible.
"""

import math

import numpy as np
import pytest
from scipy import stats

from respai.exceptions import ParameterValueError
from respai.privacy.mechanisms import snapping_epsilon, snapping_grid, snapping_mechanism
from respai.privacy.mechanisms.naive_laplace import naive_uniform
from respai.privacy.mechanisms.snapping import MACHINE_EPSILON, uniform_double

ALPHA = 1e-3

# (value, sensitivity, epsilon, bound): power-of-two and other lambdas, B on and off the grid
CASES = [
    (0.3, 1.0, 0.5, 1000.0),  # lambda = 2 = Lambda
    (0.3, 1.0, 0.3, 50.0),  # lambda = 3.33, Lambda = 4, B not a multiple of 4
    (-7.25, 3.0, 1.7, 40.0),  # lambda = 1.76, Lambda = 2
    (2.0, 0.01, 2.0, 3.0),  # lambda = 0.005, Lambda = 1/128
    (9.0, 1.0, 1.0, 10.0),  # f(x) within 1 lambda of B: clamping binds often
]


def test_grid_is_the_smallest_power_of_two_at_least_lambda():
    rng = np.random.default_rng(0)
    for lam in np.exp(rng.uniform(-30, 30, size=500)):
        grid = snapping_grid(lam, 1.0)
        mantissa, _ = math.frexp(grid)
        assert mantissa == 0.5, "a power of two"
        assert lam <= grid < 2 * lam
    for power in range(-20, 21):
        assert snapping_grid(2.0**power, 1.0) == 2.0**power  # already a power of two
    assert snapping_grid(1.0, 0.3) == 4.0 and snapping_grid(3.0, 1.0) == 4.0


@pytest.mark.parametrize("value, sensitivity, epsilon, bound", CASES)
def test_outputs_lie_on_the_grid_or_at_the_bound(value, sensitivity, epsilon, bound):
    out = snapping_mechanism(np.full(20_000, value), sensitivity, epsilon, bound=bound, rng=1)
    grid = snapping_grid(sensitivity, epsilon)
    on_grid = (out / grid) == np.round(out / grid)
    at_bound = np.abs(out) == bound
    assert np.all(on_grid | at_bound)
    assert np.all(np.abs(out) <= bound)
    # more than one grid point is used, and never a finer grid: odd multiples of grid / 2 are absent
    assert len(np.unique(out)) > 3
    assert not np.any(((out / (grid / 2)) % 2 == 1) & ~at_bound)


def snapping_pmf(value, sensitivity, epsilon, bound):
    """Exact output law from the real Laplace CDF (scipy): P(out = j Lambda), clamps at +-B."""
    lam, grid = sensitivity / epsilon, snapping_grid(sensitivity, epsilon)
    x = min(max(value, -bound), bound)
    top = math.floor(bound / grid)  # largest j with j * grid <= B
    points = np.arange(-top, top + 1) * grid
    cdf = stats.laplace(loc=x, scale=lam).cdf
    upper = np.append((points[:-1] + points[1:]) / 2, np.inf)  # rounding cell of each point
    lower = np.insert((points[:-1] + points[1:]) / 2, 0, -np.inf)
    if top * grid < bound:  # grid points beyond B are clamped to B (and likewise below -B)
        upper[-1] = points[-1] + grid / 2
        lower[0] = points[0] - grid / 2
        points = np.concatenate([[-bound], points, [bound]])
        upper = np.concatenate([[lower[0]], upper, [np.inf]])
        lower = np.concatenate([[-np.inf], lower, [upper[-2]]])
    return points, cdf(upper) - cdf(lower)


@pytest.mark.parametrize("value, sensitivity, epsilon, bound", CASES)
def test_output_distribution_matches_laplace_snapped_to_the_grid(
    value, sensitivity, epsilon, bound
):
    points, pmf = snapping_pmf(value, sensitivity, epsilon, bound)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    n = 40_000
    out = snapping_mechanism(np.full(n, value), sensitivity, epsilon, bound=bound, rng=12345)
    assert np.isin(out, points).all()
    observed = np.array([np.sum(out == p) for p in points], dtype=float)
    expected = n * pmf
    # merge the sparse tails so that every cell expects at least 5
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:
        obs, exp = obs[:-1], exp[:-1]
        exp = exp * obs.sum() / exp.sum()
    assert stats.chisquare(obs, exp).pvalue > ALPHA


def test_input_is_clamped_first_and_scalars_stay_scalars():
    far = snapping_mechanism(np.full(50, 5_000.0), 1.0, 0.5, bound=100.0, rng=7)
    edge = snapping_mechanism(np.full(50, 100.0), 1.0, 0.5, bound=100.0, rng=7)
    assert np.array_equal(far, edge)  # clamp_B(f(x)) comes before the noise
    single = snapping_mechanism(3.0, 1.0, 0.5, bound=100.0, rng=7)
    assert isinstance(single, float)
    assert single == snapping_mechanism(3.0, 1.0, 0.5, bound=100.0, rng=7)
    assert snapping_mechanism(np.zeros((3, 4)), 1.0, 0.5, bound=100.0, rng=7).shape == (3, 4)


def test_uniform_double_is_uniform_with_every_mantissa_bit_random():
    u = uniform_double(200_000, rng=12345)
    assert np.all((u > 0) & (u < 1))
    assert stats.kstest(u, "uniform").pvalue > ALPHA
    assert stats.kstest(-np.log(u), "expon").pvalue > ALPHA
    # binade of u: P(u in [2^-e, 2^(1-e))) = 2^-e
    mantissa, exponent = np.frexp(u)
    e = 1 - exponent
    counts = np.bincount(np.minimum(e, 12), minlength=13)[1:]
    probs = np.append(0.5 ** np.arange(1, 12), 0.5**11)
    assert stats.chisquare(counts, probs * u.size).pvalue > ALPHA
    # the last of the 53 significant bits is a fair coin even for small u; on the
    # textbook grid k / 2^53 it is always 0 below 1/2 (trailing zeros)
    last_bit = (mantissa * 2.0**53).astype(np.int64) % 2
    assert stats.binomtest(int(last_bit[u < 0.25].sum()), int((u < 0.25).sum())).pvalue > ALPHA
    textbook = naive_uniform(np.random.default_rng(0).integers(1, 2**53, 1000)) + 0.5
    small = textbook[textbook < 0.25]
    assert np.all((np.frexp(small)[0] * 2.0**53).astype(np.int64) % 2 == 0)


def test_uniform_double_reproducible_and_shapes():
    assert isinstance(uniform_double(rng=3), float)
    assert uniform_double(rng=3) == uniform_double(rng=3)
    assert uniform_double((2, 5), rng=3).shape == (2, 5)


@pytest.mark.parametrize("bound", [2.5, 100.0, 1e6, 1e12])
def test_privacy_bound_matches_theorem_1(bound):
    eps = snapping_epsilon(1.0, 0.5, bound)
    eta = 2.0**-53
    assert MACHINE_EPSILON == eta
    assert eps == pytest.approx((1 + 12 * bound * eta) * 0.5 + 2 * eta, rel=1e-15)
    # the theorem's rounder statement, 1/lambda + 2^-49 B / lambda, is never smaller
    assert eps <= 0.5 + 2.0**-49 * bound * 0.5
    assert eps > 0.5
    # sensitivity Delta: the query in units of Delta
    assert snapping_epsilon(4.0, 0.5, 4 * bound) == pytest.approx(eps, rel=1e-15)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bound=2.0), "`bound` must satisfy lambda < bound"),  # B = lambda
        (dict(bound=2.0**48), "`bound` must satisfy"),
        (dict(bound=-5.0), "`bound`"),
        (dict(epsilon=0.0), "`epsilon`"),
        (dict(sensitivity=-1.0), "`sensitivity`"),
        (dict(value=float("nan")), "`value`"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    args = dict(value=0.0, sensitivity=1.0, epsilon=0.5, bound=100.0) | kwargs
    value = args.pop("value")
    with pytest.raises(ParameterValueError, match=match):
        snapping_mechanism(value, **args)
