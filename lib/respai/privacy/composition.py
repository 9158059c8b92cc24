r"""Basic sequential composition of pure ε-DP releases.

Running mechanisms with budgets :math:`\varepsilon_1, \dots, \varepsilon_k` on the
same data is :math:`(\sum_j \varepsilon_j)`-DP (Dwork & Roth 2014, Theorem 3.16).
Tighter accounting (advanced composition, RDP) lives in
:mod:`respai.privacy.accounting`.
"""

from __future__ import annotations

import numpy as np

from respai._validation import check_epsilon, check_positive_int
from respai.exceptions import ParameterValueError

__all__ = ["sequential_composition", "split_budget"]


def sequential_composition(epsilons) -> float:
    r"""Total privacy cost :math:`\varepsilon = \sum_j \varepsilon_j` of several releases.

    Examples
    --------
    >>> sequential_composition([0.5, 0.25, 0.25])
    1.0
    """
    budgets = [check_epsilon(e, name=f"epsilons[{i}]") for i, e in enumerate(epsilons)]
    if not budgets:
        raise ParameterValueError("`epsilons` must be non-empty; got an empty sequence.")
    return float(sum(budgets))


def split_budget(total_epsilon: float, n_queries: int) -> np.ndarray:
    r"""Split a total budget equally: :math:`\varepsilon_j = \varepsilon / k` for k queries.

    By sequential composition the k releases together are exactly
    :math:`\varepsilon`-DP; each answer then carries k times more Laplace noise
    than if it were asked alone.

    Parameters
    ----------
    total_epsilon : float
        Total budget ε > 0.
    n_queries : int
        Number of queries k > 0.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_queries,)``, entries summing to ``total_epsilon``.

    Examples
    --------
    >>> split_budget(1.0, 4).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    total = check_epsilon(total_epsilon, name="total_epsilon")
    k = check_positive_int("n_queries", n_queries)
    return np.full(k, total / k)
