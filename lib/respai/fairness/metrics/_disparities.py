r"""Group-fairness disparities: demographic parity, equal opportunity, equalized odds.

Each is a thin wrapper over one engine (:mod:`._grouping`): compute a rate per
group, then the largest difference (or smallest ratio) between groups. With
:math:`A` the sensitive feature(s), :math:`Y` the label and :math:`\hat Y`
the prediction, the criteria are

* demographic parity [1]_: :math:`P(\hat Y=1 \mid A=a)` equal for all :math:`a`;
* equal opportunity [2]_: :math:`P(\hat Y=1 \mid Y=1, A=a)` (TPR) equal;
* equalized odds [2]_: TPR *and* FPR, :math:`P(\hat Y=1 \mid Y=0, A=a)`, equal.

The arguments and results match ``fairlearn.metrics`` 0.15 (same names,
``method`` and ``agg``), without sample weights. Unlike fairlearn, a group
whose rate is undefined (no positives for a TPR) or a single group raise a
:class:`~respai.exceptions.ParameterValueError` instead of returning 0.

References
----------
.. [1] C. Dwork, M. Hardt, T. Pitassi, O. Reingold and R. Zemel, "Fairness
   Through Awareness", ITCS 2012 (statistical parity, Sec. 3).
.. [2] M. Hardt, E. Price and N. Srebro, "Equality of Opportunity in
   Supervised Learning", NeurIPS 2016, Definitions 1 and 2.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from respai.fairness.metrics._checks import (
    check_agg,
    check_array_1d,
    check_binary,
    check_consistent_length,
    check_method,
)
from respai.fairness.metrics._grouping import by_group, difference, ratio, split_groups

__all__ = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
]


def _prepare(y_true: object, y_pred: object, sensitive_features: object, pos_label: Any):
    t = check_binary("y_true", y_true, pos_label=pos_label)
    p = check_binary("y_pred", y_pred, pos_label=pos_label)
    n = check_consistent_length(y_true=t, y_pred=p)
    return t, p, split_groups(sensitive_features, n)


def _selection(t: np.ndarray, p: np.ndarray) -> float:
    return float(p.mean())


def _tpr(t: np.ndarray, p: np.ndarray) -> float:
    return float(p[t].mean())


def _fpr(t: np.ndarray, p: np.ndarray) -> float:
    return float(p[~t].mean())


def _selection_rates(y_true, y_pred, sensitive_features, pos_label):
    # Demographic parity ignores the labels' values: only y_pred must be binary.
    p = check_binary("y_pred", y_pred, pos_label=pos_label)
    n = len(p)
    if y_true is not None:
        n = check_consistent_length(y_true=check_array_1d("y_true", y_true), y_pred=p)
    t = np.zeros(n, dtype=bool)
    groups = split_groups(sensitive_features, n)
    return by_group(_selection, t, p, groups), _selection(t, p)


def demographic_parity_difference(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    pos_label: Any = 1,
) -> float:
    r"""Largest gap in selection rate between groups.

    .. math:: \max_a P(\hat Y=1 \mid A=a) - \min_a P(\hat Y=1 \mid A=a)

    (``method="to_overall"``: :math:`\max_a |P(\hat Y=1 \mid A=a) - P(\hat Y=1)|`).
    0 means every group is selected at the same rate.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True labels; ignored apart from the length (kept for the common signature).
    y_pred : array-like of shape (n,)
        Binary predictions.
    sensitive_features : array-like of shape (n,) or (n, k), Series or DataFrame
        Group of each sample; several columns give intersectional groups.
    method : {"between_groups", "to_overall"}, default "between_groups"
        Compare groups with each other, or each group with the whole population.
    pos_label : scalar, default 1
        The value of ``y_pred`` meaning "selected".

    Returns
    -------
    float
        A difference of fractions, in [0, 1].

    Raises
    ------
    ParameterValueError
        Non-binary ``y_pred``, misaligned lengths, a group with one sample,
        a single group, or an unknown ``method``.

    References
    ----------
    Dwork et al. (2012), statistical parity; fairlearn's function of the same name.

    Examples
    --------
    >>> demographic_parity_difference(
    ...     [0, 0, 0, 0], [1, 1, 0, 0], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    method = check_method(method)
    rates, overall = _selection_rates(y_true, y_pred, sensitive_features, pos_label)
    return difference(rates, overall, method)


def demographic_parity_ratio(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    pos_label: Any = 1,
) -> float:
    r"""Smallest ratio of selection rates between groups (1 = parity).

    .. math:: \frac{\min_a P(\hat Y=1 \mid A=a)}{\max_a P(\hat Y=1 \mid A=a)}

    The US "four-fifths rule" of employment law flags a ratio below 0.8
    (29 CFR 1607.4(D)). Arguments as in :func:`demographic_parity_difference`.

    Raises
    ------
    ParameterValueError
        As :func:`demographic_parity_difference`, and when every selection rate
        is 0 (the ratio is 0/0).

    Examples
    --------
    >>> demographic_parity_ratio(
    ...     [0, 0, 0, 0], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    method = check_method(method)
    rates, overall = _selection_rates(y_true, y_pred, sensitive_features, pos_label)
    return ratio(rates, overall, method)


def equal_opportunity_difference(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    pos_label: Any = 1,
) -> float:
    r"""Largest gap in true positive rate between groups (Hardt et al. 2016, Def. 2).

    .. math:: \max_a P(\hat Y=1 \mid Y=1, A=a) - \min_a P(\hat Y=1 \mid Y=1, A=a)

    Arguments as in :func:`demographic_parity_difference`; ``y_true`` must be
    binary and every group needs at least one positive.

    Raises
    ------
    ParameterValueError
        Also when a group has no positive sample (its TPR is undefined); the
        message names the group.

    Examples
    --------
    >>> equal_opportunity_difference(
    ...     [1, 1, 1, 1], [1, 1, 1, 0], sensitive_features=["a", "a", "b", "b"])
    0.5
    """
    method = check_method(method)
    t, p, groups = _prepare(y_true, y_pred, sensitive_features, pos_label)
    tpr = by_group(_tpr, t, p, groups, need_positive=True)
    return difference(tpr, _tpr(t, p), method)


def equal_opportunity_ratio(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    pos_label: Any = 1,
) -> float:
    r"""Smallest ratio of true positive rates between groups (1 = equal opportunity)."""
    method = check_method(method)
    t, p, groups = _prepare(y_true, y_pred, sensitive_features, pos_label)
    tpr = by_group(_tpr, t, p, groups, need_positive=True)
    return ratio(tpr, _tpr(t, p), method)


def equalized_odds_difference(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    agg: str = "worst_case",
    pos_label: Any = 1,
) -> float:
    r"""Gap in true *and* false positive rates between groups (Hardt et al. 2016, Def. 1).

    .. math::

        D_{\mathrm{TPR}} = \max_a \mathrm{TPR}_a - \min_a \mathrm{TPR}_a, \quad
        D_{\mathrm{FPR}} = \max_a \mathrm{FPR}_a - \min_a \mathrm{FPR}_a,

    and the result is :math:`\max(D_{\mathrm{TPR}}, D_{\mathrm{FPR}})` for
    ``agg="worst_case"`` or their mean for ``agg="mean"`` (fairlearn 0.15).

    Parameters
    ----------
    agg : {"worst_case", "mean"}, default "worst_case"
        How to combine the two differences.

    Other parameters as in :func:`demographic_parity_difference`.

    Raises
    ------
    ParameterValueError
        Also when a group has only positives or only negatives (one of its
        rates is undefined); the message names the group.

    Examples
    --------
    >>> equalized_odds_difference(
    ...     [1, 0, 1, 0], [1, 0, 1, 1], sensitive_features=["a", "a", "b", "b"])
    1.0
    """
    method = check_method(method)
    agg = check_agg(agg)
    t, p, groups = _prepare(y_true, y_pred, sensitive_features, pos_label)
    need = {"need_positive": True, "need_negative": True}
    d_tpr = difference(by_group(_tpr, t, p, groups, **need), _tpr(t, p), method)
    d_fpr = difference(by_group(_fpr, t, p, groups, **need), _fpr(t, p), method)
    return max(d_tpr, d_fpr) if agg == "worst_case" else (d_tpr + d_fpr) / 2


def equalized_odds_ratio(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    method: str = "between_groups",
    agg: str = "worst_case",
    pos_label: Any = 1,
) -> float:
    r"""Smaller (``agg="worst_case"``) or mean of the TPR and FPR ratios between groups."""
    method = check_method(method)
    agg = check_agg(agg)
    t, p, groups = _prepare(y_true, y_pred, sensitive_features, pos_label)
    need = {"need_positive": True, "need_negative": True}
    r_tpr = ratio(by_group(_tpr, t, p, groups, **need), _tpr(t, p), method)
    r_fpr = ratio(by_group(_fpr, t, p, groups, **need), _fpr(t, p), method)
    return min(r_tpr, r_fpr) if agg == "worst_case" else (r_tpr + r_fpr) / 2
