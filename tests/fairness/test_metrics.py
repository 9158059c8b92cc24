"""respai.fairness.metrics equals fairlearn.metrics 0.15 on real predictions (Adult, COMPAS).

Predictions come from a logistic regression (see conftest.py). Groups: sex
(two), race (five on Adult, six on COMPAS) and sex x race (intersectional).
The numbers are deterministic, so agreement is to float rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from respai.fairness import metrics as rm

fm = pytest.importorskip("fairlearn.metrics")

TOL = 1e-12

CASES = [
    ("adult", ["sex"]),
    ("adult", ["race"]),
    ("adult", ["sex", "race"]),
    ("compas", ["sex"]),
    ("compas", ["race"]),
    ("compas", ["sex", "race4"]),
]


@pytest.fixture(params=CASES, ids=[f"{d}-{'x'.join(c)}" for d, c in CASES])
def case(request, adult_predictions, compas_predictions):
    dataset, columns = request.param
    df = adult_predictions if dataset == "adult" else compas_predictions
    sf = df[columns[0]] if len(columns) == 1 else df[columns]
    return df["y_true"], df["y_pred"], sf


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize(
    "name",
    [
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equal_opportunity_difference",
        "equal_opportunity_ratio",
    ],
)
def test_disparity_matches_fairlearn(case, name, method):
    y_true, y_pred, sf = case
    ours = getattr(rm, name)(y_true, y_pred, sensitive_features=sf, method=method)
    theirs = getattr(fm, name)(y_true, y_pred, sensitive_features=sf, method=method)
    assert ours == pytest.approx(theirs, abs=TOL)


@pytest.mark.parametrize("method", ["between_groups", "to_overall"])
@pytest.mark.parametrize("agg", ["worst_case", "mean"])
@pytest.mark.parametrize("name", ["equalized_odds_difference", "equalized_odds_ratio"])
def test_equalized_odds_matches_fairlearn(case, name, method, agg):
    y_true, y_pred, sf = case
    ours = getattr(rm, name)(y_true, y_pred, sensitive_features=sf, method=method, agg=agg)
    theirs = getattr(fm, name)(y_true, y_pred, sensitive_features=sf, method=method, agg=agg)
    assert ours == pytest.approx(theirs, abs=TOL)


def test_group_table_matches_metric_frame(case):
    y_true, y_pred, sf = case
    frame = fm.MetricFrame(
        metrics={
            "count": fm.count,
            "accuracy": accuracy_score,
            "selection_rate": fm.selection_rate,
            "tpr": fm.true_positive_rate,
            "fpr": fm.false_positive_rate,
            "fnr": fm.false_negative_rate,
        },
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=sf,
    )
    # fairlearn lists every combination of the features; absent ones are all-NaN rows.
    theirs = frame.by_group.dropna(how="all")
    ours = rm.group_table(y_true, y_pred, sensitive_features=sf)
    assert list(ours.index) == list(theirs.index)
    assert list(ours.index.names) == list(theirs.index.names)
    for column in theirs.columns:
        np.testing.assert_allclose(
            ours[column].to_numpy(float), theirs[column].to_numpy(float), atol=TOL, err_msg=column
        )
    positive_rate = (
        pd.Series(np.asarray(y_true))
        .groupby(
            [pd.Series(np.asarray(sf[c])) for c in theirs.index.names]
            if isinstance(sf, pd.DataFrame)
            else pd.Series(np.asarray(sf))
        )
        .mean()
    )
    np.testing.assert_allclose(ours["positive_rate"].to_numpy(), positive_rate.to_numpy())


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (rm.selection_rate, fm.selection_rate),
        (rm.true_positive_rate, fm.true_positive_rate),
        (rm.false_positive_rate, fm.false_positive_rate),
        (rm.false_negative_rate, fm.false_negative_rate),
        (rm.true_negative_rate, fm.true_negative_rate),
    ],
)
def test_base_rates_match_fairlearn(adult_predictions, ours, theirs):
    df = adult_predictions
    assert ours(df["y_true"], df["y_pred"]) == pytest.approx(
        theirs(df["y_true"], df["y_pred"]), abs=TOL
    )


def test_base_rates_match_sklearn_confusion_matrix(compas_predictions):
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_score

    t, p = compas_predictions["y_true"], compas_predictions["y_pred"]
    tn, fp, fn, tp = confusion_matrix(t, p).ravel()
    assert rm.true_positive_rate(t, p) == pytest.approx(tp / (tp + fn))
    assert rm.false_negative_rate(t, p) == pytest.approx(fn / (tp + fn))
    assert rm.false_positive_rate(t, p) == pytest.approx(fp / (fp + tn))
    assert rm.true_negative_rate(t, p) == pytest.approx(tn / (fp + tn))
    assert rm.positive_predictive_value(t, p) == pytest.approx(precision_score(t, p))
    assert rm.accuracy(t, p) == pytest.approx(accuracy_score(t, p))


def test_pos_label_flips_the_roles(compas_predictions):
    t, p = compas_predictions["y_true"], compas_predictions["y_pred"]
    # With 0 as the positive label, the TPR of 0 is the TNR of 1.
    assert rm.true_positive_rate(t, p, pos_label=0) == pytest.approx(rm.true_negative_rate(t, p))
    labels = np.where(t == 1, "recid", "no")
    preds = np.where(p == 1, "recid", "no")
    assert rm.false_positive_rate(labels, preds, pos_label="recid") == pytest.approx(
        rm.false_positive_rate(t, p)
    )
    sf = compas_predictions["race"]
    assert rm.equalized_odds_difference(
        labels, preds, sensitive_features=sf, pos_label="recid"
    ) == pytest.approx(fm.equalized_odds_difference(t, p, sensitive_features=sf), abs=TOL)


def test_every_input_form_of_sensitive_features_gives_the_same_answer(adult_predictions):
    df = adult_predictions
    t, p = df["y_true"], df["y_pred"]
    expected = fm.equalized_odds_difference(t, p, sensitive_features=df[["sex", "race"]])
    forms = [
        df[["sex", "race"]],
        df[["sex", "race"]].to_numpy(),
        {"sex": df["sex"].to_numpy(), "race": df["race"].to_numpy()},
        df[["sex", "race"]].set_index(df.index[::-1] + 7),  # rows match by position
    ]
    for sf in forms:
        assert rm.equalized_odds_difference(t, p, sensitive_features=sf) == pytest.approx(
            expected, abs=TOL
        )
    one = fm.demographic_parity_difference(t, p, sensitive_features=df["race"])
    for sf in [df["race"], df["race"].to_numpy(), df["race"].tolist(), df[["race"]]]:
        assert rm.demographic_parity_difference(
            t.tolist(), p.to_numpy(), sensitive_features=sf
        ) == pytest.approx(one, abs=TOL)


def test_intersectional_table_has_only_present_combinations(compas_predictions):
    df = compas_predictions
    table = rm.group_table(df["y_true"], df["y_pred"], sensitive_features=df[["sex", "race4"]])
    assert isinstance(table.index, pd.MultiIndex)
    assert list(table.index.names) == ["sex", "race4"]
    assert len(table) == df.groupby(["sex", "race4"]).ngroups == 8
    assert table["count"].sum() == len(df)


def test_group_table_mean_score_is_the_group_mean(compas_predictions):
    df = compas_predictions
    table = rm.group_table(
        df["y_true"], df["y_pred"], sensitive_features=df["race4"], y_score=df["decile_score"]
    )
    expected = df.groupby("race4")["decile_score"].mean()
    np.testing.assert_allclose(table["mean_score"], expected.loc[table.index])
    assert "mean_score" not in rm.group_table(
        df["y_true"], df["y_pred"], sensitive_features=df["sex"]
    )


def test_calibration_by_group_counts_and_rates(compas_predictions):
    df = compas_predictions
    table = rm.calibration_by_group(
        df["y_true"], df["decile_score"], sensitive_features=df["race4"]
    )
    manual = df.groupby(["race4", "decile_score"])["y_true"].agg(["size", "mean"])
    np.testing.assert_array_equal(table["count"], manual["size"])
    np.testing.assert_allclose(table["positive_rate"], manual["mean"])
    binned = rm.calibration_by_group(
        df["y_true"], df["y_score"], sensitive_features=df["sex"], n_bins=5
    )
    assert binned["count"].sum() == len(df)
    assert set(binned.index.get_level_values("score_bin")) <= set(range(5))
    # Equal-width bins on [min, max]: bin 4 holds the top fifth of the range, max included.
    lo, hi = df["y_score"].min(), df["y_score"].max()
    top = df["y_score"] >= lo + 4 * (hi - lo) / 5
    assert binned.xs(4, level="score_bin")["count"].sum() == top.sum()


def test_categorical_features_give_only_observed_groups():
    y = np.array([1, 0, 1, 0, 1, 0])
    p = np.array([1, 0, 0, 0, 1, 1])
    sf = pd.Series(pd.Categorical(list("xxyyzz"), categories=list("wxyz")), name="group")
    table = rm.group_table(y, p, sensitive_features=sf)
    assert list(table.index) == ["x", "y", "z"]
    assert rm.demographic_parity_difference(y, p, sensitive_features=sf) == pytest.approx(
        fm.demographic_parity_difference(y, p, sensitive_features=sf)
    )
