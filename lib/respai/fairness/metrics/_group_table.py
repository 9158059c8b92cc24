r"""Per-group tables: error rates side by side, and calibration within groups.

:func:`group_table` is the "disaggregated evaluation" of Mitchell et al.
[1]_ (one row per group, the rates that a fairness criterion equalises as
columns), the same numbers as fairlearn's ``MetricFrame(...).by_group``.
:func:`calibration_by_group` checks calibration within groups,

.. math:: P(Y = 1 \mid S = s, A = a) = P(Y = 1 \mid S = s) \quad \text{for all } s, a,

the criterion that Kleinberg et al. [2]_ and Chouldechova [3]_ prove cannot
hold together with equal error rates when base rates differ.

References
----------
.. [1] M. Mitchell et al., "Model Cards for Model Reporting", FAT* 2019, Sec. 4.6.
.. [2] J. Kleinberg, S. Mullainathan and M. Raghavan, "Inherent Trade-Offs in
   the Fair Determination of Risk Scores", ITCS 2017, Theorem 1.1.
.. [3] A. Chouldechova, "Fair prediction with disparate impact", Big Data 5(2),
   2017, eq. (2.6).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from respai._validation import check_finite_array, check_positive_int
from respai.fairness.metrics._checks import (
    check_array_1d,
    check_binary,
    check_consistent_length,
    check_group,
    check_sensitive_features,
)
from respai.fairness.metrics._grouping import split_groups

__all__ = ["group_table", "calibration_by_group"]

#: Columns of :func:`group_table` (plus ``mean_score`` when ``y_score`` is given).
GROUP_TABLE_COLUMNS = (
    "count",
    "accuracy",
    "selection_rate",
    "tpr",
    "fpr",
    "fnr",
    "positive_rate",
)


def _scores(y_score: object, n: int) -> np.ndarray:
    s = check_finite_array("y_score", check_array_1d("y_score", y_score))
    check_consistent_length(y_true=np.empty(n), y_score=s)
    return s


def group_table(
    y_true: object,
    y_pred: object,
    *,
    sensitive_features: object,
    y_score: object = None,
    pos_label: Any = 1,
) -> pd.DataFrame:
    r"""One row per group with its size, accuracy, selection rate and error rates.

    For group :math:`a` the columns are ``count`` (samples),
    ``accuracy`` :math:`P(\hat Y = Y \mid a)`, ``selection_rate``
    :math:`P(\hat Y = 1 \mid a)`, ``tpr`` :math:`P(\hat Y = 1 \mid Y=1, a)`,
    ``fpr`` :math:`P(\hat Y = 1 \mid Y=0, a)`, ``fnr`` :math:`1 - \mathrm{TPR}`,
    and ``positive_rate`` :math:`P(Y = 1 \mid a)` (the base rate). With
    ``y_score``, ``mean_score`` :math:`E[S \mid a]` is added: for a
    probability score, ``mean_score`` close to ``positive_rate`` is
    calibration in the large within the group.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Binary labels and predictions.
    sensitive_features : array-like of shape (n,) or (n, k), Series or DataFrame
        Group of each sample; several columns give intersectional groups
        (one row per combination present in the data).
    y_score : array-like of shape (n,), optional
        A real-valued score (probability, or a risk score such as the COMPAS decile).
    pos_label : scalar, default 1
        The positive label of ``y_true`` and ``y_pred``.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (a MultiIndex for several features), sorted by group.
        Rates are fractions in [0, 1].

    Raises
    ------
    ParameterValueError
        Non-binary labels, misaligned lengths, or a group with fewer than two
        samples or with only one label (its FPR or FNR is undefined); the
        message names the group.

    Examples
    --------
    >>> table = group_table([1, 0, 1, 0], [1, 0, 0, 0], sensitive_features=["a", "a", "b", "b"])
    >>> table[["count", "tpr", "fpr"]]  # doctest: +NORMALIZE_WHITESPACE
                         count  tpr  fpr
    sensitive_feature_0
    a                        2  1.0  0.0
    b                        2  0.0  0.0
    """
    t = check_binary("y_true", y_true, pos_label=pos_label)
    p = check_binary("y_pred", y_pred, pos_label=pos_label)
    n = check_consistent_length(y_true=t, y_pred=p)
    s = None if y_score is None else _scores(y_score, n)
    groups = split_groups(sensitive_features, n)
    rows = []
    for key, idx in zip(groups.keys, groups.members, strict=True):
        gt, gp = t[idx], p[idx]
        check_group(key, groups.names, gt, need_positive=True, need_negative=True)
        tpr = float(gp[gt].mean())
        row = {
            "count": len(idx),
            "accuracy": float(np.mean(gt == gp)),
            "selection_rate": float(gp.mean()),
            "tpr": tpr,
            "fpr": float(gp[~gt].mean()),
            "fnr": 1.0 - tpr,
            "positive_rate": float(gt.mean()),
        }
        if s is not None:
            row["mean_score"] = float(s[idx].mean())
        rows.append(row)
    return pd.DataFrame(rows, index=groups.index())


def calibration_by_group(
    y_true: object,
    y_score: object,
    *,
    sensitive_features: object,
    n_bins: int | None = None,
    pos_label: Any = 1,
) -> pd.DataFrame:
    r"""Observed positive rate per score bin and group: calibration within groups.

    A score is calibrated within groups when, in every bin :math:`b` and group
    :math:`a`, the observed rate :math:`P(Y=1 \mid S \in b, A=a)` is the same
    for all groups (and, for a probability, equals the bin's mean score).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_score : array-like of shape (n,)
        Scores. With ``n_bins=None`` each distinct value is its own bin (for a
        discrete score such as the COMPAS decile 1-10).
    sensitive_features : array-like, Series or DataFrame
        Group of each sample, as in :func:`group_table`.
    n_bins : int, optional
        Number of equal-width bins between the smallest and largest score.
    pos_label : scalar, default 1
        The positive label of ``y_true``.

    Returns
    -------
    pandas.DataFrame
        Indexed by (group..., ``score_bin``), with columns ``count``,
        ``mean_score`` and ``positive_rate``. Empty (group, bin) cells are
        left out; rates of small cells are noisy, so read them with ``count``.

    Examples
    --------
    >>> calibration_by_group([0, 1, 1, 1], [1, 1, 2, 2], sensitive_features=list("abab"))
    ... # doctest: +NORMALIZE_WHITESPACE
                                   count  mean_score  positive_rate
    sensitive_feature_0 score_bin
    a                   1              1         1.0            0.0
                        2              1         2.0            1.0
    b                   1              1         1.0            1.0
                        2              1         2.0            1.0
    """
    t = check_binary("y_true", y_true, pos_label=pos_label)
    n = len(t)
    s = _scores(y_score, n)
    if n_bins is None:
        bins = check_array_1d("y_score", y_score)
    else:
        n_bins = check_positive_int("n_bins", n_bins)
        edges = np.linspace(s.min(), s.max(), n_bins + 1)
        # Bin b holds edges[b] <= s < edges[b+1]; the top edge joins the last bin.
        bins = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, n_bins - 1)
    df = check_sensitive_features(sensitive_features, n)
    names = list(df.columns)
    frame = df.assign(score_bin=bins, _score=s, _label=t.astype(float))
    return frame.groupby([*names, "score_bin"], sort=True).agg(
        count=("_label", "size"), mean_score=("_score", "mean"), positive_rate=("_label", "mean")
    )
