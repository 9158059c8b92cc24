r"""Where differential privacy meets group fairness.

DP-SGD clips every per-sample gradient to norm :math:`C` and adds noise of
scale :math:`\sigma C`. Examples from a small or atypical group tend to have
larger gradients, so they are clipped more often and their signal drowns in
the same noise: DP-SGD lowers their accuracy more than the majority's
(Bagdasaryan, Poursaeed & Shmatikov 2019). This module measures that
(:func:`accuracy_drop_by_group`, :func:`clipped_fraction_by_group`) and gives
one way to repair demographic parity *without* spending the fairness fix's
privacy for free: per-group decision thresholds chosen from a differentially
private histogram of the model's scores (:func:`private_score_histogram`,
:func:`thresholds_for_selection_rate`). Thresholds are a post-processing of DP
outputs (the model and the histogram), so the whole pipeline is
:math:`(\varepsilon_{\text{SGD}} + \varepsilon_{\text{hist}}, \delta)`-DP by
basic composition (Dwork & Roth 2014, Thm 3.16; post-processing, Prop. 2.1).

References
----------
.. [1] E. Bagdasaryan, O. Poursaeed and V. Shmatikov, "Differential Privacy Has
   Disparate Impact on Model Accuracy", NeurIPS 2019.
.. [2] M. Jagielski et al., "Differentially Private Fair Learning", ICML 2019
   (private post-processing for fairness).
.. [3] C. Dwork and A. Roth, "The Algorithmic Foundations of Differential
   Privacy", 2014.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from respai._validation import check_epsilon, check_positive, check_probability, check_rng
from respai.exceptions import ParameterValueError
from respai.fairness.metrics._base import accuracy
from respai.fairness.metrics._checks import check_array_1d, check_binary, check_consistent_length
from respai.fairness.metrics._grouping import by_group, split_groups

__all__ = [
    "HISTOGRAM_SENSITIVITY",
    "accuracy_by_group",
    "accuracy_drop_by_group",
    "clipped_fraction_by_group",
    "private_score_histogram",
    "thresholds_for_selection_rate",
    "apply_group_thresholds",
]

#: L1 sensitivity of a histogram of (group, score bin) counts under replace-one
#: adjacency: one person's record leaves one cell and enters another.
HISTOGRAM_SENSITIVITY = 2.0


def accuracy_by_group(y_true, y_pred, *, sensitive_features) -> pd.Series:
    """Accuracy of each group, ``(TP + TN) / n_g`` (fraction), sorted by group."""
    n = check_consistent_length(y_true=y_true, y_pred=y_pred)
    truth, pred = check_binary("y_true", y_true), check_binary("y_pred", y_pred)
    return by_group(accuracy, truth, pred, split_groups(sensitive_features, n), min_size=1)


def accuracy_drop_by_group(baseline: pd.Series, private: pd.Series) -> pd.Series:
    r"""Accuracy each group loses under DP training, :math:`a_g^{\text{base}} - a_g^{\text{DP}}`.

    Bagdasaryan et al. (2019) compare these drops across groups: "DP has
    disparate impact" means the under-represented group's drop is larger.

    Parameters
    ----------
    baseline, private : pandas.Series
        Per-group accuracies (e.g. from :func:`accuracy_by_group`) of the
        non-private and the private model, on the same groups.
    """
    if not isinstance(baseline, pd.Series) or not isinstance(private, pd.Series):
        raise ParameterValueError("baseline and private must be pandas Series indexed by group")
    if not baseline.index.equals(private.index):
        raise ParameterValueError(
            f"baseline and private must cover the same groups; got {list(baseline.index)} "
            f"and {list(private.index)}"
        )
    return baseline - private


def clipped_fraction_by_group(grad_norms, max_grad_norm: float, *, sensitive_features) -> pd.Series:
    r"""Fraction of each group's examples whose gradient DP-SGD clips.

    .. math::

        c_g = \frac{1}{n_g} \sum_{i \in g} \mathbf 1\big[\lVert g_i \rVert_2 > C\big]

    Clipping scales such gradients down to norm :math:`C`: the larger
    :math:`c_g`, the more of group :math:`g`'s signal DP-SGD discards.

    Parameters
    ----------
    grad_norms : array-like of shape (n,)
        Per-sample gradient L2 norms (before clipping), >= 0.
    max_grad_norm : float
        Clipping norm :math:`C` > 0.
    sensitive_features : array-like or DataFrame
        Group of each example, as in :mod:`respai.fairness.metrics`.
    """
    norms = check_array_1d("grad_norms", grad_norms).astype(float)
    if not np.all(np.isfinite(norms)) or np.any(norms < 0):
        raise ParameterValueError("grad_norms must be finite and >= 0 (they are L2 norms)")
    clip = check_positive("max_grad_norm", max_grad_norm)
    groups = split_groups(sensitive_features, norms.size)
    values = [float(np.mean(norms[idx] > clip)) for idx in groups.members]
    return pd.Series(values, index=groups.index(), dtype=float, name="clipped_fraction")


def private_score_histogram(
    scores,
    *,
    sensitive_features,
    bin_edges,
    epsilon: float,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    r"""Per-group histogram of scores with Laplace noise: an :math:`\varepsilon`-DP release.

    Each cell :math:`(g, k)` counts the examples of group :math:`g` whose score
    falls in bin :math:`[e_k, e_{k+1})` (the last bin is closed). Replacing one
    person's record moves one unit between two cells, so the L1 sensitivity is
    :data:`HISTOGRAM_SENSITIVITY` = 2 and every cell gets independent
    :math:`\mathrm{Lap}(2/\varepsilon)` noise (Dwork & Roth 2014, Thm 3.6).
    The list of groups and the bin edges are public (chosen without the data).

    Returns
    -------
    pandas.DataFrame
        Rows: groups; columns: bins (left edges). Noisy counts, possibly
        negative or fractional: they are what the mechanism releases.
    """
    values = check_array_1d("scores", scores).astype(float)
    edges = check_array_1d("bin_edges", bin_edges).astype(float)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ParameterValueError(
            f"bin_edges must be strictly increasing with at least 2 edges; got {edges.tolist()}"
        )
    if np.any((values < edges[0]) | (values > edges[-1])):
        raise ParameterValueError(
            f"every score must lie in [{edges[0]}, {edges[-1]}] (the histogram's range); got "
            f"scores from {values.min()} to {values.max()}"
        )
    eps = check_epsilon(epsilon)
    gen = check_rng(rng)
    groups = split_groups(sensitive_features, values.size)
    counts = np.stack([np.histogram(values[idx], bins=edges)[0] for idx in groups.members])
    noisy = counts + gen.laplace(0.0, HISTOGRAM_SENSITIVITY / eps, size=counts.shape)
    return pd.DataFrame(noisy, index=groups.index(), columns=edges[:-1])


def thresholds_for_selection_rate(histogram: pd.DataFrame, target_rate: float) -> pd.Series:
    r"""Per-group score threshold whose (estimated) selection rate is closest to ``target_rate``.

    From a group's (noisy) bin counts :math:`h_0, \dots, h_{K-1}`, first made
    non-negative, :math:`\tilde h_k = \max(h_k, 0)` (post-processing: no
    privacy cost), the selection rate of threshold :math:`e_k` (select if
    score :math:`\ge e_k`) is estimated as

    .. math::

        \hat s_g(e_k) = \frac{\sum_{j \ge k} \tilde h_j}{\sum_j \tilde h_j},

    and the threshold is the left edge :math:`e_k` minimising
    :math:`|\hat s_g(e_k) - s^*|` (the smallest such edge on ties). Equal
    selection rates across groups is demographic parity (Hardt et al. 2016
    post-process for it on exact counts; here the counts are private).

    Parameters
    ----------
    histogram : pandas.DataFrame
        As returned by :func:`private_score_histogram` (columns: left edges).
    target_rate : float
        Selection rate :math:`s^* \in [0, 1]` every group should get.

    Returns
    -------
    pandas.Series
        One threshold per group (a bin's left edge).
    """
    rate = check_probability("target_rate", target_rate)
    if not isinstance(histogram, pd.DataFrame) or histogram.shape[1] == 0:
        raise ParameterValueError("histogram must be a non-empty DataFrame of bin counts")
    edges = np.asarray(histogram.columns, dtype=float)
    thresholds = []
    for group, row in histogram.iterrows():
        counts = np.clip(row.to_numpy(dtype=float), 0.0, None)
        total = counts.sum()
        if total <= 0:
            raise ParameterValueError(
                f"group {group!r} has no (noisy) mass left after removing negative counts: "
                "use a larger epsilon or fewer bins"
            )
        selected = np.cumsum(counts[::-1])[::-1] / total  # rate of "score >= e_k"
        thresholds.append(float(edges[int(np.argmin(np.abs(selected - rate)))]))
    return pd.Series(thresholds, index=histogram.index, name="threshold")


def apply_group_thresholds(scores, thresholds: pd.Series, *, sensitive_features) -> np.ndarray:
    """Predict 1 where an example's score reaches its group's threshold.

    Raises
    ------
    ParameterValueError
        If an example belongs to a group that has no threshold.
    """
    values = check_array_1d("scores", scores).astype(float)
    groups = split_groups(sensitive_features, values.size)
    pred = np.zeros(values.size, dtype=int)
    for key, idx in zip(groups.keys, groups.members, strict=True):
        if key not in thresholds.index:
            raise ParameterValueError(
                f"no threshold for group {key!r}; thresholds cover {list(thresholds.index)}"
            )
        pred[idx] = (values[idx] >= thresholds.loc[key]).astype(int)
    return pred
