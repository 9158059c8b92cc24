"""FairLagrangianClassifier and its dual update, on Adult (sex)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.metrics import demographic_parity_difference, equalized_odds_difference
from respai.fairness.mitigation import FairLagrangianClassifier, dual_update
from tests.fairness._mitigation_data import adult_design, adult_sample


@pytest.fixture(autouse=True)
def one_thread():
    # On a shared 2-core machine, BLAS and torch threads only contend with each other.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


# --------------------------------------------------------------------------- dual update


def test_dual_update_is_projected_gradient_ascent():
    rng = np.random.default_rng(0)
    lam = rng.uniform(0, 2, 50)
    violation = rng.normal(0, 1, 50)
    new = dual_update(lam, violation, 0.3)
    expected = [max(0.0, a + 0.3 * v) for a, v in zip(lam, violation, strict=True)]
    np.testing.assert_allclose(new, expected)
    assert np.all(new >= 0)
    # A violated constraint's price rises, a satisfied one's falls (to 0 at most).
    assert np.all(new[violation > 0] > lam[violation > 0])
    assert np.all(new[violation < 0] <= lam[violation < 0])


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (([0.0, 1.0], [0.1], 1.0), ParameterValueError, "same shape"),
        (([-0.1, 1.0], [0.1, 0.2], 1.0), ParameterValueError, ">= 0"),
        (([0.0, 1.0], [np.nan, 0.2], 1.0), ParameterValueError, "finite"),
        (([0.0, 1.0], [0.1, 0.2], 0.0), ParameterValueError, "learning_rate"),
        (([0.0, 1.0], [0.1, 0.2], "1"), ParameterTypeError, "learning_rate"),
    ],
)
def test_dual_update_refuses_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        dual_update(*args)


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def data():
    X, y, sex, _ = adult_sample(6000, seed=1)
    *_, X_test, y_test, sex_test = adult_design()
    unconstrained = LogisticRegression(max_iter=500).fit(X, y)
    return X, y, sex, X_test, y_test, sex_test, unconstrained


def test_demographic_parity_holds_on_training_data_at_little_cost(data):
    X, y, sex, X_test, y_test, sex_test, unconstrained = data
    clf = FairLagrangianClassifier("demographic_parity", 0.02, device="cpu").fit(
        X, y, sensitive_features=sex
    )
    baseline = demographic_parity_difference(y, unconstrained.predict(X), sensitive_features=sex)
    assert baseline > 0.1  # the constraint has something to do
    # Deterministic run (zero init, full batch); the slack covers the last dual oscillations.
    train_dp = demographic_parity_difference(y, clf.predict(X), sensitive_features=sex)
    assert train_dp <= 0.02 + 0.005
    # On held-out data: within sampling noise of the bound (sd about 0.006 on 16,281 rows).
    test_dp = demographic_parity_difference(
        y_test, clf.predict(X_test), sensitive_features=sex_test
    )
    assert test_dp <= 0.02 + 0.03
    accuracy = np.mean(clf.predict(X_test) == y_test)
    assert accuracy >= np.mean(unconstrained.predict(X_test) == y_test) - 0.03
    # The active constraint is "men selected more than women": its multiplier is positive.
    assert clf.multipliers_.max() > 0
    assert np.all(clf.history_["multipliers"] >= 0)


def test_equalized_odds_holds_on_training_data(data):
    X, y, sex, *_, unconstrained = data
    clf = FairLagrangianClassifier("equalized_odds", 0.02, device="cpu").fit(
        X, y, sensitive_features=sex
    )
    baseline = equalized_odds_difference(y, unconstrained.predict(X), sensitive_features=sex)
    achieved = equalized_odds_difference(y, clf.predict(X), sensitive_features=sex)
    assert baseline > 0.04
    assert achieved <= 0.02 + 0.015
    assert clf.multipliers_.shape == (4,)  # 2 events x 2 ordered pairs of groups


def test_relaxed_dual_also_reduces_the_disparity(data):
    X, y, sex, *_, unconstrained = data
    clf = FairLagrangianClassifier(
        "demographic_parity", 0.02, proxy_constraints=False, device="cpu"
    ).fit(X, y, sensitive_features=sex)
    baseline = demographic_parity_difference(y, unconstrained.predict(X), sensitive_features=sex)
    achieved = demographic_parity_difference(y, clf.predict(X), sensitive_features=sex)
    assert achieved < baseline / 2


def test_without_active_constraint_it_is_logistic_regression(data):
    # epsilon = 1 can never be violated: the multipliers stay 0 and the model is plain
    # (lightly L2-penalized) logistic regression, fitted by gradient descent.
    X, y, sex, X_test, *_ = data
    clf = FairLagrangianClassifier("demographic_parity", 1.0, max_iter=1500, device="cpu")
    clf.fit(X, y, sensitive_features=sex)
    assert np.all(clf.multipliers_ == 0)
    reference = LogisticRegression(C=1 / (1e-5 * len(y)), max_iter=2000).fit(X, y)
    agreement = np.mean(clf.predict(X_test) == reference.predict(X_test))
    assert agreement > 0.98


def test_sample_weights_are_normalized_and_all_twos_change_nothing(data):
    X, y, sex, X_test, *_ = data
    small = slice(0, 1500)
    a = FairLagrangianClassifier(max_iter=200, device="cpu").fit(
        X[small], y[small], sensitive_features=sex[small]
    )
    b = FairLagrangianClassifier(max_iter=200, device="cpu").fit(
        X[small], y[small], sensitive_features=sex[small], sample_weight=np.full(1500, 2.0)
    )
    np.testing.assert_allclose(a.decision_function(X_test), b.decision_function(X_test), atol=1e-5)


def test_estimator_api(data):
    X, y, sex, X_test, *_ = data
    clf = FairLagrangianClassifier("equalized_odds", 0.05, max_iter=50, device="cpu")
    assert clf.get_params()["epsilon"] == 0.05
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict(X_test)
    assert clf.fit(X[:800], y[:800], sensitive_features=sex[:800]) is clf
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.predict(X_test), (proba[:, 1] > 0.5).astype(int))
    assert list(clf.classes_) == [0, 1]
    assert clf.history_["loss"].shape == (50,)
    assert clf.history_["multipliers"].shape == (50, 4)
    with pytest.raises(ParameterValueError, match="features"):
        clf.predict(X_test[:, :5])


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_the_same_model_as_cpu(data):
    X, y, sex, X_test, *_ = data
    kwargs = dict(max_iter=200)
    cpu = FairLagrangianClassifier(device="cpu", **kwargs).fit(X, y, sensitive_features=sex)
    gpu = FairLagrangianClassifier(device="cuda", **kwargs).fit(X, y, sensitive_features=sex)
    assert np.mean(cpu.predict(X_test) == gpu.predict(X_test)) > 0.99


@pytest.mark.parametrize(
    ("kwargs", "fit_args", "error", "match"),
    [
        ({"constraint": "parity"}, None, ParameterValueError, "constraint"),
        ({"epsilon": 0.0}, None, ParameterValueError, "epsilon"),
        ({"epsilon": 1.5}, None, ParameterValueError, "epsilon"),
        ({"max_iter": 0}, None, ParameterValueError, "max_iter"),
        ({"alpha": -1.0}, None, ParameterValueError, "alpha"),
        ({"proxy_constraints": "yes"}, None, ParameterTypeError, "proxy_constraints"),
        ({}, ([[0.0], [1.0], [2.0]], [0, 1, 1], ["a", "b"]), ParameterValueError, "one entry"),
        ({}, ([[0.0], [1.0], [2.0]], [0, 1], ["a", "b", "b"]), ParameterValueError, "one entry"),
        ({}, ([[0.0]] * 4, [0, 1, 2, 1], ["a", "a", "b", "b"]), ParameterValueError, "binary"),
        ({}, ([[0.0]] * 5, [0, 1, 0, 1, 1], list("aabbc")), ParameterValueError, "too small"),
        ({}, ([[0.0]] * 4, [0, 1, 1, 1], list("aabb")), ParameterValueError, "one label"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, fit_args, error, match):
    X, y, groups = fit_args or ([[0.0], [1.0], [0.5], [2.0]], [0, 1, 0, 1], list("aabb"))
    with pytest.raises(error, match=match):
        FairLagrangianClassifier(**kwargs, device="cpu").fit(X, y, sensitive_features=groups)
