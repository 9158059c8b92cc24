"""ExponentiatedGradient (Agarwal et al. 2018, Algorithm 1) against fairlearn's, on Adult (sex)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.metrics import selection_rate
from respai.fairness.mitigation import ExponentiatedGradient, exponentiated_multipliers
from respai.fairness.mitigation.exponentiated_gradient import _constraint_matrix
from tests.fairness._mitigation_data import adult_design, adult_sample

reductions = pytest.importorskip("fairlearn.reductions")


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield


# --------------------------------------------------------------------------- multipliers


def test_multipliers_match_the_formula():
    rng = np.random.default_rng(0)
    theta = rng.normal(0, 2, 8)
    lam = exponentiated_multipliers(theta, 50.0)
    np.testing.assert_allclose(lam, 50.0 * np.exp(theta) / (1 + np.exp(theta).sum()))
    assert np.all(lam > 0) and lam.sum() < 50.0
    np.testing.assert_allclose(exponentiated_multipliers(np.zeros(4), 10.0), 2.0)


def test_multipliers_do_not_overflow():
    lam = exponentiated_multipliers([1000.0, 999.0, -5.0], 100.0)
    assert np.all(np.isfinite(lam))
    softmax = np.exp([1.0, 0.0]) / np.exp([1.0, 0.0]).sum()
    np.testing.assert_allclose(lam[:2], 100.0 * softmax)
    assert lam[2] < 1e-100


@pytest.mark.parametrize(
    ("theta", "bound", "error"),
    [
        ([0.0, np.inf], 1.0, ParameterValueError),
        ([[0.0]], 1.0, ParameterValueError),
        ([0.0], 0.0, ParameterValueError),
        ([0.0], "a", ParameterTypeError),
    ],
)
def test_multipliers_refuse_bad_input(theta, bound, error):
    with pytest.raises(error):
        exponentiated_multipliers(theta, bound)


def test_constraint_rows_are_group_minus_overall_selection_rates():
    X, y, sex, _ = adult_sample(500)
    codes = (sex == "Male").astype(int)
    M, index = _constraint_matrix("demographic_parity", y, codes, 2)
    h = np.random.default_rng(0).integers(0, 2, 500)
    overall = selection_rate(y, h)
    for row, (sign, _, group) in zip(M, index, strict=True):
        rate = selection_rate(y[codes == group], h[codes == group])
        assert np.isclose(row @ h, (1 if sign == "+" else -1) * (rate - overall))


# --------------------------------------------------------------------------- cross-check


def _expected(probability, y, groups, constraint):
    """Expected accuracy and disparity of a randomized classifier (no sampling noise)."""
    accuracy = np.mean(probability * y + (1 - probability) * (1 - y))
    events = [np.ones_like(y, bool)] if constraint == "demographic_parity" else [y == 0, y == 1]
    disparity = 0.0
    for event in events:
        rates = [probability[event & (groups == g)].mean() for g in np.unique(groups)]
        disparity = max(disparity, max(rates) - min(rates))
    return accuracy, disparity


@pytest.mark.parametrize(
    ("constraint", "moment", "accuracy_tol", "disparity_max"),
    [
        ("demographic_parity", "DemographicParity", 0.01, 0.025),
        ("equalized_odds", "EqualizedOdds", 0.02, 0.06),
    ],
)
def test_agrees_with_fairlearn(constraint, moment, accuracy_tol, disparity_max):
    # Same data, base learner and bound; fairlearn adds a linear-programming step
    # (run_linprog_step) that Algorithm 1 does not have, so the two stop at different
    # iterates: they agree on the trade-off, not to the last digit. Tolerances from
    # 2,000 and 4,000-row subsamples: accuracy differed by <= 0.012 (EO) and 0.002 (DP).
    X, y, sex, _ = adult_sample(2000, seed=0)
    *_, X_test, y_test, sex_test = adult_design()
    base = LogisticRegression(max_iter=300)
    ours = ExponentiatedGradient(base, constraint, epsilon=0.01, max_iter=40, random_state=0)
    ours.fit(X, y, sensitive_features=sex)
    theirs = reductions.ExponentiatedGradient(
        clone(base), getattr(reductions, moment)(), eps=0.01
    ).fit(X, y, sensitive_features=sex)
    acc, disparity = _expected(ours.predict_proba(X_test)[:, 1], y_test, sex_test, constraint)
    ref_acc, ref_disparity = _expected(
        theirs._pmf_predict(X_test)[:, 1], y_test, sex_test, constraint
    )
    unconstrained = _expected(
        base.fit(X, y).predict(X_test).astype(float), y_test, sex_test, constraint
    )
    assert abs(acc - ref_acc) <= accuracy_tol
    assert disparity <= disparity_max and ref_disparity <= disparity_max
    assert disparity < unconstrained[1] / 2
    assert ours.best_gap_ >= 0 and np.isclose(ours.weights_.sum(), 1.0)
    assert len(ours.predictors_) == len(ours.weights_)
    assert np.all(ours.multipliers_ >= 0) and ours.multipliers_.sum() <= 1 / 0.01


def test_randomized_predictions_follow_the_mixture():
    X, y, sex, _ = adult_sample(1000, seed=2)
    clf = ExponentiatedGradient(
        LogisticRegression(max_iter=300), epsilon=0.01, max_iter=10, random_state=3
    ).fit(X, y, sensitive_features=sex)
    probability = clf.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(clf.predict(X), clf.predict(X))  # seeded by random_state
    draws = np.mean([clf.predict(X, rng=np.random.default_rng(12345 + k)) for k in range(200)], 0)
    # Each draw is Bernoulli(p): the mean of 200 has sd <= 0.035, so 0.2 is 5.6 sd
    # (false-failure rate about 2e-8 per row, 2e-5 over the 1,000 rows).
    assert np.max(np.abs(draws - probability)) < 0.2
    assert set(np.unique(clf.predict(X))) <= {0, 1}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"constraint": "equal_opportunity"}, ParameterValueError, "constraint"),
        ({"epsilon": -0.1}, ParameterValueError, "epsilon"),
        ({"max_iter": 0}, ParameterValueError, "max_iter"),
        ({"bound": 0.0}, ParameterValueError, "bound"),
        ({"estimator": "logistic"}, ParameterTypeError, "estimator"),
    ],
)
def test_bad_parameters_are_refused(kwargs, error, match):
    params = {"estimator": LogisticRegression(), **kwargs}
    with pytest.raises(error, match=match):
        ExponentiatedGradient(**params).fit(
            [[0.0], [1.0], [0.5], [2.0]], [0, 1, 0, 1], sensitive_features=list("aabb")
        )


@pytest.mark.parametrize(
    ("y", "groups", "match"),
    [
        ([0, 1, 0, 1], list("aab"), "one entry"),
        ([0, 1, 3, 1], list("aabb"), "binary"),
        ([0, 1, 0, 1, 0], list("aabbc"), "too small"),
        ([0, 0, 0, 1], list("aabb"), "one label"),
    ],
)
def test_bad_data_is_refused(y, groups, match):
    X = np.arange(len(y), dtype=float)[:, None]
    with pytest.raises(ParameterValueError, match=match):
        ExponentiatedGradient(LogisticRegression()).fit(X, y, sensitive_features=groups)
