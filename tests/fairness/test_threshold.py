"""Group-threshold post-processing (Hardt et al. 2016) against fairlearn's ThresholdOptimizer."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from respai.exceptions import ParameterValueError
from respai.fairness.mitigation import (
    GroupThresholdOptimizer,
    apply_group_thresholds,
    group_thresholds_for_selection_rate,
)

postprocessing = pytest.importorskip("fairlearn.postprocessing")


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """A "fitted" scorer whose score is the first feature: post-process given scores."""

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        score = np.asarray(X, dtype=float)[:, 0]
        return np.column_stack([1 - score, score])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _rates(probability, y, groups, constraint):
    """Expected per-group rates (rows: events) of a randomized classifier."""
    events = [np.ones_like(y, bool)] if constraint == "demographic_parity" else [y == 0, y == 1]
    return np.array(
        [[probability[e & (groups == g)].mean() for g in np.unique(groups)] for e in events]
    )


# --------------------------------------------------------------------------- quantile thresholds


def test_selection_rate_thresholds_select_the_same_fraction_of_each_group():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], 3001, p=[0.6, 0.3, 0.1])
    scores = rng.random(3001) + (groups == "a") * 0.3
    for rate in (0.0, 0.1, 0.37, 0.5, 1.0):
        thresholds = group_thresholds_for_selection_rate(scores, groups, rate)
        decisions = apply_group_thresholds(scores, groups, thresholds)
        for g in ("a", "b", "c"):
            n_g = np.sum(groups == g)
            assert abs(decisions[groups == g].mean() - rate) <= 1 / (2 * n_g) + 1e-12
    assert group_thresholds_for_selection_rate(scores, groups, 0.0)["a"] == np.inf


def test_apply_refuses_a_group_without_threshold():
    with pytest.raises(ParameterValueError, match="no threshold"):
        apply_group_thresholds([0.1, 0.2], ["a", "b"], {"a": 0.5})


def test_selection_rate_must_be_a_probability():
    with pytest.raises(ParameterValueError, match="selection_rate"):
        group_thresholds_for_selection_rate([0.1, 0.2], ["a", "b"], 1.5)


# --------------------------------------------------------------------------- optimizer


CASES = [
    ("adult", "sex", "demographic_parity"),
    ("adult", "sex", "equalized_odds"),
    ("adult", "race", "demographic_parity"),
    ("compas", "race4", "equalized_odds"),
    ("compas", "race4", "demographic_parity"),
]


@pytest.mark.parametrize(("dataset", "column", "constraint"), CASES)
def test_matches_fairlearn_and_equalizes_rates_exactly(
    dataset, column, constraint, adult_predictions, compas_predictions
):
    df = adult_predictions if dataset == "adult" else compas_predictions
    X = df[["y_score"]].to_numpy()
    y, groups = df["y_true"].to_numpy(), df[column].to_numpy()
    ours = GroupThresholdOptimizer(ScoreColumn(), constraint, prefit=True).fit(
        X, y, sensitive_features=groups
    )
    theirs = postprocessing.ThresholdOptimizer(
        estimator=ScoreColumn(), constraints=constraint, prefit=True, predict_method="predict_proba"
    ).fit(X, y, sensitive_features=groups)
    p = ours.predict_proba(X, sensitive_features=groups)[:, 1]
    q = theirs._pmf_predict(X, sensitive_features=groups)[:, 1]

    # On the data it was fitted on, the randomized rule equalizes the rates exactly ...
    rates = _rates(p, y, groups, constraint)
    np.testing.assert_allclose(rates, rates[:, :1] * np.ones_like(rates), atol=1e-9)
    # ... at the accuracy it reports, which is at least fairlearn's (its grid is a subset
    # of our candidates) and close to it.
    accuracy = np.mean(p * y + (1 - p) * (1 - y))
    reference = np.mean(q * y + (1 - q) * (1 - y))
    assert np.isclose(accuracy, ours.training_accuracy_)
    assert reference - 1e-9 <= accuracy <= reference + 0.002
    # Per example, the two post-processors make (almost) the same randomized decision.
    assert np.mean(np.abs(p - q)) < 0.01
    np.testing.assert_allclose(rates, _rates(q, y, groups, constraint), atol=0.01)


def test_fits_a_clone_unless_prefit_and_samples_decisions():
    rng = np.random.default_rng(1)
    groups = rng.choice(["a", "b"], 2000)
    X = rng.normal(size=(2000, 3)) + (groups == "a")[:, None]
    y = (X[:, 0] + rng.normal(size=2000) > 0.5).astype(int)
    base = LogisticRegression()
    clf = GroupThresholdOptimizer(base, random_state=0).fit(X, y, sensitive_features=groups)
    assert not hasattr(base, "coef_")  # the given estimator is left untouched
    probability = clf.predict_proba(X, sensitive_features=groups)[:, 1]
    np.testing.assert_array_equal(
        clf.predict(X, sensitive_features=groups), clf.predict(X, sensitive_features=groups)
    )
    draws = np.mean(
        [
            clf.predict(X, sensitive_features=groups, rng=np.random.default_rng(12345 + k))
            for k in range(200)
        ],
        axis=0,
    )
    # Bernoulli(p) means of 200 draws: sd <= 0.035; 0.2 is 5.6 sd (false failure ~4e-5 overall).
    assert np.max(np.abs(draws - probability)) < 0.2
    with pytest.raises(ParameterValueError, match="not in the training data"):
        clf.predict_proba(X[:2], sensitive_features=["a", "z"])


@pytest.mark.parametrize(
    ("y", "groups", "match"),
    [
        ([0, 1, 0, 1], list("aab"), "one entry"),
        ([0, 1, 2, 1], list("aabb"), "binary"),
        ([0, 1, 0, 1, 1], list("aabbc"), "too small"),
        ([1, 1, 0, 1], list("aabb"), "one label"),
    ],
)
def test_bad_data_is_refused(y, groups, match):
    X = np.linspace(0, 1, len(y))[:, None]
    with pytest.raises(ParameterValueError, match=match):
        GroupThresholdOptimizer(ScoreColumn(), prefit=True).fit(X, y, sensitive_features=groups)


def test_bad_constraint_is_refused():
    with pytest.raises(ParameterValueError, match="constraint"):
        GroupThresholdOptimizer(ScoreColumn(), "calibration").fit(
            [[0.1], [0.9], [0.2], [0.8]], [0, 1, 0, 1], sensitive_features=list("aabb")
        )
