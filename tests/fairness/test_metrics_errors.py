"""Bad input to respai.fairness.metrics fails early with a message that names the problem."""

from __future__ import annotations

import numpy as np
import pytest

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness import metrics as rm

Y = np.array([1, 0, 1, 0, 1, 0])
P = np.array([1, 0, 0, 0, 1, 1])
SF = np.array(["a", "a", "a", "b", "b", "b"])

DISPARITIES = [
    rm.demographic_parity_difference,
    rm.demographic_parity_ratio,
    rm.equal_opportunity_difference,
    rm.equal_opportunity_ratio,
    rm.equalized_odds_difference,
    rm.equalized_odds_ratio,
    rm.group_table,
]
RATES = [
    rm.true_positive_rate,
    rm.false_positive_rate,
    rm.false_negative_rate,
    rm.true_negative_rate,
    rm.positive_predictive_value,
    rm.accuracy,
]


@pytest.mark.parametrize("fn", DISPARITIES)
def test_group_with_one_sample_is_named(fn):
    sf = np.array(["a", "a", "a", "b", "b", "lonely"])
    with pytest.raises(
        ParameterValueError, match=r"group \(sensitive_feature_0='lonely'\) is too small"
    ):
        fn(Y, P, sensitive_features=sf)


@pytest.mark.parametrize(
    "fn",
    [
        rm.equal_opportunity_difference,
        rm.equalized_odds_difference,
        rm.equalized_odds_ratio,
        rm.group_table,
    ],
)
def test_group_with_one_label_is_named(fn):
    y = np.array([1, 0, 1, 0, 0, 0])
    with pytest.raises(
        ParameterValueError, match=r"group \(sensitive_feature_0='b'\) has only one label"
    ):
        fn(y, P, sensitive_features=SF)


def test_group_with_only_positives_breaks_equalized_odds_not_equal_opportunity():
    y = np.array([1, 0, 1, 1, 1, 1])
    assert rm.equal_opportunity_difference(y, P, sensitive_features=SF) == pytest.approx(
        2 / 3 - 1 / 2
    )
    with pytest.raises(ParameterValueError, match="all 3 samples are positive"):
        rm.equalized_odds_difference(y, P, sensitive_features=SF)


def test_real_intersectional_group_with_one_label(compas_predictions):
    # ProPublica's COMPAS sample has two Native American women, both re-arrested.
    df = compas_predictions
    with pytest.raises(ParameterValueError, match=r"sex='Female', race='Native American'") as err:
        rm.equalized_odds_difference(
            df["y_true"], df["y_pred"], sensitive_features=df[["sex", "race"]]
        )
    assert "has only one label" in str(err.value)


@pytest.mark.parametrize("fn", DISPARITIES)
def test_misaligned_lengths(fn):
    with pytest.raises(ParameterValueError, match=r"`y_pred` must have one entry per sample"):
        fn(Y, P[:-1], sensitive_features=SF)
    with pytest.raises(
        ParameterValueError, match=r"`sensitive_features` must have one entry per sample"
    ):
        fn(Y, P, sensitive_features=SF[:-1])


@pytest.mark.parametrize("fn", RATES + [rm.selection_rate])
def test_rates_misaligned(fn):
    with pytest.raises(ParameterValueError, match="must have one entry per sample"):
        fn(Y, P[:-1])


@pytest.mark.parametrize("fn", DISPARITIES)
def test_scores_instead_of_labels(fn):
    scores = np.array([0.9, 0.1, 0.4, 0.2, 0.8, 0.7])
    with pytest.raises(ParameterValueError, match=r"`y_pred` must hold binary labels.*threshold"):
        fn(Y, scores, sensitive_features=SF)


@pytest.mark.parametrize("fn", RATES)
def test_multiclass_labels(fn):
    with pytest.raises(ParameterValueError, match=r"`y_true` must hold binary labels.*3 distinct"):
        fn([0, 1, 2, 1, 0, 2], P)


def test_pos_label_absent():
    with pytest.raises(ParameterValueError, match=r"containing `pos_label`=1.*'yes' and 'no'"):
        rm.true_positive_rate(["yes", "no"], ["yes", "no"])


def test_missing_values():
    with pytest.raises(ParameterValueError, match="missing value"):
        rm.false_positive_rate([1.0, np.nan, 0.0], [1, 0, 0])
    sf = np.array(["a", None, "a", "b", "b", "b"], dtype=object)
    with pytest.raises(ParameterValueError, match="column 'sensitive_feature_0' has missing"):
        rm.demographic_parity_difference(Y, P, sensitive_features=sf)


def test_single_group():
    with pytest.raises(ParameterValueError, match="at least two groups"):
        rm.demographic_parity_difference(Y, P, sensitive_features=["a"] * 6)


def test_undefined_rates_raise_instead_of_returning_zero():
    with pytest.raises(ParameterValueError, match="true positive rate is undefined"):
        rm.true_positive_rate([0, 0], [1, 0])
    with pytest.raises(ParameterValueError, match="positive predictive value is undefined"):
        rm.positive_predictive_value([0, 1], [0, 0])
    with pytest.raises(ParameterValueError, match="rate is 0 in every group"):
        rm.demographic_parity_ratio(Y, np.zeros(6, int), sensitive_features=SF)


def test_bad_method_and_agg():
    with pytest.raises(ParameterValueError, match=r"`method` must be one of .*got 'max'"):
        rm.demographic_parity_difference(Y, P, sensitive_features=SF, method="max")
    with pytest.raises(ParameterValueError, match=r"`agg` must be one of .*got 'max'"):
        rm.equalized_odds_difference(Y, P, sensitive_features=SF, agg="max")


def test_bad_shapes_and_types():
    with pytest.raises(ParameterTypeError, match="`sensitive_features`.*None"):
        rm.demographic_parity_difference(Y, P, sensitive_features=None)
    with pytest.raises(ParameterValueError, match="`y_pred` must be 1-D"):
        rm.selection_rate(Y, np.ones((3, 2)))
    with pytest.raises(ParameterValueError, match="must not be empty"):
        rm.selection_rate([], [])
    with pytest.raises(ParameterValueError, match="`sensitive_features` must be 1-D"):
        rm.demographic_parity_difference(Y, P, sensitive_features=np.zeros((6, 2, 2)))
    with pytest.raises(ParameterValueError, match="`y_score` must be finite"):
        rm.group_table(Y, P, sensitive_features=SF, y_score=[0.1, np.inf, 0, 0, 0, 0])
    with pytest.raises(ParameterValueError, match="`y_score` must have one entry per sample"):
        rm.group_table(Y, P, sensitive_features=SF, y_score=[0.1, 0.2])
    with pytest.raises(ParameterValueError, match="`n_bins` must be a positive integer"):
        rm.calibration_by_group(Y, P, sensitive_features=SF, n_bins=0)


def test_booleans_are_binary():
    assert rm.selection_rate(None, np.array([True, False, True, True])) == 0.75
    assert rm.true_positive_rate([True, True, False], [True, False, False]) == 0.5
