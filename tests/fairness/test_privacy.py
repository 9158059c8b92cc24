"""respai.fairness.privacy: disparate impact of DP-SGD, private per-group thresholds."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from scipy import stats
from sklearn.metrics import accuracy_score

from respai.exceptions import ParameterValueError
from respai.fairness.privacy import (
    HISTOGRAM_SENSITIVITY,
    accuracy_by_group,
    accuracy_drop_by_group,
    apply_group_thresholds,
    clipped_fraction_by_group,
    private_score_histogram,
    thresholds_for_selection_rate,
)

EDGES = np.linspace(0.0, 1.0, 21)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 3000
    group = rng.choice(["a", "b", "c"], size=n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    scores = np.clip(rng.beta(2, 5, n) + 0.3 * (group == "b"), 0, 1)
    return group, y, pred, scores


def test_accuracy_by_group_equals_fairlearn(data):
    group, y, pred, _ = data
    ours = accuracy_by_group(y, pred, sensitive_features=group)
    theirs = MetricFrame(
        metrics=accuracy_score, y_true=y, y_pred=pred, sensitive_features=group
    ).by_group
    np.testing.assert_allclose(ours.to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-12)
    assert list(ours.index) == list(theirs.index)


def test_accuracy_drop_by_group():
    base = pd.Series([0.9, 0.8], index=["a", "b"])
    dp = pd.Series([0.85, 0.6], index=["a", "b"])
    np.testing.assert_allclose(accuracy_drop_by_group(base, dp), [0.05, 0.2])
    with pytest.raises(ParameterValueError, match="same groups"):
        accuracy_drop_by_group(base, pd.Series([0.1], index=["a"]))


def test_clipped_fraction_by_hand():
    norms = [0.5, 2.0, 3.0, 1.0, 0.1]
    out = clipped_fraction_by_group(norms, 1.0, sensitive_features=["x", "x", "y", "y", "y"])
    assert out.loc["x"] == 0.5 and out.loc["y"] == pytest.approx(1 / 3)  # 1.0 is not > C
    with pytest.raises(ParameterValueError, match="max_grad_norm.*got 0"):
        clipped_fraction_by_group(norms, 0.0, sensitive_features=list("xxyyy"))
    with pytest.raises(ParameterValueError, match="grad_norms must be finite and >= 0"):
        clipped_fraction_by_group([-1.0], 1.0, sensitive_features=["x"])


def test_histogram_counts_are_exact_plus_laplace_noise(data):
    group, _, _, scores = data
    exact = np.stack([np.histogram(scores[group == g], bins=EDGES)[0] for g in "abc"])
    eps = 0.5
    draws = np.stack(
        [
            private_score_histogram(
                scores, sensitive_features=group, bin_edges=EDGES, epsilon=eps, rng=seed
            ).to_numpy()
            for seed in range(200)
        ]
    )
    noise = (draws - exact).ravel()  # 200 x 3 x 20 = 12,000 Laplace draws
    # Kolmogorov-Smirnov against Lap(2/eps); fixed seeds, false-failure rate 1e-3.
    assert stats.kstest(noise, "laplace", args=(0, HISTOGRAM_SENSITIVITY / eps)).pvalue > 1e-3
    # Wrong scales are far outside: Lap(1/eps) (sensitivity 1) is rejected.
    assert stats.kstest(noise, "laplace", args=(0, 1 / eps)).pvalue < 1e-6


def test_histogram_errors(data):
    group, _, _, scores = data
    kwargs = dict(sensitive_features=group, bin_edges=EDGES)
    with pytest.raises(ParameterValueError, match="epsilon.*> 0; got -1"):
        private_score_histogram(scores, epsilon=-1, **kwargs)
    with pytest.raises(ParameterValueError, match="strictly increasing"):
        private_score_histogram(scores, sensitive_features=group, bin_edges=[0, 0], epsilon=1)
    with pytest.raises(ParameterValueError, match="every score must lie in"):
        private_score_histogram(scores + 2, epsilon=1, **kwargs)


def test_thresholds_equalise_selection_rates(data):
    group, _, _, scores = data
    hist = private_score_histogram(
        scores, sensitive_features=group, bin_edges=EDGES, epsilon=1e9, rng=0
    )
    thresholds = thresholds_for_selection_rate(hist, 0.3)
    pred = apply_group_thresholds(scores, thresholds, sensitive_features=group)
    rates = pd.Series(pred).groupby(group).mean()
    # With exact counts each group's rate is within one bin's mass of the target.
    for g in "abc":
        in_bin = np.histogram(scores[group == g], bins=EDGES)[0].max() / np.sum(group == g)
        assert abs(rates[g] - 0.3) <= in_bin / 2 + 1e-9
    # Group b's scores are shifted up, so its threshold is higher.
    assert thresholds["b"] > thresholds["a"]


def test_thresholds_errors():
    hist = pd.DataFrame([[-3.0, -1.0]], index=["g"], columns=[0.0, 0.5])
    with pytest.raises(ParameterValueError, match="no \\(noisy\\) mass"):
        thresholds_for_selection_rate(hist, 0.5)
    with pytest.raises(ParameterValueError, match="target_rate"):
        thresholds_for_selection_rate(hist, 1.5)
    with pytest.raises(ParameterValueError, match="no threshold for group 'z'"):
        apply_group_thresholds([0.1], pd.Series([0.0], index=["g"]), sensitive_features=["z"])
