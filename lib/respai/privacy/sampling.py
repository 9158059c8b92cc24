r"""Exact discrete Laplace and discrete Gaussian samplers (Canonne, Kamath & Steinke 2020).

Adding ``numpy``'s floating-point Laplace noise to a query leaks the input:
the set of doubles a naive sampler can output around :math:`f(x)` depends on
:math:`f(x)`, so some outputs identify the dataset (Mironov 2012, "On
Significance of the Least Significant Bits for Differential Privacy", ACM
CCS, Section 3). The samplers here return *integers* and use only integer and
rational (:class:`fractions.Fraction`) arithmetic on uniformly random
integers, so their output distribution is exactly the stated one (up to the
quality of the random source). Add them to integer-valued queries, or to
queries rounded to a fixed grid.

Not cryptographically secure: randomness comes from a
:class:`numpy.random.Generator` (PCG64), which an adversary can predict from
its outputs. For a deployed release use a secure source, e.g. OpenDP's
samplers or Google's differential-privacy library.

References
----------
Canonne, Kamath & Steinke (2020), "The Discrete Gaussian for Differential
Privacy", NeurIPS, Section 5 (Algorithms 1, 2 and 3; Propositions 29-31).
"""

from __future__ import annotations

import math
import numbers
from decimal import Decimal
from fractions import Fraction

import numpy as np

from respai._validation import check_non_negative_int, check_rng
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "bernoulli_exp",
    "discrete_laplace",
    "discrete_gaussian",
    "discrete_laplace_pmf",
    "discrete_gaussian_pmf",
]

_INT64_SAFE = 2**62


# --- exact rational inputs -------------------------------------------------------


def _as_fraction(name: str, value: object, *, allow_zero: bool) -> Fraction:
    """Convert to an exact ``Fraction`` (floats are taken at their exact binary value)."""
    if isinstance(value, bool):
        raise ParameterTypeError(f"`{name}` must be a rational number; got {value!r}.")
    try:
        if isinstance(value, (numbers.Rational, str, Decimal)):
            frac = Fraction(value)
        elif isinstance(value, numbers.Real):
            x = float(value)
            if not math.isfinite(x):
                raise ParameterValueError(f"`{name}` must be finite; got {value!r}.")
            frac = Fraction(x)
        else:
            raise TypeError
    except (TypeError, ValueError, ZeroDivisionError) as err:
        if isinstance(err, ParameterValueError):
            raise
        raise ParameterTypeError(
            f"`{name}` must be a rational number (int, Fraction, 'p/q' string, Decimal "
            f"or float); got {value!r} of type {type(value).__name__}."
        ) from err
    if frac < 0 or (frac == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterValueError(
            f"`{name}` must be a rational number {bound}; got {value!r}. "
            "Pass it exactly, e.g. Fraction(1, 3) or '1/3'."
        )
    return frac


def _check_size(size: object) -> int | None:
    return None if size is None else check_non_negative_int("size", size)


# --- exact integer primitives -------------------------------------------------------


def _randbelow(n: int, gen: np.random.Generator) -> int:
    """Uniform integer in ``{0, ..., n - 1}`` by integer rejection (no floats)."""
    if n <= _INT64_SAFE:
        return int(gen.integers(0, n))  # Lemire's integer method, exact
    k = n.bit_length()
    words = -(-k // 62)
    while True:
        r = 0
        for w in gen.integers(0, 2**62, size=words):
            r = (r << 62) | int(w)
        r >>= words * 62 - k
        if r < n:
            return r


def _bernoulli(num: int, den: int, gen: np.random.Generator) -> bool:
    """Exact Bernoulli(num / den) for integers 0 <= num <= den, den > 0."""
    return _randbelow(den, gen) < num


def _bernoulli_exp_le1(num: int, den: int, gen: np.random.Generator) -> bool:
    # Algorithm 1, case gamma = num/den in [0, 1]: the first K with A_K = 0 is odd
    # with probability exp(-gamma) (Canonne et al. 2020, Proposition 29).
    k = 1
    while _bernoulli(num, den * k, gen):
        k += 1
    return k % 2 == 1


def _bernoulli_exp(num: int, den: int, gen: np.random.Generator) -> bool:
    """Exact Bernoulli(exp(-num/den)) for integers num >= 0, den > 0 (Algorithm 1)."""
    if num <= den:
        return _bernoulli_exp_le1(num, den, gen)
    for _ in range(num // den):  # exp(-gamma) = exp(-1)^floor(gamma) * exp(-frac(gamma))
        if not _bernoulli_exp_le1(1, 1, gen):
            return False
    return _bernoulli_exp_le1(num % den, den, gen)


def _discrete_laplace(s: int, t: int, gen: np.random.Generator) -> int:
    """Exact draw with P[Y = y] proportional to exp(-|y| s / t) (Algorithm 2)."""
    while True:
        u = _randbelow(t, gen)
        if not _bernoulli_exp(u, t, gen):
            continue
        v = 0
        while _bernoulli_exp(1, 1, gen):
            v += 1
        y = (u + t * v) // s  # X = U + tV is geometric with parameter 1 - exp(-1/t)
        negative = _bernoulli(1, 2, gen)
        if negative and y == 0:
            continue  # reject (B = 1, Y = 0) so that 0 is not counted twice
        return -y if negative else y


def _discrete_gaussian(sigma2: Fraction, gen: np.random.Generator) -> int:
    """Exact draw from N_Z(0, sigma2) by rejection from a discrete Laplace (Algorithm 3)."""
    t = math.isqrt(sigma2.numerator // sigma2.denominator) + 1  # floor(sigma) + 1
    while True:
        y = _discrete_laplace(1, t, gen)
        gamma = (abs(y) - sigma2 / t) ** 2 / (2 * sigma2)
        if _bernoulli_exp(gamma.numerator, gamma.denominator, gen):
            return y


def _draw(one, size: int | None) -> int | np.ndarray:
    if size is None:
        return one()
    return np.array([one() for _ in range(size)], dtype=np.int64)


# --- public samplers ------------------------------------------------------------


def bernoulli_exp(gamma: object, *, rng: np.random.Generator | int | None = None) -> int:
    r"""Exact Bernoulli draw with probability :math:`e^{-\gamma}`, rational :math:`\gamma \ge 0`.

    For :math:`\gamma \in [0, 1]`, draw :math:`A_k \sim \mathrm{Bernoulli}(\gamma/k)`
    for :math:`k = 1, 2, \dots` until the first :math:`A_K = 0`; then

    .. math::

        \Pr[K \text{ odd}] = \sum_{k\ \text{odd}} \frac{\gamma^{k-1}}{(k-1)!}
            - \frac{\gamma^{k}}{k!} = e^{-\gamma}.

    Larger :math:`\gamma` uses :math:`e^{-\gamma} = (e^{-1})^{\lfloor\gamma\rfloor}
    e^{-(\gamma - \lfloor\gamma\rfloor)}`. Each :math:`\mathrm{Bernoulli}(p/q)`
    is "a uniform integer below :math:`q` is below :math:`p`".

    Parameters
    ----------
    gamma : int, Fraction, str, Decimal or float
        :math:`\gamma \ge 0`, converted exactly to a :class:`~fractions.Fraction`
        (a float counts at its exact binary value: ``0.1`` is not 1/10).
    rng : numpy.random.Generator, int or None, keyword-only
        Source of uniform integers (not cryptographically secure).

    Returns
    -------
    int
        1 with probability :math:`e^{-\gamma}`, else 0.

    References
    ----------
    Canonne, Kamath & Steinke (2020), Algorithm 1 and Proposition 29.

    Examples
    --------
    >>> gen = np.random.default_rng(0)
    >>> sum(bernoulli_exp("1/2", rng=gen) for _ in range(1000))  # e^(-1/2) = 0.607
    616
    """
    g = _as_fraction("gamma", gamma, allow_zero=True)
    return int(_bernoulli_exp(g.numerator, g.denominator, check_rng(rng)))


def discrete_laplace(
    scale: object,
    size: int | None = None,
    *,
    rng: np.random.Generator | int | None = None,
) -> int | np.ndarray:
    r"""Exact samples of the discrete Laplace distribution on the integers.

    .. math::

        \Pr[Y = y] = \frac{e^{1/t} - 1}{e^{1/t} + 1}\, e^{-|y|/t},
        \qquad y \in \mathbb{Z},\ t = \text{scale}.

    Adding it to an integer query of L1 sensitivity :math:`\Delta` (an
    integer) with :math:`t = \Delta/\varepsilon` is :math:`\varepsilon`-DP,
    like the continuous Laplace mechanism (Canonne et al. 2020, Section 2.1).

    Parameters
    ----------
    scale : int, Fraction, str, Decimal or float
        :math:`t > 0`, converted exactly to a :class:`~fractions.Fraction`
        (pass ``Fraction(1, 3)`` or ``"1/3"`` rather than ``1/3``).
    size : int or None
        Number of samples; ``None`` returns one ``int``.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of uniform integers. Not cryptographically secure; see the
        module docstring for a secure alternative.

    Returns
    -------
    int or numpy.ndarray of int64

    Raises
    ------
    ParameterValueError
        If ``scale`` is not > 0 or ``size`` is negative.
    ParameterTypeError
        If ``scale`` is not a rational number.

    References
    ----------
    Canonne, Kamath & Steinke (2020), Algorithm 2 and Proposition 30.

    Examples
    --------
    >>> discrete_laplace(2, size=8, rng=0).tolist()
    [-1, 2, 1, 1, -1, -2, 2, 0]
    """
    t = _as_fraction("scale", scale, allow_zero=False)
    n = _check_size(size)
    gen = check_rng(rng)
    # scale t = q/p gives P ∝ exp(-|y| p / q): Algorithm 2 with s = p, t = q
    return _draw(lambda: _discrete_laplace(t.denominator, t.numerator, gen), n)


def discrete_gaussian(
    sigma_squared: object,
    size: int | None = None,
    *,
    rng: np.random.Generator | int | None = None,
) -> int | np.ndarray:
    r"""Exact samples of the discrete Gaussian :math:`\mathcal{N}_{\mathbb{Z}}(0, \sigma^2)`.

    .. math::

        \Pr[Y = y] = \frac{e^{-y^2 / (2\sigma^2)}}
            {\sum_{z \in \mathbb{Z}} e^{-z^2 / (2\sigma^2)}}, \qquad y \in \mathbb{Z}.

    Drawn by rejection: propose :math:`Y` from the discrete Laplace with
    scale :math:`t = \lfloor\sigma\rfloor + 1` and accept with probability
    :math:`\exp(-(|Y| - \sigma^2/t)^2 / (2\sigma^2))`. Adding it to an integer
    query of L2 sensitivity :math:`\Delta` satisfies
    :math:`\tfrac12 (\Delta/\sigma)^2`-concentrated DP (Canonne et al. 2020,
    Theorem 4). Its variance is slightly below :math:`\sigma^2` (Corollary 9).

    Parameters
    ----------
    sigma_squared : int, Fraction, str, Decimal or float
        :math:`\sigma^2 > 0`, converted exactly to a :class:`~fractions.Fraction`.
    size : int or None
        Number of samples; ``None`` returns one ``int``.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of uniform integers. Not cryptographically secure; see the
        module docstring for a secure alternative.

    Returns
    -------
    int or numpy.ndarray of int64

    Raises
    ------
    ParameterValueError
        If ``sigma_squared`` is not > 0 or ``size`` is negative.
    ParameterTypeError
        If ``sigma_squared`` is not a rational number.

    References
    ----------
    Canonne, Kamath & Steinke (2020), Algorithm 3 and Proposition 31.

    Examples
    --------
    >>> discrete_gaussian(4, size=8, rng=0).tolist()
    [0, 1, -1, 2, -3, 0, 1, 2]
    """
    s2 = _as_fraction("sigma_squared", sigma_squared, allow_zero=False)
    n = _check_size(size)
    gen = check_rng(rng)
    return _draw(lambda: _discrete_gaussian(s2, gen), n)


# --- reference probability mass functions (floating point; for tests and plots) --------


def discrete_laplace_pmf(y: object, scale: float) -> np.ndarray:
    r"""Probability mass :math:`\tanh(1/(2t))\, e^{-|y|/t}` of the discrete Laplace (floats).

    Examples
    --------
    >>> round(float(discrete_laplace_pmf(0, 1.0)), 6)
    0.462117
    """
    t = float(_as_fraction("scale", scale, allow_zero=False))
    y = np.asarray(y)
    return np.tanh(0.5 / t) * np.exp(-np.abs(y) / t)


def discrete_gaussian_pmf(y: object, sigma_squared: float) -> np.ndarray:
    r"""Probability mass of :math:`\mathcal{N}_{\mathbb{Z}}(0, \sigma^2)` (floats).

    The normalising constant is summed over :math:`|z| \le 40\sigma + 40`; the
    tail beyond is below :math:`e^{-800}`.

    Examples
    --------
    >>> round(float(discrete_gaussian_pmf(0, 1.0)), 6)
    0.398943
    """
    s2 = float(_as_fraction("sigma_squared", sigma_squared, allow_zero=False))
    half_width = int(40 * math.sqrt(s2)) + 40
    z = np.arange(-half_width, half_width + 1)
    norm = np.sum(np.exp(-(z.astype(float) ** 2) / (2 * s2)))
    y = np.asarray(y, dtype=float)
    return np.exp(-(y**2) / (2 * s2)) / norm
