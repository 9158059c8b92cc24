r"""Group-specific thresholds as post-processing (Hardt, Price & Srebro 2016).

Keep a trained scorer :math:`s(x)` and choose, for each group :math:`g`, how
to turn scores into decisions: a threshold, or a coin flip between two
thresholds. Every such rule of group :math:`g` is a point in a plane:

* demographic parity: (selection rate, accuracy) of group :math:`g`;
* equalized odds: the ROC plane (false positive rate, true positive rate).

Randomizing between two thresholds reaches any point on the segment between
their points, so group :math:`g` can reach everything under the upper concave
hull of its threshold points. The post-processor picks the **common**
operating point (the same selection rate, or the same (FPR, TPR), for all
groups) that maximizes overall accuracy on the training data. For equalized
odds, a group whose hull lies above the common point mixes in the constant
classifier "predict 1 with probability FPR" (on the ROC diagonal) to come down
to it.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from respai._validation import check_finite_array, check_positive_int, check_probability, check_rng
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.mitigation._checks import (
    check_binary_labels,
    check_constraint,
    check_features,
    check_groups,
    check_groups_estimable,
    check_same_length,
    group_codes,
    unique_groups,
)

__all__ = [
    "group_thresholds_for_selection_rate",
    "apply_group_thresholds",
    "GroupThresholdOptimizer",
]


def group_thresholds_for_selection_rate(
    scores: ArrayLike, sensitive_features: ArrayLike, selection_rate: float
) -> dict:
    r"""Per-group thresholds that select the same fraction of every group.

    For group :math:`g` with :math:`n_g` scores, select its
    :math:`k_g = \operatorname{round}(r\, n_g)` highest: the threshold is the
    :math:`k_g`-th largest score of the group (:math:`+\infty` when
    :math:`k_g = 0`), and ``score >= threshold`` is selected. With distinct
    scores each group's selection rate is within :math:`1/(2 n_g)` of
    :math:`r`: demographic parity by deterministic thresholds, without
    randomization (ties in a group can select more).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Scores, higher = more likely positive (any units).
    sensitive_features : array-like of shape (n,)
        Group of each example.
    selection_rate : float
        Target fraction :math:`r \in [0, 1]` to select in every group.

    Returns
    -------
    dict
        ``{group: threshold}``; apply with :func:`apply_group_thresholds`.

    References
    ----------
    .. [1] M. Hardt, E. Price and N. Srebro, "Equality of opportunity in
       supervised learning", NeurIPS 2016, Section 3 (group-dependent thresholds).

    Examples
    --------
    >>> group_thresholds_for_selection_rate([0.9, 0.2, 0.5, 0.4, 0.3, 0.1], list("aaabbb"), 1 / 3)
    {'a': 0.9, 'b': 0.4}
    """
    values = check_finite_array("scores", scores).reshape(-1)
    groups = check_groups(sensitive_features, values.size)
    rate = check_probability("selection_rate", selection_rate)
    thresholds = {}
    for group in unique_groups(groups):
        ordered = np.sort(values[groups == group])[::-1]
        k = int(round(rate * ordered.size))
        thresholds[group] = float(ordered[k - 1]) if k > 0 else float("inf")
    return thresholds


def apply_group_thresholds(
    scores: ArrayLike, sensitive_features: ArrayLike, thresholds: dict
) -> np.ndarray:
    """Decisions ``score >= thresholds[group]`` (0/1), one per example."""
    values = check_finite_array("scores", scores).reshape(-1)
    groups = check_groups(sensitive_features, values.size)
    missing = set(unique_groups(groups)) - set(thresholds)
    if missing:
        raise ParameterValueError(
            f"`thresholds` has no threshold for the groups {sorted(map(str, missing))}."
        )
    limits = np.array([thresholds[g] for g in groups], dtype=float)
    return (values >= limits).astype(np.int64)


def _threshold_points(scores: np.ndarray, labels: np.ndarray, constraint: str):
    """(x, y, threshold) of every rule "select score >= t" of one group, t from +inf down."""
    order = np.argsort(-scores, kind="stable")
    ordered, hits = scores[order], labels[order]
    # A threshold can only sit at the end of a block of tied scores.
    ends = np.r_[np.flatnonzero(np.diff(ordered) != 0), ordered.size - 1]
    tp = np.r_[0, np.cumsum(hits)[ends]].astype(float)
    fp = np.r_[0, np.cumsum(1 - hits)[ends]].astype(float)
    thresholds = np.r_[np.inf, ordered[ends]]
    positives, negatives = hits.sum(), hits.size - hits.sum()
    if constraint == "demographic_parity":
        x = (tp + fp) / hits.size
        y = (tp + negatives - fp) / hits.size
    else:
        x, y = fp / negatives, tp / positives
    return x, y, thresholds


def _upper_hull(x: np.ndarray, y: np.ndarray, thresholds: np.ndarray):
    """Vertices of the upper concave hull of points sorted by x (Andrew's monotone chain)."""
    keep: list[int] = []
    for i in range(x.size):
        while len(keep) >= 1 and x[keep[-1]] == x[i] and y[keep[-1]] <= y[i]:
            keep.pop()  # same x: only the higher point can be on the upper hull
        if keep and x[keep[-1]] == x[i]:
            continue
        while len(keep) >= 2:
            a, b = keep[-2], keep[-1]
            cross = (x[b] - x[a]) * (y[i] - y[a]) - (y[b] - y[a]) * (x[i] - x[a])
            if cross >= 0:  # b lies on or under the segment a-i
                keep.pop()
            else:
                break
        keep.append(i)
    index = np.asarray(keep)
    return x[index], y[index], thresholds[index]


def _on_hull(hull, target: float):
    """Hull value at ``target`` and the mix: (value, low threshold index, weight of the next)."""
    xs, ys, _ = hull
    j = int(np.clip(np.searchsorted(xs, target, side="right") - 1, 0, xs.size - 2))
    span = xs[j + 1] - xs[j]
    weight = 0.0 if span == 0 else float(np.clip((target - xs[j]) / span, 0.0, 1.0))
    return ys[j] + weight * (ys[j + 1] - ys[j]), j, weight


class GroupThresholdOptimizer(MetaEstimatorMixin, BaseEstimator):
    r"""Hardt et al. (2016) post-processing: randomized group thresholds on a scorer.

    ``fit`` finds, on the training data, the common operating point that
    maximizes accuracy:

    * ``"demographic_parity"``: a selection rate :math:`r` maximizing
      :math:`\sum_g \frac{n_g}{n}\, \mathrm{acc}_g(r)`, where
      :math:`\mathrm{acc}_g` is the upper concave hull of group :math:`g`'s
      (selection rate, accuracy) points;
    * ``"equalized_odds"``: an FPR :math:`x` and TPR
      :math:`y = \min_g H_g(x)` (:math:`H_g` the upper ROC hull of group
      :math:`g`) maximizing :math:`P(Y{=}1)\, y + P(Y{=}0)(1 - x)`.

    Candidates are a grid of ``grid_size + 1`` points of :math:`[0, 1]` plus
    every hull vertex. Each group then uses threshold :math:`t_j` with
    probability :math:`1 - p`, :math:`t_{j+1}` with probability :math:`p`
    (adjacent hull vertices around the operating point), and, for equalized
    odds, with probability ``p_ignore`` a constant coin with
    :math:`P(\hat Y = 1) = x` instead.

    Parameters
    ----------
    estimator : scikit-learn classifier
        The scorer; its ``predict_proba(X)[:, 1]`` (or ``decision_function``) gives the scores.
    constraint : {"demographic_parity", "equalized_odds"}
    prefit : bool, default False
        Use ``estimator`` as already fitted instead of fitting a clone.
    grid_size : int, default 1000
    random_state : int or None, default None
        Default seed of :meth:`predict`'s randomization.

    Attributes
    ----------
    estimator_ : the fitted scorer
    operating_point_ : tuple
        ``(selection_rate,)`` or ``(false_positive_rate, true_positive_rate)``.
    rules_ : dict
        Per group: ``low``, ``high`` (thresholds), ``p_high``, ``p_ignore``, ``constant``.
    training_accuracy_ : float
        Expected accuracy of the randomized rule on the training data.

    References
    ----------
    .. [1] M. Hardt, E. Price and N. Srebro, "Equality of opportunity in
       supervised learning", NeurIPS 2016, Sections 3-4 (derived predictors,
       ROC-hull geometry, Figure 2). Cross-checked against
       ``fairlearn.postprocessing.ThresholdOptimizer``.
    """

    def __init__(
        self,
        estimator,
        constraint: str = "demographic_parity",
        *,
        prefit: bool = False,
        grid_size: int = 1000,
        random_state: int | None = None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.prefit = prefit
        self.grid_size = grid_size
        self.random_state = random_state

    def _scores(self, estimator, features: np.ndarray) -> np.ndarray:
        if hasattr(estimator, "predict_proba"):
            return np.asarray(estimator.predict_proba(features))[:, 1].astype(float)
        if hasattr(estimator, "decision_function"):
            return np.asarray(estimator.decision_function(features)).reshape(-1).astype(float)
        raise ParameterTypeError(
            "`estimator` must have predict_proba or decision_function to give scores; "
            f"got {estimator!r}."
        )

    def fit(self, X, y, *, sensitive_features):
        """Fit the scorer (unless ``prefit``) and choose the group rules on ``(X, y)``."""
        check_constraint(self.constraint)
        check_positive_int("grid_size", self.grid_size)
        if not isinstance(self.prefit, bool):
            raise ParameterTypeError(f"`prefit` must be True or False; got {self.prefit!r}.")
        if self.random_state is not None and (
            isinstance(self.random_state, bool)
            or not isinstance(self.random_state, numbers.Integral)
        ):
            raise ParameterTypeError(
                f"`random_state` must be None or an int seed; got {self.random_state!r}."
            )
        features = check_features(X)
        labels = check_binary_labels(y)
        groups = check_groups(sensitive_features, len(labels))
        check_same_length(X=features, y=labels, sensitive_features=groups)
        known = check_groups_estimable(labels, groups)
        codes = group_codes(groups, known)
        if self.prefit:
            check_is_fitted(self.estimator)
            estimator = self.estimator
        else:
            estimator = clone(self.estimator).fit(features, labels)
        scores = self._scores(estimator, features)

        hulls = []
        for index in range(known.size):
            members = codes == index
            hulls.append(
                _upper_hull(*_threshold_points(scores[members], labels[members], self.constraint))
            )
        candidates = np.unique(
            np.r_[np.linspace(0.0, 1.0, self.grid_size + 1), np.concatenate([h[0] for h in hulls])]
        )
        shares = np.bincount(codes, minlength=known.size) / labels.size
        values = np.array([[_on_hull(h, c)[0] for c in candidates] for h in hulls])
        if self.constraint == "demographic_parity":
            objective = shares @ values
            best = int(np.argmax(objective))
            target = float(candidates[best])
            self.operating_point_ = (target,)
            common = None
        else:
            common_tpr = values.min(axis=0)
            p_positive = labels.mean()
            objective = p_positive * common_tpr + (1 - p_positive) * (1 - candidates)
            best = int(np.argmax(objective))
            target, common = float(candidates[best]), float(common_tpr[best])
            self.operating_point_ = (target, common)
        self.rules_ = {}
        for index, group in enumerate(known):
            value, j, weight = _on_hull(hulls[index], target)
            p_ignore = 0.0
            if common is not None and value > target and value > common:
                # Mix with the diagonal point (target, target) to come down to the common TPR.
                p_ignore = float((value - common) / (value - target))
            self.rules_[group] = {
                "low": float(hulls[index][2][j]),
                "high": float(hulls[index][2][j + 1]),
                "p_high": weight,
                "p_ignore": p_ignore,
                "constant": target,
            }
        self.training_accuracy_ = float(objective[best])
        self.estimator_ = estimator
        self.groups_ = known
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = features.shape[1]
        return self

    def predict_proba(self, X, *, sensitive_features) -> np.ndarray:
        """Probability of each decision under the randomized group rules, shape (n, 2)."""
        check_is_fitted(self, "rules_")
        features = check_features(X)
        groups = check_groups(sensitive_features, len(features))
        codes = group_codes(groups, self.groups_)
        scores = self._scores(self.estimator_, features)
        positive = np.empty(scores.size)
        for index, group in enumerate(self.groups_):
            rule, members = self.rules_[group], codes == index
            s = scores[members]
            by_threshold = (1 - rule["p_high"]) * (s >= rule["low"]) + rule["p_high"] * (
                s >= rule["high"]
            )
            positive[members] = (1 - rule["p_ignore"]) * by_threshold + rule["p_ignore"] * rule[
                "constant"
            ]
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X, *, sensitive_features, rng=None) -> np.ndarray:
        """Randomized decisions; ``rng`` defaults to ``random_state``."""
        probability = self.predict_proba(X, sensitive_features=sensitive_features)[:, 1]
        generator = check_rng(self.random_state if rng is None else rng)
        return (generator.random(probability.size) < probability).astype(np.int64)
