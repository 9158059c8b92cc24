r"""Global sensitivity of simple queries.

Neighbouring datasets here differ in **one person's record being replaced**
(the dataset size :math:`n` is public; "bounded DP", Dwork & Roth 2014,
Section 2.3). Under this relation the L1 sensitivity of a query is

.. math::  \Delta_1 f = \max_{x \simeq x'} \lvert f(x) - f(x') \rvert .
"""

from __future__ import annotations

import math

from respai._validation import _as_real, check_positive_int
from respai.exceptions import ParameterValueError

__all__ = ["count_sensitivity", "bounded_sum_sensitivity", "clipped_mean_sensitivity"]


def _check_bounds(lower: float, upper: float) -> tuple[float, float]:
    lo, hi = _as_real("lower", lower), _as_real("upper", upper)
    if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ParameterValueError(
            f"`lower` and `upper` must be finite with lower < upper; got lower={lower!r}, "
            f"upper={upper!r}. They are the clipping range, fixed before seeing the data."
        )
    return lo, hi


def count_sensitivity() -> float:
    r"""Sensitivity of a counting query "how many records satisfy P?": :math:`\Delta = 1`.

    Replacing one record changes whether *that* record satisfies P, so the
    count moves by at most one.

    Examples
    --------
    >>> count_sensitivity()
    1.0
    """
    return 1.0


def bounded_sum_sensitivity(lower: float, upper: float) -> float:
    r"""Sensitivity of :math:`\sum_i \operatorname{clip}(x_i, L, U)`: :math:`\Delta = U - L`.

    Replacing one clipped value :math:`L` by :math:`U` moves the sum by
    :math:`U - L`, and no replacement moves it more.

    Parameters
    ----------
    lower, upper : float
        Clipping range :math:`[L, U]`, chosen without looking at the data.

    Examples
    --------
    >>> bounded_sum_sensitivity(0, 100)
    100.0
    """
    lo, hi = _check_bounds(lower, upper)
    return hi - lo


def clipped_mean_sensitivity(lower: float, upper: float, n: int) -> float:
    r"""Sensitivity of the mean of :math:`n` clipped values: :math:`\Delta = (U - L)/n`.

    With :math:`n` public, the mean is the bounded sum divided by a constant.

    Parameters
    ----------
    lower, upper : float
        Clipping range :math:`[L, U]`.
    n : int
        Public number of records, > 0.

    Examples
    --------
    >>> clipped_mean_sensitivity(0, 100, n=50)
    2.0
    """
    return bounded_sum_sensitivity(lower, upper) / check_positive_int("n", n)
