r"""Privacy accounting for DP-SGD: how much ε do T noisy, subsampled steps spend?

Two accountants, one interface (:class:`Accountant`):

- ``"rdp"`` — :class:`RDPAccountant`: Rényi DP of the Poisson-subsampled
  Gaussian (Mironov, Talwar & Zhang 2019) converted with Balle et al. (2020),
  Theorem 21. Simple, fast, a little loose.
- ``"prv"`` — :class:`PRVAccountant`: numerical composition of privacy loss
  random variables (Gopi, Lee & Wutschitz 2021), near-exact; Opacus's default.

Always say which accountant produced a number: they differ (2.60 vs 2.39 for
the MNIST example below).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from respai._validation import check_delta, check_epsilon, check_positive, check_positive_int
from respai.exceptions import ParameterValueError
from respai.privacy.accounting.accountant import Accountant, check_sample_rate
from respai.privacy.accounting.prv import PRVAccountant
from respai.privacy.accounting.rdp import RDPAccountant
from respai.privacy.accounting.registry import (
    ACCOUNTANTS,
    create_accountant,
    get_accountant_class,
)

__all__ = [
    "Accountant",
    "RDPAccountant",
    "PRVAccountant",
    "ACCOUNTANTS",
    "get_accountant_class",
    "create_accountant",
    "dpsgd_epsilon",
    "calibrate_noise_multiplier",
]


def dpsgd_epsilon(
    sample_rate: float,
    noise_multiplier: float,
    steps: int,
    delta: float,
    *,
    accountant: str = "rdp",
) -> float:
    r"""ε spent by ``steps`` steps of DP-SGD (Poisson-subsampled Gaussian mechanism).

    Each step adds :math:`\mathcal N(0, \sigma^2 C^2)` to a sum of gradients
    clipped to norm :math:`C`, over a batch in which every example is included
    independently with probability :math:`q`.

    Parameters
    ----------
    sample_rate : float
        :math:`q \in (0, 1]` (batch size / dataset size).
    noise_multiplier : float
        :math:`\sigma > 0`.
    steps : int
        Number of steps :math:`T \ge 1`.
    delta : float
        δ in (0, 1).
    accountant : {"rdp", "prv"}, default "rdp", keyword-only
        Which accountant to use; see the module docstring.

    Returns
    -------
    float
        ε (for ``"prv"``, an upper bound within about 0.02 of the exact value).

    References
    ----------
    Abadi et al. (2016), "Deep Learning with Differential Privacy", CCS (DP-SGD);
    Mironov, Talwar & Zhang (2019), Section 3.3; Balle et al. (2020), Theorem 21;
    Gopi, Lee & Wutschitz (2021), Theorem 5.5.

    Examples
    --------
    >>> round(dpsgd_epsilon(256 / 60000, 1.1, 14063, 1e-5), 3)
    2.597
    >>> round(dpsgd_epsilon(256 / 60000, 1.1, 14063, 1e-5, accountant="prv"), 2)
    2.39
    """
    cls = get_accountant_class(accountant)
    q = check_sample_rate(sample_rate)
    sigma = check_positive("noise_multiplier", noise_multiplier)
    n = check_positive_int("steps", steps)
    dlt = check_delta(delta)
    acc = cls()
    acc.step(noise_multiplier=sigma, sample_rate=q, steps=n)
    return acc.get_epsilon(dlt)


def calibrate_noise_multiplier(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    *,
    accountant: str = "rdp",
    rtol: float = 1e-6,
) -> float:
    r"""Smallest noise multiplier σ whose ``steps`` steps spend at most ``target_epsilon``.

    ε decreases in σ, so the root of :math:`\varepsilon(\sigma) = \varepsilon^*`
    is bracketed by doubling/halving σ from 1 and refined with Brent's method
    on :math:`\log\sigma`; the returned σ is nudged up so that its ε does not
    exceed the target.

    Parameters
    ----------
    target_epsilon : float
        ε* > 0.
    delta : float
        δ in (0, 1).
    sample_rate : float
        :math:`q \in (0, 1]`.
    steps : int
        Number of steps ≥ 1.
    accountant : {"rdp", "prv"}, default "rdp", keyword-only
        Which accountant measures ε.
    rtol : float, default 1e-6, keyword-only
        Relative tolerance on σ.

    Returns
    -------
    float
        σ with :math:`\varepsilon(\sigma) \le \varepsilon^*`.

    Raises
    ------
    ParameterValueError
        If no σ reaches ``target_epsilon``: however much noise is added, the
        RDP conversion leaves ε ≥ about 0.1 at δ = 1e-5, and the PRV upper bound
        ε ≥ ``eps_error``.

    Examples
    --------
    >>> sigma = calibrate_noise_multiplier(3.0, 1e-5, 256 / 60000, 14063)
    >>> round(sigma, 3)
    1.0
    >>> dpsgd_epsilon(256 / 60000, sigma, 14063, 1e-5) <= 3.0
    True
    """
    cls = get_accountant_class(accountant)
    target = check_epsilon(target_epsilon, "target_epsilon")
    dlt = check_delta(delta)
    q = check_sample_rate(sample_rate)
    n = check_positive_int("steps", steps)
    tol = check_positive("rtol", rtol)

    def eps_at(log_sigma: float) -> float:
        acc = cls()
        acc.step(noise_multiplier=math.exp(log_sigma), sample_rate=q, steps=n)
        return acc.get_epsilon(dlt)

    floor = cls()._epsilon_floor(dlt)
    if target <= floor:
        raise ParameterValueError(
            f"`target_epsilon` = {target_epsilon!r} is unreachable with the {accountant!r} "
            f"accountant at delta={delta!r}: no noise level gets below {floor:.4g}. "
            "Ask for a larger epsilon (or, for 'rdp', try 'prv', which is tighter)."
        )
    hi = 0.0
    while eps_at(hi) > target:
        hi += math.log(2.0)
        if hi > math.log(1e4):
            raise ParameterValueError(
                f"`target_epsilon` = {target_epsilon!r} is unreachable with the {accountant!r} "
                f"accountant at delta={delta!r}: even noise_multiplier=1e4 spends more. "
                "Ask for a larger epsilon (or, for 'rdp', try 'prv', which is tighter)."
            )
    lo = hi - math.log(2.0)
    while lo > math.log(1e-3) and eps_at(lo) <= target:
        lo -= math.log(2.0)
    if eps_at(lo) <= target:
        return math.exp(lo)
    log_sigma = brentq(lambda s: eps_at(s) - target, lo, hi, xtol=tol / 4, rtol=1e-12)
    # step up until the guarantee holds (brentq may land just below the root)
    while eps_at(log_sigma) > target:
        log_sigma += tol / 4
    return math.exp(log_sigma)
