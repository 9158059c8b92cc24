r"""Composition: the privacy cost of running several mechanisms on the same data.

Three ways to add up k releases, from loosest to exact:

- **basic** (sequential) composition, :func:`sequential_composition`:
  budgets add, :math:`(\sum_j \varepsilon_j, \sum_j \delta_j)` (Dwork & Roth
  2014, Theorem 3.16);
- **advanced** composition, :func:`advanced_composition`: ε grows like
  :math:`\sqrt{k}` at the price of an extra δ' (Dwork, Rothblum & Vadhan 2010;
  Dwork & Roth 2014, Theorem 3.20);
- **accountants** that track the whole privacy loss distribution, Rényi DP and
  PRV (:mod:`respai.privacy.accounting`); for k Gaussian mechanisms
  :func:`gaussian_composition_epsilon` compares all of them with the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize_scalar

from respai._validation import (
    check_delta,
    check_epsilon,
    check_positive,
    check_positive_int,
    check_probability,
)
from respai.exceptions import ParameterValueError

__all__ = [
    "sequential_composition",
    "split_budget",
    "advanced_composition",
    "gaussian_composition_epsilon",
    "COMPOSITION_METHODS",
]


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


def advanced_composition(
    epsilon: float, delta: float, k: int, delta_prime: float
) -> tuple[float, float]:
    r"""Advanced composition of k (ε, δ)-DP mechanisms (Dwork, Rothblum & Vadhan 2010).

    Running k mechanisms, each (ε, δ)-DP, adaptively on the same data is
    :math:`(\varepsilon', k\delta + \delta')`-DP for every :math:`\delta' > 0`, with

    .. math::

        \varepsilon' = \sqrt{2k\ln(1/\delta')}\;\varepsilon + k\,\varepsilon\,(e^{\varepsilon} - 1).

    For small ε the second term is about :math:`k\varepsilon^2`, so ε' grows like
    :math:`\sqrt{k}\,\varepsilon` instead of the :math:`k\varepsilon` of basic
    composition; for few mechanisms or large ε it is *worse* than basic
    composition (take the smaller of the two: both are valid).

    Parameters
    ----------
    epsilon : float
        ε > 0 of each mechanism.
    delta : float
        δ in [0, 1) of each mechanism (0 for pure ε-DP mechanisms such as Laplace).
    k : int
        Number of mechanisms, ≥ 1.
    delta_prime : float
        The extra failure probability δ' in (0, 1) that the theorem trades for a
        smaller ε'.

    Returns
    -------
    (float, float)
        :math:`(\varepsilon', k\delta + \delta')`.

    Raises
    ------
    ParameterValueError
        If a parameter is out of range, or :math:`k\delta + \delta' \ge 1`
        (the guarantee would be vacuous).

    References
    ----------
    Dwork, Rothblum & Vadhan (2010), "Boosting and Differential Privacy", FOCS,
    Theorem III.3. Dwork & Roth (2014), *The Algorithmic Foundations of
    Differential Privacy*, Theorem 3.20.

    Examples
    --------
    >>> eps, delta = advanced_composition(0.1, 0.0, 100, 1e-5)
    >>> round(eps, 4), delta
    (5.8502, 1e-05)
    """
    eps = check_epsilon(epsilon)
    dlt = check_probability("delta", delta)
    if dlt >= 1.0:
        raise ParameterValueError(
            f"`delta` must be in [0, 1); got {delta!r}. A delta of 1 is no guarantee at all."
        )
    n = check_positive_int("k", k)
    extra = check_delta(delta_prime, name="delta_prime")
    total_delta = n * dlt + extra
    if total_delta >= 1.0:
        raise ParameterValueError(
            f"`k * delta + delta_prime` must be < 1; got {n} * {delta!r} + {delta_prime!r} = "
            f"{total_delta!r}, a vacuous guarantee. Use mechanisms with a smaller delta."
        )
    eps_total = math.sqrt(2.0 * n * math.log(1.0 / extra)) * eps + n * eps * math.expm1(eps)
    return float(eps_total), float(total_delta)


# --- k Gaussian mechanisms under each composition method ---------------------------


def _gaussian_epsilon(sigma: float, delta: float) -> float:
    from respai.privacy.mechanisms.gaussian import gaussian_epsilon

    return gaussian_epsilon(sigma, delta)


def _basic(sigma: float, k: int, delta: float) -> float:
    # each mechanism gets delta / k, so the k deltas add up to delta
    return k * _gaussian_epsilon(sigma, delta / k)


def _advanced(sigma: float, k: int, delta: float) -> float:
    # any split delta = k * delta_0 + delta' is valid; search for the best one
    def eps_for(fraction: float) -> float:
        delta_0 = (1.0 - fraction) * delta / k
        eps_0 = _gaussian_epsilon(sigma, delta_0)
        if eps_0 == 0.0:
            return 0.0
        return advanced_composition(eps_0, delta_0, k, fraction * delta)[0]

    best = minimize_scalar(eps_for, bounds=(1e-3, 1.0 - 1e-3), method="bounded")
    return float(min(best.fun, eps_for(0.5)))


def _accountant(name: str) -> Callable[[float, int, float], float]:
    def epsilon(sigma: float, k: int, delta: float) -> float:
        from respai.privacy.accounting import create_accountant

        accountant = create_accountant(name)
        accountant.step(noise_multiplier=sigma, sample_rate=1.0, steps=k)
        return accountant.get_epsilon(delta)

    return epsilon


def _exact(sigma: float, k: int, delta: float) -> float:
    # k Gaussian mechanisms with noise sigma are one with noise sigma / sqrt(k)
    return _gaussian_epsilon(sigma / math.sqrt(k), delta)


#: Composition methods known to :func:`gaussian_composition_epsilon`, loosest first.
COMPOSITION_METHODS: dict[str, Callable[[float, int, float], float]] = {
    "basic": _basic,
    "advanced": _advanced,
    "rdp": _accountant("rdp"),
    "prv": _accountant("prv"),
    "exact": _exact,
}


def gaussian_composition_epsilon(
    noise_multiplier: float, steps: int, delta: float, *, method: str
) -> float:
    r"""ε after composing ``steps`` Gaussian mechanisms, by one composition method.

    Each step releases a query of L2 sensitivity 1 plus
    :math:`\mathcal N(0, \sigma^2)` noise (``noise_multiplier`` σ), and the k
    steps together must be (ε, δ)-DP. The methods, loosest first:

    - ``"basic"``: each step is :math:`(\varepsilon_0, \delta/k)`-DP with the
      exact per-step :math:`\varepsilon_0` (:func:`~respai.privacy.mechanisms.gaussian_epsilon`);
      :math:`\varepsilon = k\varepsilon_0` (Dwork & Roth 2014, Theorem 3.16);
    - ``"advanced"``: :func:`advanced_composition` of per-step
      :math:`(\varepsilon_0, \delta_0)`, with :math:`\delta = k\delta_0 + \delta'`
      split to minimise ε (a bounded scalar search over the split);
    - ``"rdp"``: Rényi DP, :math:`k\alpha/(2\sigma^2)` at each order α, converted
      once (:class:`~respai.privacy.accounting.RDPAccountant`);
    - ``"prv"``: numerical composition of the privacy loss distribution, an
      upper bound within about 0.02 of the exact value
      (:class:`~respai.privacy.accounting.PRVAccountant`);
    - ``"exact"``: k Gaussian mechanisms are one Gaussian mechanism with noise
      :math:`\sigma/\sqrt{k}` (Dong, Roth & Su 2022, Corollary 3.3), so
      ε = ``gaussian_epsilon(sigma / sqrt(k), delta)`` (Balle & Wang 2018).

    Parameters
    ----------
    noise_multiplier : float
        σ > 0, the noise standard deviation per step over the L2 sensitivity.
    steps : int
        Number of mechanisms k ≥ 1.
    delta : float
        Total δ in (0, 1).
    method : {"basic", "advanced", "rdp", "prv", "exact"}, keyword-only
        Composition method (see above).

    Returns
    -------
    float
        ε ≥ 0 of the whole composition.

    Examples
    --------
    >>> [round(gaussian_composition_epsilon(100.0, 1000, 1e-5, method=m), 2)
    ...  for m in ("basic", "advanced", "rdp", "exact")]
    [44.3, 9.25, 1.31, 1.2]
    """
    try:
        compose = COMPOSITION_METHODS[method]
    except (KeyError, TypeError):
        known = ", ".join(repr(name) for name in COMPOSITION_METHODS)
        raise ParameterValueError(f"`method` must be one of {known}; got {method!r}.") from None
    sigma = check_positive("noise_multiplier", noise_multiplier)
    k = check_positive_int("steps", steps)
    dlt = check_delta(delta)
    return float(compose(sigma, k, dlt))
