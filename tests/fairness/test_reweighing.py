"""Reweighing (Kamiran & Calders 2012): the weights make label and group independent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.mitigation import reweighing_weights
from tests.fairness._mitigation_data import adult_design


def _weighted_joint(y, groups, weights):
    frame = pd.DataFrame({"y": y, "s": groups, "w": weights})
    return frame.pivot_table(index="y", columns="s", values="w", aggfunc="sum") / weights.sum()


def test_hand_computed_example():
    # Group a: three 1s and one 0; group b: one 1 and three 0s; n = 8, P(y=1) = P(a) = 1/2.
    # w(1, a) = (1/2)(1/2)/(3/8) = 2/3, w(0, a) = (1/2)(1/2)/(1/8) = 2, and symmetrically for b.
    w = reweighing_weights([1, 1, 1, 0, 1, 0, 0, 0], ["a"] * 4 + ["b"] * 4)
    np.testing.assert_allclose(w, [2 / 3, 2 / 3, 2 / 3, 2, 2, 2 / 3, 2 / 3, 2 / 3])


@pytest.mark.parametrize("columns", [["sex"], ["race"], ["sex", "race"]])
def test_adult_weights_equal_the_formula_and_make_label_independent(columns):
    _, y, sex, race, *_ = adult_design()
    table = {"sex": sex, "race": race}
    if len(columns) == 1:
        groups = table[columns[0]]
        keys = pd.Series(groups)
    else:
        groups = pd.DataFrame({c: table[c] for c in columns})
        keys = groups["sex"] + "|" + groups["race"]
    w = reweighing_weights(y, groups)

    # The formula, computed independently with pandas: P(y) P(s) / P(y, s).
    frame = pd.DataFrame({"y": y, "s": keys.to_numpy()})
    p_y = frame["y"].map(frame["y"].value_counts(normalize=True))
    p_s = frame["s"].map(frame["s"].value_counts(normalize=True))
    p_ys = frame.groupby(["y", "s"])["y"].transform("size") / len(frame)
    np.testing.assert_allclose(w, (p_y * p_s / p_ys).to_numpy(), rtol=1e-12)

    # In the weighted data, P_w(y, s) = P_w(y) P_w(s) for every cell (independence) ...
    joint = _weighted_joint(y, keys.to_numpy(), w)
    product = np.outer(joint.sum(axis=1), joint.sum(axis=0))
    np.testing.assert_allclose(joint.to_numpy(), product, atol=1e-12)
    # ... and the marginals are those of the unweighted data.
    np.testing.assert_allclose(joint.sum(axis=1).to_numpy(), [1 - y.mean(), y.mean()], atol=1e-12)
    assert np.isclose(w.sum(), len(y))
    assert np.all(w > 0)


def test_already_independent_data_gets_unit_weights():
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    groups = np.array(["a", "a", "a", "a", "b", "b", "b", "b"])
    np.testing.assert_allclose(reweighing_weights(y, groups), 1.0)


def test_weighted_selection_rate_gap_of_labels_vanishes():
    # A base-rate gap between groups disappears from the weighted labels.
    _, y, sex, *_ = adult_design()
    w = reweighing_weights(y, sex)
    female, male = sex == "Female", sex == "Male"
    assert y[male].mean() - y[female].mean() > 0.15
    weighted = [np.average(y[m], weights=w[m]) for m in (female, male)]
    assert abs(weighted[0] - weighted[1]) < 1e-12


@pytest.mark.parametrize(
    ("y", "groups", "error", "match"),
    [
        ([0, 1, 2, 1], ["a", "a", "b", "b"], ParameterValueError, "binary"),
        ([0.2, 0.7, 0.1, 0.9], ["a", "a", "b", "b"], ParameterValueError, "binary"),
        ([0, 1, 0, 1], ["a", "a", "b"], ParameterValueError, "one entry per sample"),
        ([0, 1, 0, 1, 1], ["a", "a", "b", "b", "c"], ParameterValueError, "too small"),
        ([0, 1, 1, 1], ["a", "a", "b", "b"], ParameterValueError, "only one label"),
        ([0, 1, 0, 1], ["a", "a", "a", "a"], ParameterValueError, "two groups"),
        ([0, 1, 0, 1], None, ParameterTypeError, "sensitive_features"),
        ([0, 1, 0, 1], "abab", ParameterTypeError, "sensitive_features"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(y, groups, error, match):
    with pytest.raises(error, match=match):
        reweighing_weights(y, groups)
