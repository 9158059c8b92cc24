r"""Mironov's floating-point attack on the textbook Laplace mechanism.

Over the reals, the Laplace mechanism :math:`f(x) + Y` is ε-DP. In doubles
it is not: the textbook sampler
(:func:`~respai.privacy.mechanisms.naive_laplace_sample`) can produce only
:math:`2^{53} - 1` noise values, and :math:`f(x) \oplus Y` rounds the sum to
the doubles near :math:`f(x) + Y`. Which doubles can come out therefore
depends on :math:`f(x)`: for neighbouring answers such as 0 and 1, most
outputs can be produced from one of them only, and seeing such an output
tells the attacker which dataset was used, with certainty (Mironov 2012).

The attack here decides, for each output, which of two candidate inputs
produced it: if exactly one of them can produce it, that one; otherwise
(both can, or neither) the closer one, which is the likelihood-ratio test
for Laplace noise. Reachability is decided exactly, by a binary search over
the sampler's :math:`2^{53} - 1` uniform values: the sum
:math:`f(x) \oplus Y(k)` is monotone in the sampler's integer :math:`k`.

References
----------
Mironov (2012), "On Significance of the Least Significant Bits for
Differential Privacy", ACM CCS.
"""

from __future__ import annotations

import numpy as np

from respai._validation import check_finite_array, check_positive
from respai.exceptions import ParameterValueError
from respai.privacy.mechanisms.naive_laplace import (
    NAIVE_UNIFORM_BITS,
    naive_laplace_transform,
    naive_uniform,
)

__all__ = ["naive_laplace_reachable", "floating_point_attack", "distinguishing_advantage"]


def _check_value(name: str, value: object) -> float:
    arr = check_finite_array(name, value)
    if arr.ndim != 0:
        raise ParameterValueError(f"`{name}` must be a single number; got shape {arr.shape}.")
    return float(arr)


def naive_laplace_reachable(output: object, value: float, scale: float) -> np.ndarray:
    r"""Whether each ``output`` can be produced by ``value`` ⊕ the textbook Laplace sampler.

    True exactly when some :math:`k \in \{1, \dots, 2^{53} - 1\}` gives
    ``value + naive_laplace_transform(naive_uniform(k), scale) == output`` in
    doubles. The sum is non-decreasing in :math:`k`, so a binary search over
    :math:`k` (53 steps, vectorised over the outputs) finds the smallest
    :math:`k` whose sum reaches ``output`` and checks equality.

    Parameters
    ----------
    output : float or array_like
        Released values (finite).
    value : float
        Candidate true answer :math:`f(x)`.
    scale : float
        Noise scale b > 0 of the mechanism (:math:`\Delta/\varepsilon`).

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``output``.

    Examples
    --------
    >>> from respai.privacy.mechanisms import naive_laplace_mechanism
    >>> out = naive_laplace_mechanism(0.0, 1.0, 0.5, rng=0)
    >>> bool(naive_laplace_reachable(out, 0.0, 2.0)), bool(naive_laplace_reachable(out, 1.0, 2.0))
    (True, False)
    """
    target = check_finite_array("output", output)
    x = _check_value("value", value)
    b = check_positive("scale", scale)

    def released(k: np.ndarray) -> np.ndarray:
        return x + naive_laplace_transform(naive_uniform(k), b)

    lo = np.ones(target.shape, dtype=np.int64)
    hi = np.full(target.shape, 2**NAIVE_UNIFORM_BITS - 1, dtype=np.int64)
    active = lo < hi
    while active.any():  # each interval [lo, hi] halves every time: at most 53 steps
        mid = (lo + hi) // 2
        high_enough = released(mid) >= target
        hi = np.where(active & high_enough, mid, hi)
        lo = np.where(active & ~high_enough, mid + 1, lo)
        active = lo < hi
    return released(lo) == target


def floating_point_attack(output: object, value0: float, value1: float, scale: float) -> np.ndarray:
    r"""Guess which of two neighbouring inputs produced each output of the naive Laplace mechanism.

    With :math:`R_j` = "``output`` is reachable from ``value_j``"
    (:func:`naive_laplace_reachable`):

    .. math::

        \text{guess} = \begin{cases}
            1 & R_1 \wedge \neg R_0, \\
            0 & R_0 \wedge \neg R_1, \\
            \mathbb 1\big[|o - x_1| < |o - x_0|\big] & \text{otherwise,}
        \end{cases}

    where the last case is the likelihood-ratio test for Laplace noise.
    Against an ε-DP mechanism no rule can reach an advantage
    (:func:`distinguishing_advantage`) above :math:`\tanh(\varepsilon/2)`;
    against the naive sampler this one does, because most outputs fall in
    the first two cases.

    Parameters
    ----------
    output : float or array_like
        Released values (finite).
    value0, value1 : float
        The two candidate answers :math:`f(x_0) \ne f(x_1)`, e.g. a count with
        and without one person.
    scale : float
        Noise scale b > 0 of the naive mechanism.

    Returns
    -------
    numpy.ndarray of int
        0 (guess ``value0``) or 1 (guess ``value1``), shape of ``output``.

    References
    ----------
    Mironov (2012), ACM CCS (the attack); Kairouz, Oh & Viswanath (2015),
    ICML (the :math:`\tanh(\varepsilon/2)` bound on the advantage).

    Examples
    --------
    >>> from respai.privacy.mechanisms import naive_laplace_mechanism
    >>> out_0 = naive_laplace_mechanism(np.zeros(1000), 1.0, 0.5, rng=0)  # b = 2
    >>> out_1 = naive_laplace_mechanism(np.ones(1000), 1.0, 0.5, rng=1)
    >>> advantage = distinguishing_advantage(floating_point_attack(out_0, 0.0, 1.0, 2.0),
    ...                                      floating_point_attack(out_1, 0.0, 1.0, 2.0))
    >>> round(advantage, 3), round(float(np.tanh(0.25)), 3)  # far above what 0.5-DP allows
    (0.805, 0.245)
    """
    x0 = _check_value("value0", value0)
    x1 = _check_value("value1", value1)
    if x0 == x1:
        raise ParameterValueError(
            f"`value0` and `value1` must differ; got {value0!r} twice. Nothing to distinguish."
        )
    target = check_finite_array("output", output)
    from_0 = naive_laplace_reachable(target, x0, scale)
    from_1 = naive_laplace_reachable(target, x1, scale)
    closer_to_1 = np.abs(target - x1) < np.abs(target - x0)
    guess = np.where(from_1 & ~from_0, True, np.where(from_0 & ~from_1, False, closer_to_1))
    return guess.astype(np.int64)


def distinguishing_advantage(guesses_given_0: object, guesses_given_1: object) -> float:
    r"""Advantage :math:`\Pr[\text{guess } 1 \mid x_1] - \Pr[\text{guess } 1 \mid x_0]`.

    The true-positive rate minus the false-positive rate of an attacker who
    guesses which of two neighbouring datasets was used. Any ε-DP mechanism
    keeps it at most :math:`\tanh(\varepsilon/2) = (e^\varepsilon - 1)/(e^\varepsilon + 1)`;
    its accuracy on a balanced pair is :math:`(1 + \text{advantage})/2`.

    Parameters
    ----------
    guesses_given_0, guesses_given_1 : array_like of 0/1
        The attacker's guesses on outputs produced from :math:`x_0` and from
        :math:`x_1` (non-empty).

    Returns
    -------
    float
        In [-1, 1].

    Examples
    --------
    >>> distinguishing_advantage([0, 0, 1, 0], [1, 1, 1, 0])
    0.5
    """
    rates = []
    for name, guesses in (
        ("guesses_given_0", guesses_given_0),
        ("guesses_given_1", guesses_given_1),
    ):
        arr = np.asarray(guesses)
        if arr.size == 0 or not np.isin(arr, (0, 1)).all():
            raise ParameterValueError(
                f"`{name}` must be a non-empty array of 0/1 guesses; got {guesses!r}."
            )
        rates.append(float(arr.mean()))
    return rates[1] - rates[0]
