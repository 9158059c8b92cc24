r"""Rényi DP of the Poisson-subsampled Gaussian mechanism, and its conversion to (ε, δ).

Pure functions, computed in log-space; the accountants validate inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln, log_ndtr, logsumexp

__all__ = ["DEFAULT_ORDERS", "subsampled_gaussian_rdp", "rdp_to_epsilon"]

#: Rényi orders searched by default: the same grid as Opacus 1.6's RDP accountant.
DEFAULT_ORDERS: tuple[float, ...] = tuple(
    [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64))
)


def _log_a_int(q: float, sigma: float, alpha: int) -> float:
    """``log A_alpha`` for integer ``alpha`` (Mironov et al. 2019, Sec. 3.3, binomial sum)."""
    i = np.arange(alpha + 1, dtype=float)
    log_binom = gammaln(alpha + 1.0) - gammaln(i + 1.0) - gammaln(alpha - i + 1.0)
    terms = (
        log_binom + i * math.log(q) + (alpha - i) * math.log1p(-q) + (i * i - i) / (2 * sigma**2)
    )
    return float(logsumexp(terms))


def _log_a_frac(q: float, sigma: float, alpha: float) -> float:
    r"""``log A_alpha`` for fractional ``alpha`` (Mironov et al. 2019, Sec. 3.3, two series).

    The generalised binomial coefficient changes sign for ``i > alpha``, so
    positive and negative terms are summed separately in log-space and
    subtracted once. Terms are evaluated in vectorised blocks until they fall
    below :math:`e^{-36}` (:math:`A_\alpha \ge 1`, so they no longer matter).
    """
    z0 = sigma**2 * (math.log1p(-q) - math.log(q)) + 0.5
    log_q, log_1mq = math.log(q), math.log1p(-q)
    ceil_alpha = math.ceil(alpha)
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    block = 64
    for start in range(0, 1_000_000, block):
        i = np.arange(start, start + block, dtype=float)
        j = alpha - i
        log_coef = gammaln(alpha + 1.0) - gammaln(i + 1.0) - gammaln(j + 1.0)
        s0 = log_coef + i * log_q + j * log_1mq + (i * i - i) / (2 * sigma**2)
        s0 = s0 + log_ndtr((z0 - i) / sigma)
        s1 = log_coef + j * log_q + i * log_1mq + (j * j - j) / (2 * sigma**2)
        s1 = s1 + log_ndtr((j - z0) / sigma)
        # sign of binom(alpha, i) is (-1)^(i - ceil(alpha)) for i > alpha, + before
        positive = (i <= alpha) | ((i - ceil_alpha) % 2 == 0)
        pos += [s0[positive], s1[positive]]
        neg += [s0[~positive], s1[~positive]]
        small = (i > alpha) & (np.maximum(s0, s1) < -36.0)
        if small.any():
            break
    lp = float(logsumexp(np.concatenate(pos)))
    negative = np.concatenate(neg)
    if negative.size == 0:
        return lp
    ln = float(logsumexp(negative))
    return lp + math.log1p(-math.exp(ln - lp))


def _rdp_one(q: float, sigma: float, alpha: float) -> float:
    if q == 1.0:
        return alpha / (2.0 * sigma**2)
    if float(alpha).is_integer():
        return _log_a_int(q, sigma, int(alpha)) / (alpha - 1.0)
    return _log_a_frac(q, sigma, alpha) / (alpha - 1.0)


def subsampled_gaussian_rdp(
    sample_rate: float, noise_multiplier: float, orders: Sequence[float] = DEFAULT_ORDERS
) -> np.ndarray:
    r"""RDP of one step of the Poisson-subsampled Gaussian mechanism, at each order.

    With sampling rate :math:`q` and noise multiplier :math:`\sigma`, one step is
    :math:`\varepsilon(\alpha)`-RDP with (Mironov, Talwar & Zhang 2019, Sec. 3.3)

    .. math::

        \varepsilon(\alpha) = \frac{\log A_\alpha}{\alpha - 1}, \qquad
        A_\alpha = \sum_{i=0}^{\alpha} \binom{\alpha}{i} (1-q)^{\alpha-i} q^i
                   \exp\!\left(\frac{i^2 - i}{2\sigma^2}\right)

    for integer :math:`\alpha` (their Theorem 11 with the binomial expansion), and
    the two-series expression of their Section 3.3 for fractional :math:`\alpha`.
    For :math:`q = 1` this is the Gaussian mechanism, :math:`\alpha / (2\sigma^2)`.
    Composition over :math:`T` steps multiplies by :math:`T`.

    Parameters
    ----------
    sample_rate : float
        Poisson sampling rate :math:`q \in (0, 1]`.
    noise_multiplier : float
        :math:`\sigma > 0`, noise standard deviation over the L2 clipping norm.
    orders : sequence of float, default DEFAULT_ORDERS
        Rényi orders :math:`\alpha > 1`.

    Returns
    -------
    numpy.ndarray
        :math:`\varepsilon(\alpha)` for each order.

    References
    ----------
    Mironov, Talwar & Zhang (2019), "Rényi Differential Privacy of the Sampled
    Gaussian Mechanism", arXiv:1908.10530, Theorem 11 and Section 3.3.

    Examples
    --------
    >>> round(float(subsampled_gaussian_rdp(0.01, 1.0, [2])[0]), 8)
    0.00017181
    """
    return np.array([_rdp_one(sample_rate, noise_multiplier, a) for a in orders], dtype=float)


def rdp_to_epsilon(
    orders: Sequence[float], rdp: Sequence[float], delta: float
) -> tuple[float, float]:
    r"""Convert RDP guarantees to (ε, δ)-DP, minimising over the orders.

    Balle et al. (2020), Theorem 21: an :math:`(\alpha, \rho)`-RDP mechanism is
    :math:`(\varepsilon, \delta)`-DP with

    .. math::

        \varepsilon = \rho + \log\frac{\alpha - 1}{\alpha}
                      - \frac{\log \delta + \log \alpha}{\alpha - 1},

    tighter than Mironov's (2017) :math:`\rho + \log(1/\delta)/(\alpha - 1)`.
    This is the conversion of Opacus's ``get_privacy_spent``.

    Parameters
    ----------
    orders : sequence of float
        Orders :math:`\alpha > 1`.
    rdp : sequence of float
        RDP :math:`\rho(\alpha)` at those orders (may be ``inf``).
    delta : float
        Target δ in (0, 1).

    Returns
    -------
    (float, float)
        The smallest ε over the orders (never below 0) and the order achieving it.

    References
    ----------
    Balle, Barthe, Gaboardi, Hsu & Sato (2020), "Hypothesis Testing
    Interpretations and Renyi Differential Privacy", AISTATS, Theorem 21
    (arXiv:1905.09982).

    Examples
    --------
    >>> eps, order = rdp_to_epsilon([2.0, 10.0], [0.1, 0.5], 1e-5)
    >>> round(eps, 4), order
    (1.418, 10.0)
    """
    a = np.asarray(orders, dtype=float)
    r = np.asarray(rdp, dtype=float)
    with np.errstate(invalid="ignore"):
        eps = r + np.log1p(-1.0 / a) - (math.log(delta) + np.log(a)) / (a - 1.0)
    if np.all(np.isnan(eps)) or np.all(np.isinf(eps)):
        return math.inf, float("nan")
    k = int(np.nanargmin(eps))
    return max(float(eps[k]), 0.0), float(a[k])
