"""Warner's randomized response for one private bit per person."""

from __future__ import annotations

import math

import numpy as np

from respai._validation import check_binary_array, check_epsilon, check_rng

__all__ = ["randomized_response_probability", "randomized_response", "randomized_response_estimate"]


def randomized_response_probability(epsilon: float) -> float:
    r"""Probability :math:`p = e^\varepsilon / (1 + e^\varepsilon)` of answering truthfully.

    Randomized response is ε-DP exactly when
    :math:`\varepsilon = \ln\frac{p}{1-p}`: the ratio of the probabilities of
    any report under the two possible true bits is at most :math:`p/(1-p)`.

    Examples
    --------
    >>> round(randomized_response_probability(math.log(3)), 6)
    0.75
    """
    eps = check_epsilon(epsilon)
    # 1 / (1 + e^-eps) is the same number without overflow for large epsilon.
    return 1.0 / (1.0 + math.exp(-eps))


def randomized_response(
    bits: np.ndarray,
    epsilon: float,
    *,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Report each bit truthfully with probability :math:`p`, flipped otherwise.

    .. math::

        \Pr[\text{report} = b] = p = \frac{e^{\varepsilon}}{1 + e^{\varepsilon}}, \qquad
        \Pr[\text{report} = 1 - b] = 1 - p,

    which satisfies ε-local differential privacy for each person.

    Parameters
    ----------
    bits : array_like of {0, 1} or bool
        One true bit per person.
    epsilon : float
        Privacy budget :math:`\varepsilon > 0` of each report.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness (not cryptographically secure).

    Returns
    -------
    numpy.ndarray of int
        The noisy reports, 0/1, same shape as ``bits``.

    References
    ----------
    Warner (1965), "Randomized Response: A Survey Technique for Eliminating
    Evasive Answer Bias", JASA 60(309). Dwork & Roth (2014), Section 3.2.

    Examples
    --------
    >>> randomized_response([1, 1, 0, 0], epsilon=5.0, rng=0).tolist()
    [1, 1, 0, 0]
    """
    true_bits = check_binary_array("bits", bits)
    p_truth = randomized_response_probability(epsilon)
    generator = check_rng(rng)
    keep = generator.random(true_bits.shape) < p_truth
    return np.where(keep, true_bits, 1 - true_bits)


def randomized_response_estimate(noisy_bits: np.ndarray, epsilon: float) -> float:
    r"""Unbiased estimate of the true proportion of ones from randomized responses.

    With :math:`\bar y` the mean of the reports and :math:`\pi` the true
    proportion, :math:`\mathbb{E}[\bar y] = p\pi + (1-p)(1-\pi)`, hence

    .. math::

        \hat\pi = \frac{\bar y - (1 - p)}{2p - 1}, \qquad
        \operatorname{Var}[\hat\pi] = \frac{\pi(1-\pi)}{n} + \frac{p(1-p)}{n(2p-1)^2}.

    The estimate is *not* clipped to [0, 1]: clipping would bias it.

    Parameters
    ----------
    noisy_bits : array_like of {0, 1}
        Reports produced by :func:`randomized_response` (non-empty).
    epsilon : float
        The ε they were produced with.

    Returns
    -------
    float
        :math:`\hat\pi`, an unbiased estimate (may fall slightly outside [0, 1]).

    References
    ----------
    Warner (1965), JASA 60(309), eq. (5).

    Examples
    --------
    >>> randomized_response_estimate([1, 0, 1, 1], epsilon=math.log(3))
    1.0
    """
    reports = check_binary_array("noisy_bits", noisy_bits)
    if reports.size == 0:
        from respai.exceptions import ParameterValueError

        raise ParameterValueError("`noisy_bits` must be non-empty; got an empty array.")
    p_truth = randomized_response_probability(epsilon)
    return float((reports.mean() - (1.0 - p_truth)) / (2.0 * p_truth - 1.0))
