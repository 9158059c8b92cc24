r"""Privacy loss random variables (PRVs) of the Poisson-subsampled Gaussian, composed by FFT.

Numerical composition of Gopi, Lee & Wutschitz (2021): discretise each step's
privacy loss on a common grid, multiply the Fourier transforms (one power per
distinct step), and read ε off the composed distribution. Pure functions; the
accountants validate inputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import integrate
from scipy.fft import irfft, next_fast_len, rfft
from scipy.special import logsumexp, ndtr

from respai.privacy.accounting._analysis.rdp import DEFAULT_ORDERS, subsampled_gaussian_rdp

__all__ = ["MAX_GRID_SIZE", "prv_epsilon"]

#: Largest grid the accountant will allocate (about 270 MB of working memory).
MAX_GRID_SIZE = 2**24


def _x_of_t(t: np.ndarray, q: float, sigma: float) -> np.ndarray:
    r"""Output :math:`x` of the mechanism whose privacy loss is ``t`` (``-inf`` below the support).

    With :math:`P = (1-q)\mathcal N(0, \sigma^2) + q\mathcal N(1, \sigma^2)` and
    :math:`Q = \mathcal N(0, \sigma^2)`, the loss :math:`\log(P/Q)(x)
    = \log(1 - q + q e^{(2x-1)/(2\sigma^2)})` increases in :math:`x`; its inverse is
    :math:`x = \sigma^2 \log(1 + \operatorname{expm1}(t)/q) + 1/2`.
    """
    t = np.asarray(t, dtype=float)
    z = np.full_like(t, -np.inf)
    inside = t > math.log1p(-q) if q < 1.0 else np.ones_like(t, dtype=bool)
    big = t > 30.0
    small = inside & ~big
    with np.errstate(invalid="ignore", divide="ignore"):
        z[small] = np.log1p(np.expm1(t[small]) / q)
        z[big] = t[big] + np.log1p(-(1.0 - q) * np.exp(-t[big])) - math.log(q)
    return sigma**2 * z + 0.5


def _bin_masses(edges: np.ndarray, q: float, sigma: float) -> np.ndarray:
    """P(edges[k] < Y <= edges[k+1]) for the one-step PRV ``Y``, from the CDF or the survival."""
    x = _x_of_t(edges, q, sigma)
    cdf = (1.0 - q) * ndtr(x / sigma) + q * ndtr((x - 1.0) / sigma)
    sf = (1.0 - q) * ndtr(-x / sigma) + q * ndtr((1.0 - x) / sigma)
    from_cdf = np.diff(cdf)
    from_sf = -np.diff(sf)
    # the survival function is accurate in the upper tail, the CDF in the lower one
    centre = 0.5 * (edges[:-1] + edges[1:])
    return np.where(centre > 0.0, from_sf, from_cdf)


def _truncated_mean(q: float, sigma: float, lo: float, hi: float) -> float:
    r""":math:`E[Y \mid lo < Y \le hi]`, integrated over the mechanism's output :math:`x`."""
    x_lo = max(float(_x_of_t(np.array([lo]), q, sigma)[0]), -40.0 * sigma)
    x_hi = min(float(_x_of_t(np.array([hi]), q, sigma)[0]), 1.0 + 40.0 * sigma)
    log_1mq = math.log1p(-q) if q < 1.0 else -math.inf

    def loss(x: float) -> float:
        u = (2.0 * x - 1.0) / (2.0 * sigma**2)
        if u < 20.0:
            return math.log1p(q * math.expm1(u))
        return float(logsumexp([log_1mq, math.log(q) + u]))

    def density(x: float) -> float:
        lp = np.logaddexp(
            log_1mq - 0.5 * (x / sigma) ** 2, math.log(q) - 0.5 * ((x - 1.0) / sigma) ** 2
        )
        return math.exp(lp) / (sigma * math.sqrt(2 * math.pi))

    points = sorted({p for p in (0.0, 0.5, 1.0) if x_lo < p < x_hi})
    num, _ = integrate.quad(
        lambda x: density(x) * loss(x), x_lo, x_hi, points=points or None, limit=500,
        epsabs=1e-15, epsrel=1e-12,
    )  # fmt: skip
    mass = float(np.sum(_bin_masses(np.array([lo, hi]), q, sigma)))
    return num / mass


def _tail_width(
    history: Sequence[tuple[float, float, int]], tail: float, orders: Sequence[float]
) -> float:
    r"""Half-width :math:`L` with :math:`P(|\sum_i Y_i| \ge L) \le 2\,\text{tail}`.

    Chernoff with the moment generating function bounded by RDP:
    :math:`P(\sum Y \ge L) \le \exp((\alpha-1)(\sum_i \rho_i(\alpha) - L))`; for this
    mechanism the lower tail obeys the same bound (Mironov et al. 2019 show both
    orderings of the pair are bounded by :math:`A_\alpha`), and each single step
    is bounded with ``tail / steps``.
    """
    a = np.asarray(orders, dtype=float)
    total = np.zeros_like(a)
    width = 0.0
    n_total = sum(n for _, _, n in history)
    for sigma, q, n in history:
        rho = subsampled_gaussian_rdp(q, sigma, orders)
        total += n * rho
        width = max(width, float(np.min(rho + math.log(n_total / tail) / (a - 1.0))))
    width = max(width, float(np.min(total + math.log(1.0 / tail) / (a - 1.0))))
    return width


def prv_epsilon(
    history: Sequence[tuple[float, float, int]],
    delta: float,
    *,
    eps_error: float = 0.01,
    delta_error: float | None = None,
    orders: Sequence[float] = DEFAULT_ORDERS,
) -> tuple[float, float, float]:
    r"""(lower, estimate, upper) for ε of a composition of subsampled Gaussian steps.

    ``history`` holds ``(noise_multiplier, sample_rate, steps)`` triples. Each
    step's privacy loss :math:`Y = \log\frac{P}{Q}(X)`, :math:`X \sim P`, is
    discretised on the grid :math:`t_j = jh`, :math:`|t_j| \le L`, the grid
    shifted so the discrete mean equals the (truncated) continuous one, and the
    sum over all steps is the inverse FFT of the product of transforms. Then

    .. math::

        \delta(\varepsilon) = \mathbb E\big[(1 - e^{\varepsilon - \sum_i Y_i})_+\big]

    is inverted exactly between grid points. Following Gopi et al. (2021),
    Theorem 5.5, with mesh :math:`h = \varepsilon_{err} / \sqrt{T\log(12/\delta_{err})/2}`
    the true ε lies in :math:`[\varepsilon(\delta + \delta_{err}) - \varepsilon_{err},
    \varepsilon(\delta - \delta_{err}) + \varepsilon_{err}]`.

    Returns
    -------
    (float, float, float)
        Lower bound, estimate and upper bound on ε (all ≥ 0).

    References
    ----------
    Gopi, Lee & Wutschitz (2021), "Numerical Composition of Differential
    Privacy", NeurIPS, Theorem 5.5 and Remark 5.6 (arXiv:2106.02848);
    Koskela, Jälkö & Honkela (2020) for the FFT composition of privacy loss
    distributions.
    """
    if delta_error is None:
        delta_error = delta / 1000.0
    n_total = sum(n for _, _, n in history)
    h = eps_error / math.sqrt(n_total * math.log(12.0 / delta_error) / 2.0)
    half_width = _tail_width(history, delta_error / 8.0, orders) + 1.0
    m = int(math.ceil(half_width / h))
    size = next_fast_len(2 * m, real=True)
    size += size % 2
    if size > MAX_GRID_SIZE:
        raise ValueError(
            f"the PRV grid would need {size} points (> {MAX_GRID_SIZE}); this budget is "
            "far from useful. Increase `eps_error`, or use the RDP accountant."
        )
    m = size // 2
    lo, hi = -(m + 0.5) * h, (m - 0.5) * h
    idx = np.arange(-m, m)
    edges = (np.arange(-m, m + 1) - 0.5) * h
    spectrum = np.ones(size // 2 + 1, dtype=complex)
    shift = 0.0
    for sigma, q, n in history:
        pmf = _bin_masses(edges, q, sigma)
        pmf /= pmf.sum()  # truncate to the grid and renormalise
        mean_shift = _truncated_mean(q, sigma, lo, hi) - float(np.dot(idx * h, pmf))
        shift += n * mean_shift
        # index j lives at position j mod size: circular convolution adds indices
        spectrum *= rfft(np.fft.ifftshift(pmf)) ** n
    composed = np.fft.fftshift(irfft(spectrum, n=size))
    values = idx * h + shift

    # delta(eps) = D1 - e^eps D2 with suffix sums over values > eps; only eps >= 0 matters
    keep = values >= 0.0
    v, p = values[keep], np.clip(composed[keep], 0.0, None)
    d1 = np.cumsum(p[::-1])[::-1]
    d2 = np.cumsum((p * np.exp(-v))[::-1])[::-1]

    def eps_for(target: float) -> float:
        # delta at grid point v_k, counting only values strictly above it
        d1_next = np.append(d1[1:], 0.0)
        d2_next = np.append(d2[1:], 0.0)
        at_grid = d1_next - np.exp(v) * d2_next
        if target <= 0.0:
            return math.inf
        above = np.nonzero(at_grid >= target)[0]
        if above.size == 0:
            # eps lies below the first non-negative grid value v_0: there every kept value
            # is above eps, so delta(eps) = D1[0] - e^eps D2[0] (zero if even delta(0) < target)
            if d1[0] - d2[0] < target:
                return 0.0
            return max(math.log((d1[0] - target) / d2[0]), 0.0)
        k = int(above[-1])
        return max(math.log((d1_next[k] - target) / d2_next[k]), 0.0)

    upper = eps_for(delta - delta_error) + eps_error
    lower = max(eps_for(delta + delta_error) - eps_error, 0.0)
    return lower, eps_for(delta), upper
