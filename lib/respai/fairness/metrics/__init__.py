"""Group fairness metrics, checked against ``fairlearn.metrics``.

Base rates of one group (:func:`selection_rate`, :func:`true_positive_rate`,
...), disparities between groups (:func:`demographic_parity_difference`,
:func:`equalized_odds_difference`, ...) and per-group tables
(:func:`group_table`, :func:`calibration_by_group`). Every function that
compares groups takes ``sensitive_features`` as fairlearn does: a 1-D array
or Series (one feature), or a DataFrame/2-D array whose value combinations
are intersectional groups.
"""

from respai.fairness.metrics._base import (
    accuracy,
    false_negative_rate,
    false_positive_rate,
    positive_predictive_value,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from respai.fairness.metrics._checks import (
    check_binary,
    check_consistent_length,
    check_sensitive_features,
)
from respai.fairness.metrics._disparities import (
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equal_opportunity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)
from respai.fairness.metrics._group_table import calibration_by_group, group_table

__all__ = [
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
    "positive_predictive_value",
    "accuracy",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equal_opportunity_difference",
    "equal_opportunity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "group_table",
    "calibration_by_group",
    "check_binary",
    "check_consistent_length",
    "check_sensitive_features",
]
