r"""Empirical lower bounds on ε from the outcomes of a privacy audit.

If a mechanism :math:`M` is :math:`(\varepsilon, \delta)`-DP then for
neighbouring datasets :math:`D_1` (with the canary) and :math:`D_0`
(without) and every event :math:`O` ("the attack says member"),

.. math::

    \Pr[M(D_1) \in O] \le e^{\varepsilon} \Pr[M(D_0) \in O] + \delta
    \quad\Longrightarrow\quad
    \varepsilon \ge \ln \frac{\mathrm{TPR} - \delta}{\mathrm{FPR}},

and, applied to the complement :math:`O^c` with the roles of :math:`D_0` and
:math:`D_1` swapped (DP is symmetric in the two neighbours),
:math:`\varepsilon \ge \ln\frac{1 - \mathrm{FPR} - \delta}{1 - \mathrm{TPR}}`.
An audit runs the mechanism many times on both datasets, counts how often the
attack fires, and replaces TPR and FPR by one-sided Clopper–Pearson bounds so
that the resulting ε is a lower bound with confidence :math:`1 - \alpha`.
"""

from __future__ import annotations

import math

from scipy import stats

from respai._validation import check_probability
from respai.exceptions import ParameterValueError
from respai.privacy.attacks._checks import check_count

__all__ = ["clopper_pearson_lower", "clopper_pearson_upper", "epsilon_lower_bound"]


def _check_alpha(alpha: object) -> float:
    return check_probability("alpha", alpha, closed=False)


def _check_trials(successes: object, trials: object) -> tuple[int, int]:
    n = check_count("trials", trials)
    if n == 0:
        raise ParameterValueError("`trials` must be a positive integer; got 0.")
    k = check_count("successes", successes, upper=n, upper_name="trials")
    return k, n


def clopper_pearson_lower(successes: int, trials: int, alpha: float = 0.05) -> float:
    r"""One-sided Clopper–Pearson lower confidence bound on a binomial proportion.

    .. math::

        \underline{p} = \operatorname{Beta}^{-1}(\alpha;\ k,\ n - k + 1),
        \qquad \underline{p} = 0 \text{ if } k = 0,

    so that :math:`\Pr[p \ge \underline{p}] \ge 1 - \alpha` for every true
    :math:`p` (Clopper & Pearson 1934, "The use of confidence or fiducial
    limits illustrated in the case of the binomial", Biometrika 26(4)).

    Parameters
    ----------
    successes : int
        Number of successes :math:`k`, ``0 <= k <= trials``.
    trials : int
        Number of independent trials :math:`n > 0`.
    alpha : float
        Probability in ``(0, 1)`` that the bound is wrong.

    Returns
    -------
    float
        The bound, in ``[0, k/n]``.

    Examples
    --------
    >>> round(clopper_pearson_lower(90, 100, alpha=0.025), 4)
    0.8238
    """
    k, n = _check_trials(successes, trials)
    a = _check_alpha(alpha)
    if k == 0:
        return 0.0
    return float(stats.beta.ppf(a, k, n - k + 1))


def clopper_pearson_upper(successes: int, trials: int, alpha: float = 0.05) -> float:
    r"""One-sided Clopper–Pearson upper confidence bound on a binomial proportion.

    .. math::

        \overline{p} = \operatorname{Beta}^{-1}(1 - \alpha;\ k + 1,\ n - k),
        \qquad \overline{p} = 1 \text{ if } k = n.

    With :math:`k = 0` this is :math:`1 - \alpha^{1/n}` (about
    :math:`3/n` at :math:`\alpha = 0.05`, the "rule of three").

    Examples
    --------
    >>> round(clopper_pearson_upper(0, 100, alpha=0.05), 4)
    0.0295
    """
    k, n = _check_trials(successes, trials)
    a = _check_alpha(alpha)
    if k == n:
        return 1.0
    return float(stats.beta.ppf(1.0 - a, k + 1, n - k))


def epsilon_lower_bound(
    tp: int,
    fp: int,
    positives: int,
    negatives: int,
    alpha: float = 0.05,
    delta: float = 0.0,
) -> float:
    r"""Lower bound on ε, with confidence :math:`1 - \alpha`, from an audit's counts.

    The estimator of Jagielski, Ullman & Oprea (2020), "Auditing
    Differentially Private Machine Learning: How Private is Private SGD?",
    NeurIPS, Algorithm 2 ("DP empirical ε estimation"):

    .. math::

        \hat\varepsilon_{\mathrm{LB}} = \max\left(0,\
            \ln \frac{\underline{\mathrm{TPR}} - \delta}{\overline{\mathrm{FPR}}},\
            \ln \frac{1 - \overline{\mathrm{FPR}} - \delta}{1 - \underline{\mathrm{TPR}}}
        \right),
        \qquad
        \underline{\mathrm{TPR}} = \mathrm{CP}_{\text{lower}}(tp, P, \alpha/2),\quad
        \overline{\mathrm{FPR}} = \mathrm{CP}_{\text{upper}}(fp, N, \alpha/2).

    **Confidence level.** Each of the two one-sided Clopper–Pearson bounds is
    taken at level α/2: the upper bound on the FPR is the upper end, and the
    lower bound on the TPR the lower end, of the two-sided exact interval at
    confidence :math:`1 - \alpha`
    (``scipy.stats.binomtest(k, n).proportion_ci(1 - alpha, "exact")``). This is
    what Jagielski et al.'s code does (``clopper_pearson(count, trials, conf)``
    puts ``conf / 2`` in each tail, and is called with ``conf = 0.01`` for the
    bounds they report at 99 % confidence; github.com/jagielski/auditing-dpsgd,
    ``code/bkd_parser.py``). By a union bound both one-sided bounds hold
    together with probability at least :math:`1 - \alpha`, and whenever they
    do the returned number is at most the mechanism's true ε. One bound at
    level α each would only give :math:`1 - 2\alpha`.

    **Both orderings.** If the mechanism is :math:`(\varepsilon,\delta)`-DP,
    :math:`\mathrm{TPR} \le e^\varepsilon\,\mathrm{FPR} + \delta` (event "member")
    and :math:`\mathrm{TNR} \le e^\varepsilon\,\mathrm{FNR} + \delta` (event
    "non-member", with :math:`D_0` and :math:`D_1` swapped), where
    :math:`\mathrm{TNR} = 1 - \mathrm{FPR} \ge 1 - \overline{\mathrm{FPR}}` and
    :math:`\mathrm{FNR} = 1 - \mathrm{TPR} \le 1 - \underline{\mathrm{TPR}}`. Both
    bounds use the *same* two confidence bounds, so taking the larger costs no
    extra confidence; the second is the larger when
    :math:`\underline{\mathrm{TPR}} + \overline{\mathrm{FPR}} > 1` (Jagielski et
    al.'s code makes the same choice). The direction of the attack ("member"
    means a *high* score) must be fixed before the audit: an attack that fires
    less often with the canary gives 0 here.

    Parameters
    ----------
    tp : int
        Trials *with* the canary (:math:`D_1`) in which the attack said "member".
    fp : int
        Trials *without* the canary (:math:`D_0`) in which it said "member".
    positives : int
        Number :math:`P > 0` of trials with the canary.
    negatives : int
        Number :math:`N > 0` of trials without it.
    alpha : float
        Probability in ``(0, 1)`` that the bound exceeds the true ε (α/2 per
        one-sided Clopper–Pearson bound).
    delta : float
        The δ of the guarantee being audited, in ``[0, 1)``.

    Returns
    -------
    float
        :math:`\hat\varepsilon_{\mathrm{LB}} \ge 0`, in nats; exactly 0 when the
        counts give no evidence of privacy loss (both ratios at most 1).

    Raises
    ------
    ParameterTypeError
        If a count is not an integer.
    ParameterValueError
        If a count is negative, ``tp > positives``, ``fp > negatives``, a
        number of trials is 0, ``alpha`` is outside ``(0, 1)`` or ``delta``
        outside ``[0, 1)``.

    Examples
    --------
    A randomized-response bit with ε = ln 3 (true rates 0.75 and 0.25),
    audited with 1,000 trials on each side (the true ε is ln 3 ≈ 1.099):

    >>> round(epsilon_lower_bound(750, 250, 1000, 1000, alpha=0.05), 3)
    0.954
    >>> epsilon_lower_bound(50, 50, 100, 100)
    0.0

    An attack that almost never misses a canary but fires on half of the
    clean runs: the second ordering (TNR over FNR) gives the bound.

    >>> round(epsilon_lower_bound(999, 500, 1000, 1000), 3)
    4.434
    """
    n_pos = check_count("positives", positives)
    n_neg = check_count("negatives", negatives)
    for name, value in (("positives", n_pos), ("negatives", n_neg)):
        if value == 0:
            raise ParameterValueError(
                f"`{name}` must be a positive integer; got 0. Run at least one trial on each side."
            )
    k1 = check_count("tp", tp, upper=n_pos, upper_name="positives")
    k0 = check_count("fp", fp, upper=n_neg, upper_name="negatives")
    a = _check_alpha(alpha)
    d = check_probability("delta", delta)
    if d >= 1.0:
        raise ParameterValueError(
            f"`delta` must be in [0, 1); got {delta!r}. Pass the δ of the audited guarantee, "
            "e.g. 1e-5, or 0 for pure DP."
        )
    tpr_lower = clopper_pearson_lower(k1, n_pos, a / 2)
    fpr_upper = clopper_pearson_upper(k0, n_neg, a / 2)
    # Both denominators are > 0: the upper bound on a rate is > 0 even with 0 successes,
    # and the lower bound is < 1 even with all successes.
    bound = 0.0
    for numerator, denominator in (
        (tpr_lower - d, fpr_upper),  # event "member":     TPR <= e^eps FPR + delta
        (1.0 - fpr_upper - d, 1.0 - tpr_lower),  # "non-member": TNR <= e^eps FNR + delta
    ):
        if numerator > denominator:
            bound = max(bound, math.log(numerator / denominator))
    return bound
