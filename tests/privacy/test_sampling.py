"""Statistical and exactness tests of the discrete Laplace / Gaussian samplers.

Each goodness-of-fit test uses a fixed seed, so it is deterministic here; its
significance level ALPHA = 1e-3 is the probability that a *correct* sampler
fails it for a random seed (the false-failure rate of each test).
"""

import sys
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

import respai.privacy.sampling as sampling
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.sampling import (
    bernoulli_exp,
    discrete_gaussian,
    discrete_gaussian_pmf,
    discrete_laplace,
    discrete_laplace_pmf,
)

ALPHA = 1e-3


def test_every_public_name_imports():
    for name in sampling.__all__:
        assert getattr(sampling, name) is not None


def _chi_square_pvalue(samples: np.ndarray, pmf) -> float:
    """Chi-square goodness of fit on the integers, tails lumped so each cell expects >= 5."""
    n = samples.size
    k = 0
    while n * pmf(np.array([k + 1]))[0] >= 5:
        k += 1
    support = np.arange(-k, k + 1)
    probs = pmf(support)
    tail = (1.0 - probs.sum()) / 2  # symmetric
    observed = np.r_[
        np.sum(samples < -k), [np.sum(samples == v) for v in support], np.sum(samples > k)
    ]
    expected = n * np.r_[tail, probs, tail]
    return stats.chisquare(observed, expected).pvalue


# --- Bernoulli(exp(-gamma)) ------------------------------------------------------


@pytest.mark.parametrize("gamma", [Fraction(1, 3), 1, "5/2", 0.75, Fraction(7, 1)])
def test_bernoulli_exp_matches_its_probability(gamma):
    gen = np.random.default_rng(10)
    n = 4000
    hits = sum(bernoulli_exp(gamma, rng=gen) for _ in range(n))
    p = float(np.exp(-float(Fraction(gamma))))
    assert stats.binomtest(hits, n, p).pvalue > ALPHA


def test_bernoulli_exp_of_zero_is_always_one():
    gen = np.random.default_rng(11)
    assert all(bernoulli_exp(0, rng=gen) == 1 for _ in range(200))


# --- goodness of fit -----------------------------------------------------------------


@pytest.mark.parametrize("scale", [1, Fraction(10, 3), "1/2"])
def test_discrete_laplace_fits_its_pmf(scale):
    samples = discrete_laplace(scale, size=6000, rng=12)
    assert _chi_square_pvalue(samples, lambda y: discrete_laplace_pmf(y, scale)) > ALPHA


@pytest.mark.parametrize("sigma_squared", [1, Fraction(1, 4), 20])
def test_discrete_gaussian_fits_its_pmf(sigma_squared):
    samples = discrete_gaussian(sigma_squared, size=4000, rng=13)
    assert _chi_square_pvalue(samples, lambda y: discrete_gaussian_pmf(y, sigma_squared)) > ALPHA


@pytest.mark.parametrize("scale", [0.3, 1.0, 7.5])
def test_discrete_laplace_pmf_matches_scipy_dlaplace(scale):
    y = np.arange(-30, 31)
    np.testing.assert_allclose(
        discrete_laplace_pmf(y, scale), stats.dlaplace.pmf(y, 1 / scale), rtol=1e-12
    )


@pytest.mark.parametrize("sigma_squared", [0.1, 1.0, 50.0])
def test_discrete_gaussian_pmf_sums_to_one_and_tends_to_the_normal(sigma_squared):
    y = np.arange(-400, 401)
    assert discrete_gaussian_pmf(y, sigma_squared).sum() == pytest.approx(1.0, abs=1e-12)
    if sigma_squared >= 50:  # for large sigma the normaliser is ~ sqrt(2 pi) sigma
        np.testing.assert_allclose(
            discrete_gaussian_pmf(y, sigma_squared),
            stats.norm.pdf(y, scale=np.sqrt(sigma_squared)),
            rtol=1e-9,
            atol=1e-300,
        )


# --- exactness: no floating point on the sample path -----------------------------------


class _SpyGenerator(np.random.Generator):
    """A Generator that records which of its methods the sampler uses."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        object.__setattr__(self, "used", set())

    def __getattribute__(self, name):
        if not name.startswith("__") and name != "used":
            object.__getattribute__(self, "used").add(name)
        return super().__getattribute__(name)


def _floats_in_sampling_frames(call):
    """Run ``call``; list (function, variable, value) of every float local in sampling.py."""
    floats_seen = []

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != sampling.__file__:
            return None

        def local_tracer(frame, event, arg):
            for name, value in frame.f_locals.items():
                if isinstance(value, (float, np.floating, complex)):
                    floats_seen.append((frame.f_code.co_name, name, value))
            return local_tracer

        return local_tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        out = call()
    finally:
        sys.settrace(old)
    return floats_seen, out


def test_float_tracer_detects_floats():
    """The instrument of the next test does see floats where there are some."""
    floats_seen, _ = _floats_in_sampling_frames(lambda: discrete_gaussian_pmf(0, 2))
    assert floats_seen


@pytest.mark.parametrize(
    "draw",
    [
        lambda gen: discrete_laplace(Fraction(7, 3), size=300, rng=gen),
        lambda gen: discrete_gaussian(Fraction(9, 2), size=300, rng=gen),
        lambda gen: [bernoulli_exp(Fraction(13, 4), rng=gen) for _ in range(300)],
    ],
)
def test_sample_path_uses_only_integers_and_fractions(draw):
    """Only ``Generator.integers`` is called, and no local variable is ever a float."""
    gen = _SpyGenerator(14)
    floats_seen, out = _floats_in_sampling_frames(lambda: draw(gen))
    assert floats_seen == []
    assert gen.used == {"integers"}
    assert all(isinstance(int(v), int) for v in out)


def test_uniform_integers_beyond_64_bits():
    gen = np.random.default_rng(15)
    n = 3 * 2**70 + 1
    draws = [sampling._randbelow(n, gen) for _ in range(3000)]
    assert all(0 <= d < n for d in draws)
    # the mean of 3000 uniforms on [0, n) is within 4 standard deviations of n/2
    mean = sum(draws) / 3000
    assert abs(mean - n / 2) < 4 * (n / np.sqrt(12)) / np.sqrt(3000)
    # a scale whose denominator needs the multi-word path still samples
    assert isinstance(discrete_laplace(Fraction(2**80 + 1, 2**79), rng=gen), int)


# --- interface ------------------------------------------------------------------------


def test_return_types_and_reproducibility():
    assert type(discrete_laplace(1, rng=0)) is int
    assert type(discrete_gaussian(1, rng=0)) is int
    arr = discrete_gaussian("2/3", size=5, rng=1)
    assert arr.dtype == np.int64 and arr.shape == (5,)
    assert discrete_laplace(2, size=0, rng=0).shape == (0,)
    np.testing.assert_array_equal(
        discrete_laplace(3, size=50, rng=2), discrete_laplace(3, size=50, rng=2)
    )


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: discrete_laplace(0), ParameterValueError, "`scale` must be a rational number > 0"),
        (lambda: discrete_laplace(-1), ParameterValueError, "`scale`"),
        (lambda: discrete_laplace("abc"), ParameterTypeError, "`scale` must be a rational"),
        (lambda: discrete_laplace(float("nan")), ParameterValueError, "`scale` must be finite"),
        (lambda: discrete_laplace(True), ParameterTypeError, "`scale`"),
        (lambda: discrete_laplace(1, size=-1), ParameterValueError, "`size`"),
        (lambda: discrete_gaussian(float("inf")), ParameterValueError, "`sigma_squared`"),
        (lambda: discrete_gaussian(0), ParameterValueError, "`sigma_squared`"),
        (lambda: bernoulli_exp(-1), ParameterValueError, "`gamma` must be a rational number >= 0"),
        (lambda: discrete_laplace(1, rng="seed"), ParameterTypeError, "`rng`"),
    ],
)
def test_invalid_input_is_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()
