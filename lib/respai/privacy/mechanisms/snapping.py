r"""Mironov's snapping mechanism: Laplace noise that survives floating-point arithmetic.

The textbook Laplace mechanism computed with doubles is not differentially
private: the set of doubles that ``f(x) + noise`` can take depends on
``f(x)``, so some outputs betray the input
(:mod:`respai.privacy.floating_point_attack` demonstrates it). The snapping
mechanism (Mironov 2012, Section 5.2) clamps the input to :math:`[-B, B]`,
adds Laplace noise built from an exactly uniform double, rounds the sum to a
coarse grid of multiples of a power of two :math:`\Lambda \ge \lambda`, and
clamps again. Rounding to the coarse grid erases the low-order bits that
leak; clamping bounds the rounding errors, which the privacy proof charges
for.

Not cryptographically secure: randomness comes from a
:class:`numpy.random.Generator`. For a deployed release use a secure source
and a hardened library (OpenDP).
"""

from __future__ import annotations

import math

import numpy as np

from respai._validation import (
    check_epsilon,
    check_finite_array,
    check_positive,
    check_rng,
    check_sensitivity,
)
from respai.exceptions import ParameterValueError

__all__ = [
    "MACHINE_EPSILON",
    "snapping_grid",
    "snapping_epsilon",
    "uniform_double",
    "snapping_mechanism",
]

#: Mironov's machine epsilon η for doubles: the largest η with 1 ⊕ η = 1.
MACHINE_EPSILON = 2.0**-53

_MAX_BOUND_RATIO = 2.0**46  # Theorem 1 needs lambda < B < 2^46 lambda


def snapping_grid(sensitivity: float, epsilon: float) -> float:
    r"""Grid spacing :math:`\Lambda`: the smallest power of two :math:`\ge \Delta/\varepsilon`.

    Multiples of a power of two are computed exactly in floating point
    (dividing and multiplying by :math:`\Lambda` only changes the exponent),
    which is why the grid is not simply :math:`\lambda`.

    Parameters
    ----------
    sensitivity : float
        L1 sensitivity :math:`\Delta > 0`, in the query's units.
    epsilon : float
        ε > 0.

    Returns
    -------
    float
        :math:`\Lambda = 2^{\lceil \log_2 \lambda \rceil}`, in the query's units.

    Examples
    --------
    >>> snapping_grid(1.0, 0.5), snapping_grid(1.0, 0.3), snapping_grid(0.01, 1.0)
    (2.0, 4.0, 0.015625)
    """
    lam = check_sensitivity(sensitivity) / check_epsilon(epsilon)
    mantissa, exponent = math.frexp(lam)  # lam = mantissa * 2**exponent, mantissa in [0.5, 1)
    return math.ldexp(1.0, exponent - 1 if mantissa == 0.5 else exponent)


def snapping_epsilon(sensitivity: float, epsilon: float, bound: float) -> float:
    r"""The privacy guarantee ε' of :func:`snapping_mechanism` (Mironov 2012, Theorem 1).

    Mironov proves, for a query of sensitivity 1 and noise scale :math:`\lambda`,
    that the snapping mechanism is :math:`\big(\frac{1 + 12 B\eta}{\lambda} + 2\eta\big)`-DP,
    where :math:`\eta = 2^{-53}` (the last line of the proof of Theorem 1), and
    states the rounder :math:`(1/\lambda + 2^{-49} B / \lambda)`-DP, for
    :math:`\lambda < B < 2^{46}\lambda`. For sensitivity :math:`\Delta`, measure
    the query in units of :math:`\Delta` (there :math:`\lambda = 1/\varepsilon`
    and the bound is :math:`B/\Delta`), which gives

    .. math::

        \varepsilon' = \varepsilon\left(1 + \frac{12 B \eta}{\Delta}\right) + 2\eta.

    When :math:`\Delta` is a power of two, :func:`snapping_mechanism` is exactly
    the paper's mechanism applied to :math:`f/\Delta` (scaling by a power of two
    is exact in floating point). For other :math:`\Delta` it snaps to a power of
    two in the query's own units; the proof's argument carries over because it
    bounds rounding errors relative to :math:`B`, but that step is ours, not the paper's.

    Parameters
    ----------
    sensitivity : float
        L1 sensitivity :math:`\Delta > 0`.
    epsilon : float
        ε > 0, the parameter of the Laplace noise (:math:`\lambda = \Delta/\varepsilon`).
    bound : float
        Clamping bound :math:`B`, with :math:`\lambda < B < 2^{46}\lambda`.

    Returns
    -------
    float
        ε', slightly above ε.

    References
    ----------
    Mironov (2012), "On Significance of the Least Significant Bits for
    Differential Privacy", ACM CCS, Section 5.2, Theorem 1 and its proof.

    Examples
    --------
    >>> snapping_epsilon(1.0, 0.5, 1000.0) - 0.5 < 1e-12
    True
    """
    sens, eps, b = _check_parameters(sensitivity, epsilon, bound)
    return eps * (1.0 + 12.0 * b * MACHINE_EPSILON / sens) + 2.0 * MACHINE_EPSILON


def _check_parameters(sensitivity: object, epsilon: object, bound: object):
    sens = check_sensitivity(sensitivity)
    eps = check_epsilon(epsilon)
    b = check_positive("bound", bound)
    lam = sens / eps
    if not lam < b < _MAX_BOUND_RATIO * lam:
        raise ParameterValueError(
            f"`bound` must satisfy lambda < bound < 2**46 * lambda with lambda = "
            f"sensitivity / epsilon = {lam!r}; got {bound!r}. Mironov's Theorem 1 holds only "
            "there: choose a bound B on |f(x)| that exceeds the noise scale."
        )
    return sens, eps, b


def uniform_double(size=None, *, rng: np.random.Generator | int | None = None):
    r"""Uniform draws from (0, 1) in which every double has probability equal to its ulp.

    This is Mironov's :math:`U^*`: the exact rounding-down of a real uniform
    number, with all 52 mantissa bits random at every scale. The exponent is
    geometric (:math:`U \in [2^{-e}, 2^{1-e})` with probability :math:`2^{-e}`,
    :math:`e \ge 1`, from the trailing zeros of random 64-bit words) and the
    mantissa uniform:

    .. math::  U^* = (1.m_1 m_2 \dots m_{52})_2 \cdot 2^{-e}.

    A textbook uniform double, ``k / 2**53``, instead has only
    :math:`2^{53}` possible values, far sparser near 0 than the doubles.

    Parameters
    ----------
    size : int, tuple of int or None
        Output shape; ``None`` returns one float.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of random bits (not cryptographically secure).

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> u = uniform_double(100_000, rng=0)
    >>> bool(u.min() > 0 and u.max() < 1), round(float(u.mean()), 2)
    (True, 0.5)
    """
    gen = check_rng(rng)
    shape = () if size is None else size
    exponent = np.ones(shape, dtype=np.int64)
    pending = np.ones(shape, dtype=bool)
    while pending.any():
        words = gen.integers(0, 2**64, size=int(pending.sum()), dtype=np.uint64)
        lowest_set_bit = words & (~words + np.uint64(1))  # 0 where the word is all zeros
        zeros = np.where(words == 0, 64, np.log2(np.maximum(lowest_set_bit, 1).astype(float)))
        exponent[pending] += zeros.astype(np.int64)
        still = np.zeros(shape, dtype=bool)
        still[pending] = words == 0  # 64 zero bits: keep counting (probability 2**-64)
        pending = still
    mantissa = gen.integers(0, 2**52, size=shape, dtype=np.int64)
    values = np.ldexp((mantissa + 2**52).astype(float), -52 - exponent)
    return float(values) if size is None else values


def snapping_mechanism(
    value: float | np.ndarray,
    sensitivity: float,
    epsilon: float,
    *,
    bound: float,
    rng: np.random.Generator | int | None = None,
) -> float | np.ndarray:
    r"""Release ``value`` with (almost) ε-DP that floating-point arithmetic cannot break.

    Mironov's snapping mechanism (2012, Section 5.2):

    .. math::

        M(x) = \operatorname{clamp}_B\!\Big(\big\lfloor \operatorname{clamp}_B(f(x))
               \oplus S \otimes \lambda \otimes \operatorname{LN}(U^*) \big\rceil_{\Lambda}\Big),

    where :math:`\lambda = \Delta/\varepsilon`; :math:`S` is a uniform sign;
    :math:`U^*` is uniform on the doubles in (0, 1) (:func:`uniform_double`), so
    :math:`S\lambda\ln U^*` is Laplace(λ) noise; :math:`\oplus, \otimes` are
    floating-point operations; :math:`\lfloor\cdot\rceil_\Lambda` rounds to the
    nearest multiple of :math:`\Lambda` (:func:`snapping_grid`, the smallest
    power of two :math:`\ge\lambda`; ties go up), exactly, because
    :math:`\Lambda` is a power of two; and :math:`\operatorname{clamp}_B(y) =
    \max(-B, \min(B, y))`. Every output is a multiple of :math:`\Lambda` or
    :math:`\pm B`.

    Privacy: Theorem 1 of the paper, :math:`\varepsilon' =
    \varepsilon(1 + 12B\eta/\Delta) + 2\eta` with :math:`\eta = 2^{-53}`
    (:func:`snapping_epsilon`), for :math:`\lambda < B < 2^{46}\lambda`. The
    proof assumes a correctly rounded logarithm; NumPy's ``log`` is accurate to
    within one ulp but not proven correctly rounded, so treat this as teaching
    code. Utility: the error is that of Laplace(λ) plus at most
    :math:`\Lambda/2 < \lambda` from the rounding, and the output is biased
    towards the inside of :math:`[-B, B]` if :math:`|f(x)|` comes within a few λ of B.

    Parameters
    ----------
    value : float or array_like
        True answer :math:`f(x)` (finite); each element gets its own noise.
        Values outside :math:`[-B, B]` are clamped: that is part of the mechanism.
    sensitivity : float
        L1 sensitivity :math:`\Delta > 0` of each element.
    epsilon : float
        ε > 0 of the Laplace noise; the guarantee is ε' above.
    bound : float, keyword-only
        :math:`B`, a bound on :math:`|f(x)|` chosen without looking at the
        data, with :math:`\lambda < B < 2^{46}\lambda`.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness (not cryptographically secure).

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, otherwise an array of the input's shape.

    Raises
    ------
    ParameterValueError
        If a parameter is out of range, ``value`` is not finite, or the bound
        is outside :math:`(\lambda, 2^{46}\lambda)`.

    References
    ----------
    Mironov (2012), "On Significance of the Least Significant Bits for
    Differential Privacy", ACM CCS, Section 5.2 and Theorem 1.

    Examples
    --------
    >>> snapping_mechanism(100.3, 1.0, 0.5, bound=1000.0, rng=0)
    98.0
    >>> snapping_mechanism(5000.0, 1.0, 0.5, bound=1000.0, rng=0)  # input clamped to B first
    998.0
    """
    sens, eps, b = _check_parameters(sensitivity, epsilon, bound)
    true_value = check_finite_array("value", value)
    gen = check_rng(rng)
    lam = sens / eps
    grid = snapping_grid(sens, eps)

    sign = 2.0 * gen.integers(0, 2, size=true_value.shape) - 1.0
    noise = sign * lam * np.log(uniform_double(true_value.shape, rng=gen))
    noisy = np.clip(true_value, -b, b) + noise
    # round to the nearest multiple of the grid, ties up; t = noisy / grid is exact
    # (a power of two), and t - floor(t) is exact for |t| >= 1 (Sterbenz) and below
    t = noisy / grid
    floor = np.floor(t)
    snapped = (floor + (t - floor >= 0.5)) * grid
    out = np.clip(snapped, -b, b)
    return float(out) if out.ndim == 0 else out
