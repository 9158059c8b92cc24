r"""A textbook floating-point Laplace sampler, kept to show why it is *not* private.

This is the inverse-CDF sampler found in textbooks and in the early DP
libraries that Mironov (2012) attacked: draw a uniform double
:math:`u \in (-\tfrac12, \tfrac12)` on the grid :math:`2^{-53}\mathbb Z` (a
random 53-bit integer over :math:`2^{53}`, minus one half) and return

.. math::  Y = -b\,\operatorname{sign}(u)\,\ln(1 - 2|u|),

which is Laplace(b) over the reals. In doubles, only :math:`2^{53} - 1`
values of :math:`Y` are possible, unevenly spread, and ``f(x) + Y`` is rounded
again; the set of reachable outputs then depends on ``f(x)``, so an output
can reveal the input exactly (:mod:`respai.privacy.floating_point_attack`).
NumPy's ``Generator.laplace`` has the same structure (a 53-bit uniform and a
logarithm). Use :func:`~respai.privacy.mechanisms.snapping_mechanism` or the
integer samplers of :mod:`respai.privacy.sampling` instead.
"""

from __future__ import annotations

import numpy as np

from respai._validation import check_finite_array, check_positive, check_rng
from respai.privacy.mechanisms.laplace import laplace_scale

__all__ = [
    "NAIVE_UNIFORM_BITS",
    "naive_uniform",
    "naive_laplace_transform",
    "naive_laplace_sample",
    "naive_laplace_mechanism",
]

#: Bits of the textbook uniform double: u = k / 2**53 - 1/2, k in {1, ..., 2**53 - 1}.
NAIVE_UNIFORM_BITS = 53


def naive_uniform(index: np.ndarray | int) -> np.ndarray:
    r"""The uniform double :math:`u = k\,2^{-53} - \tfrac12` for integer ``index`` k.

    Both steps are exact in doubles (:math:`k < 2^{53}`), so ``u`` is a
    multiple of :math:`2^{-53}` in :math:`(-\tfrac12, \tfrac12)` for
    :math:`1 \le k < 2^{53}`.

    Examples
    --------
    >>> float(naive_uniform(2**52)), float(naive_uniform(1)) + 0.5 == 2.0**-53
    (0.0, True)
    """
    k = np.asarray(index, dtype=np.int64)
    return k.astype(float) * 2.0**-NAIVE_UNIFORM_BITS - 0.5


def naive_laplace_transform(u: np.ndarray | float, scale: float) -> np.ndarray:
    r"""Textbook inverse CDF of Laplace(b): :math:`-b\,\operatorname{sign}(u)\ln(1 - 2|u|)`.

    Deterministic and monotone non-decreasing in ``u`` (in doubles too: each
    step is a correctly rounded operation or NumPy's monotone ``log``), which
    is what lets :mod:`respai.privacy.floating_point_attack` search it.

    Parameters
    ----------
    u : float or numpy.ndarray
        Uniform values in :math:`(-\tfrac12, \tfrac12)`.
    scale : float
        b > 0.

    Examples
    --------
    >>> round(float(naive_laplace_transform(0.25, 1.0)), 6)  # ln 2
    0.693147
    """
    b = check_positive("scale", scale)
    u = np.asarray(u, dtype=float)
    return -b * np.sign(u) * np.log(1.0 - 2.0 * np.abs(u))


def naive_laplace_sample(
    scale: float, size=None, *, rng: np.random.Generator | int | None = None
) -> float | np.ndarray:
    r"""Laplace(b) noise from the textbook sampler (leaky; for demonstrations only).

    .. math::  Y = -b\,\operatorname{sign}(u)\ln(1 - 2|u|), \qquad
               u = k\,2^{-53} - \tfrac12,\ k \sim \mathrm{Uniform}\{1, \dots, 2^{53} - 1\}.

    As a distribution over the reals this is Laplace(b) (up to the 53-bit
    grid); the problem is which doubles it can produce, not their frequency.

    Parameters
    ----------
    scale : float
        b > 0.
    size : int, tuple of int or None
        Output shape; ``None`` returns one float.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness.

    Returns
    -------
    float or numpy.ndarray

    References
    ----------
    Mironov (2012), "On Significance of the Least Significant Bits for
    Differential Privacy", ACM CCS (the sampler and the attack on it).

    Examples
    --------
    >>> y = naive_laplace_sample(2.0, 100_000, rng=0)
    >>> round(float(np.mean(np.abs(y))), 2)  # E|Y| = b
    2.0
    """
    b = check_positive("scale", scale)
    gen = check_rng(rng)
    k = gen.integers(1, 2**NAIVE_UNIFORM_BITS, size=size, dtype=np.int64)
    noise = naive_laplace_transform(naive_uniform(k), b)
    return float(noise) if size is None else noise


def naive_laplace_mechanism(
    value: float | np.ndarray,
    sensitivity: float,
    epsilon: float,
    *,
    rng: np.random.Generator | int | None = None,
) -> float | np.ndarray:
    r"""The Laplace mechanism :math:`f(x) \oplus Y` with the textbook sampler (leaky).

    Identical in law to :func:`~respai.privacy.mechanisms.laplace_mechanism`
    over the reals, and *not* ε-DP in doubles: see the module docstring.

    Parameters
    ----------
    value : float or array_like
        True answer :math:`f(x)` (finite); each element gets its own noise.
    sensitivity : float
        L1 sensitivity :math:`\Delta > 0`.
    epsilon : float
        ε > 0; the noise scale is :math:`b = \Delta/\varepsilon`.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, otherwise an array of the input's shape.

    Examples
    --------
    >>> round(naive_laplace_mechanism(1.0, 1.0, 0.5, rng=0), 4)
    1.6402
    """
    b = laplace_scale(sensitivity, epsilon)
    true_value = check_finite_array("value", value)
    noisy = true_value + naive_laplace_sample(b, true_value.shape, rng=rng)
    return float(noisy) if noisy.ndim == 0 else noisy
