"""The Gaussian mechanism for (ε, δ)-DP, with the classical and the analytic calibration."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.special import erfcx, log_ndtr

from respai._validation import (
    check_delta,
    check_epsilon,
    check_finite_array,
    check_positive,
    check_rng,
    check_sensitivity,
)
from respai.exceptions import ParameterValueError

__all__ = [
    "gaussian_delta",
    "classical_gaussian_sigma",
    "analytic_gaussian_sigma",
    "gaussian_epsilon",
    "gaussian_mechanism",
]


def _log_gaussian_delta(sigma: float, epsilon: float, sensitivity: float) -> float:
    r"""``log`` of :func:`gaussian_delta`, computed without cancellation or overflow.

    With :math:`a = \Delta/2\sigma`, :math:`b = \varepsilon\sigma/\Delta`,
    :math:`u = b + a`, :math:`v = b - a`, δ is
    :math:`\Phi(-v)\,(1 - r)` with :math:`r = e^{\varepsilon}\Phi(-u)/\Phi(-v)`.
    Writing :math:`\Phi(-x) = \tfrac12\,\mathrm{erfcx}(x/\sqrt2)\,e^{-x^2/2}` and
    using :math:`(u^2 - v^2)/2 = 2ab = \varepsilon`, the exponentials cancel
    exactly: :math:`r = \mathrm{erfcx}(u/\sqrt2)/\mathrm{erfcx}(v/\sqrt2) < 1`.
    Taking ``log r`` from that ratio avoids subtracting two logs of size
    :math:`b^2/2` (which, for σ far above the calibrated one, rounded
    ``log r`` to 0 or above and raised a math domain error).
    """
    a = sensitivity / (2.0 * sigma)
    b = epsilon * sigma / sensitivity
    x, y = (b + a) / math.sqrt(2.0), (b - a) / math.sqrt(2.0)
    if y > 1e3:
        # erfcx(z) = (1 - 1/(2 z^2) + O(z^-4)) / (z sqrt(pi)); x - y = sqrt(2) a exactly,
        # so log r keeps its relative precision (the dropped terms are ~3/y^4 of it).
        log_r = -math.log1p(math.sqrt(2.0) * a / y) + math.log1p(-0.5 / x**2)
        log_r -= math.log1p(-0.5 / y**2)
    else:
        log_r = math.log(erfcx(x)) - math.log(erfcx(y))  # erfcx(y) = inf gives r = 0
    return float(log_ndtr(-(b - a)) + math.log(-math.expm1(log_r)))


def gaussian_delta(sigma: float, epsilon: float, sensitivity: float = 1.0) -> float:
    r"""Smallest δ for which adding :math:`\mathcal N(0, \sigma^2 I)` is (ε, δ)-DP.

    Balle & Wang (2018), Theorem 8: the Gaussian mechanism with L2 sensitivity
    :math:`\Delta` and noise :math:`\sigma` is (ε, δ)-DP if and only if

    .. math::

        \delta \ge \Phi\!\left(\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta}\right)
        - e^{\varepsilon}\,
          \Phi\!\left(-\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta}\right).

    Parameters
    ----------
    sigma : float
        Noise standard deviation, > 0, in the query's units.
    epsilon : float
        ε > 0.
    sensitivity : float, default 1.0
        L2 sensitivity :math:`\Delta > 0`.

    Returns
    -------
    float
        The δ on the right-hand side, in [0, 1): 0.0 only where it is below
        the smallest float (σ far above what ε needs).

    Examples
    --------
    >>> round(gaussian_delta(sigma=1.0, epsilon=1.0), 6)
    0.126937
    """
    s = check_positive("sigma", sigma)
    return math.exp(_log_gaussian_delta(s, check_epsilon(epsilon), check_sensitivity(sensitivity)))


def classical_gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    r"""Noise scale of the classical Gaussian mechanism (sufficient, not tight).

    .. math::  \sigma = \frac{\Delta_2 \sqrt{2 \ln(1.25/\delta)}}{\varepsilon}

    Parameters
    ----------
    epsilon : float
        ε in (0, 1): Dwork & Roth's proof needs ε < 1, and the formula is
        *not* private for larger ε, so this function refuses it.
    delta : float
        δ in (0, 1).
    sensitivity : float, default 1.0
        L2 sensitivity :math:`\Delta_2 > 0`.

    Returns
    -------
    float
        σ in the query's units.

    Raises
    ------
    ParameterValueError
        If ``epsilon >= 1`` (use :func:`analytic_gaussian_sigma`), or any
        parameter is outside its range.

    References
    ----------
    Dwork & Roth (2014), *The Algorithmic Foundations of Differential
    Privacy*, Theorem A.1.

    Examples
    --------
    >>> round(classical_gaussian_sigma(0.5, 1e-5), 4)
    9.6896
    """
    eps = check_epsilon(epsilon)
    dlt = check_delta(delta)
    sens = check_sensitivity(sensitivity)
    if eps >= 1.0:
        raise ParameterValueError(
            f"`epsilon` must be < 1 for the classical Gaussian mechanism "
            f"(Dwork & Roth, Theorem A.1); got {epsilon!r}. "
            "Use analytic_gaussian_sigma, which is exact for every epsilon > 0."
        )
    return sens * math.sqrt(2.0 * math.log(1.25 / dlt)) / eps


def analytic_gaussian_sigma(epsilon: float, delta: float, sensitivity: float = 1.0) -> float:
    r"""Smallest σ for which the Gaussian mechanism is (ε, δ)-DP (Balle & Wang 2018).

    Solves :math:`\delta_{\mathcal N}(\sigma; \varepsilon, \Delta) = \delta` for σ, where
    :math:`\delta_{\mathcal N}` is the exact privacy profile of
    :func:`gaussian_delta` (their Theorem 8). The profile decreases strictly
    in σ, so the root is unique; it is bracketed and found with Brent's
    method on :math:`\log\delta` to a relative tolerance of :math:`10^{-12}`
    (well inside the :math:`10^{-9}` we test against scipy), then stepped up
    by a few ulps where needed, so that ``gaussian_delta(sigma, ...) <= delta``
    always holds: the returned σ is private, never a hair below the root.

    Parameters
    ----------
    epsilon : float
        ε > 0 (any size: unlike the classical bound, this holds for ε ≥ 1).
    delta : float
        δ in (0, 1).
    sensitivity : float, default 1.0
        L2 sensitivity :math:`\Delta > 0`. σ scales linearly with it.

    Returns
    -------
    float
        σ in the query's units.

    References
    ----------
    Balle & Wang (2018), "Improving the Gaussian Mechanism for Differential
    Privacy: Analytical Calibration and Optimal Denoising", ICML,
    Theorem 8 and Algorithm 1.

    Examples
    --------
    >>> round(analytic_gaussian_sigma(0.5, 1e-5), 4)
    7.0318
    """
    eps = check_epsilon(epsilon)
    dlt = check_delta(delta)
    log_target = math.log(dlt)
    sens = check_sensitivity(sensitivity)

    def excess(log_sigma: float) -> float:
        return _log_gaussian_delta(math.exp(log_sigma), eps, 1.0) - log_target

    # Work with sensitivity 1 (sigma scales linearly) and bracket in log-space.
    lo, hi = -1.0, 1.0
    while excess(lo) < 0.0:
        lo -= 1.0
    while excess(hi) > 0.0:
        hi += 1.0
    log_sigma = brentq(excess, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500)
    # Brent's root may lie a few ulps on the non-private side: step up until it is private.
    return _step_up_until(
        lambda sigma: gaussian_delta(sigma, eps, sens) <= dlt, sens * math.exp(log_sigma)
    )


def _step_up_until(holds, value: float) -> float:
    """The smallest ``value + k ulp`` steps (doubling) for which ``holds``; ``value`` if it does."""
    step = math.ulp(value)
    while not holds(value):
        value += step
        step *= 2.0
    return value


def gaussian_epsilon(sigma: float, delta: float, sensitivity: float = 1.0) -> float:
    r"""Smallest ε for which adding :math:`\mathcal N(0, \sigma^2 I)` is (ε, δ)-DP.

    The inverse in ε of :func:`gaussian_delta`: the root of

    .. math::

        \Phi\!\left(\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta}\right)
        - e^{\varepsilon}\,
          \Phi\!\left(-\frac{\Delta}{2\sigma} - \frac{\varepsilon\sigma}{\Delta}\right)
        = \delta

    (Balle & Wang 2018, Theorem 8). The left-hand side decreases strictly in ε
    from :math:`2\Phi(\Delta/2\sigma) - 1` at ε = 0; a δ at least that large
    needs no ε at all, and 0.0 is returned. Found with Brent's method on
    :math:`\log\delta` to a relative tolerance of about :math:`10^{-12}`, then
    stepped up by a few ulps where needed, so that the ε returned never
    understates the privacy loss: ``gaussian_delta(sigma, eps, ...) <= delta``.

    Because the k-fold composition of Gaussian mechanisms with noise σ is
    exactly one Gaussian mechanism with noise :math:`\sigma/\sqrt{k}` (the
    concatenated answers have L2 sensitivity :math:`\sqrt{k}\,\Delta`; Dong,
    Roth & Su 2022, Corollary 3.3), ``gaussian_epsilon(sigma / sqrt(k), delta)``
    is the exact ε of that composition.

    Parameters
    ----------
    sigma : float
        Noise standard deviation, > 0, in the query's units.
    delta : float
        δ in (0, 1).
    sensitivity : float, default 1.0
        L2 sensitivity :math:`\Delta > 0`.

    Returns
    -------
    float
        ε ≥ 0 (dimensionless).

    References
    ----------
    Balle & Wang (2018), ICML, Theorem 8. Dong, Roth & Su (2022), "Gaussian
    Differential Privacy", JRSS B, Corollary 3.3 (composition).

    Examples
    --------
    >>> round(gaussian_epsilon(analytic_gaussian_sigma(0.5, 1e-5), 1e-5), 6)
    0.5
    >>> gaussian_epsilon(1.0, 0.5)  # delta above 2 Phi(1/2) - 1 = 0.383: no epsilon needed
    0.0
    """
    s = check_positive("sigma", sigma)
    dlt = check_delta(delta)
    sens = check_sensitivity(sensitivity)
    ratio = s / sens  # the profile depends on sigma / sensitivity only
    # delta at epsilon = 0 is Phi(a) - Phi(-a) = erf(a / sqrt 2), with a = 1 / (2 ratio)
    if math.erf(0.5 / ratio / math.sqrt(2.0)) <= dlt:
        return 0.0
    log_target = math.log(dlt)

    def excess(epsilon: float) -> float:
        return _log_gaussian_delta(ratio, epsilon, 1.0) - log_target

    lo, hi = 0.0, 1.0
    while excess(hi) > 0.0:
        lo, hi = hi, 2.0 * hi
    if lo == 0.0:
        lo = hi
        while excess(lo) < 0.0 and lo > 1e-300:
            hi, lo = lo, lo / 2.0
    root = float(brentq(excess, lo, hi, xtol=1e-300, rtol=1e-13, maxiter=500))
    return _step_up_until(lambda eps: gaussian_delta(s, eps, sens) <= dlt, root)


def gaussian_mechanism(
    value: float | np.ndarray,
    sensitivity: float,
    epsilon: float,
    delta: float,
    *,
    rng: np.random.Generator | int | None = None,
) -> float | np.ndarray:
    r"""Release ``value`` with (ε, δ)-DP by adding analytically calibrated Gaussian noise.

    .. math::  M(x) = f(x) + \mathcal N(0, \sigma^2 I), \quad
               \sigma = \texttt{analytic\_gaussian\_sigma}(\varepsilon, \delta, \Delta_2 f)

    Parameters
    ----------
    value : float or array_like
        True answer :math:`f(x)` (finite).
    sensitivity : float
        L2 sensitivity :math:`\Delta_2 f > 0` of the whole vector.
    epsilon, delta : float
        Privacy parameters, ε > 0 and δ in (0, 1).
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness (not cryptographically secure).

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, otherwise an array of the input's shape.

    References
    ----------
    Balle & Wang (2018), ICML, Theorem 8.

    Examples
    --------
    >>> round(gaussian_mechanism(10.0, 1.0, 1.0, 1e-5, rng=0), 3)
    10.469
    """
    sigma = analytic_gaussian_sigma(epsilon, delta, sensitivity)
    true_value = check_finite_array("value", value)
    generator = check_rng(rng)
    noisy = true_value + generator.normal(loc=0.0, scale=sigma, size=true_value.shape)
    return float(noisy) if noisy.ndim == 0 else noisy
