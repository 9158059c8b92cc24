r"""Rates of a binary classifier on one group of people.

With :math:`Y` the true label, :math:`\hat Y` the prediction and
"positive" meaning ``== pos_label``:

.. math::

    \mathrm{SR} = P(\hat Y = 1), \quad
    \mathrm{TPR} = P(\hat Y = 1 \mid Y = 1), \quad
    \mathrm{FNR} = 1 - \mathrm{TPR}, \quad
    \mathrm{FPR} = P(\hat Y = 1 \mid Y = 0), \quad
    \mathrm{PPV} = P(Y = 1 \mid \hat Y = 1).

All are unitless fractions in :math:`[0, 1]`, estimated by counting. A rate
whose conditioning event never happens (a TPR without positives) is
undefined: these functions raise instead of returning 0 or NaN, where
scikit-learn and fairlearn return 0.

References
----------
.. [1] T. Fawcett, "An introduction to ROC analysis", Pattern Recognition
   Letters 27(8), 861-874, 2006 (definitions of TPR, FPR, precision).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from respai.exceptions import ParameterValueError
from respai.fairness.metrics._checks import (
    check_array_1d,
    check_binary,
    check_consistent_length,
)

__all__ = [
    "selection_rate",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
    "positive_predictive_value",
    "accuracy",
]


def _labels(y_true: object, y_pred: object, pos_label: Any) -> tuple[np.ndarray, np.ndarray]:
    t = check_binary("y_true", y_true, pos_label=pos_label)
    p = check_binary("y_pred", y_pred, pos_label=pos_label)
    check_consistent_length(y_true=t, y_pred=p)
    return t, p


def _conditional_rate(hits: np.ndarray, given: np.ndarray, rate: str, event: str) -> float:
    n = int(np.count_nonzero(given))
    if n == 0:
        raise ParameterValueError(
            f"the {rate} is undefined: `{event}` never happens in these samples (0/0). "
            "Compute it on a group that contains such samples."
        )
    return float(np.count_nonzero(hits & given) / n)


def selection_rate(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""Fraction of samples predicted positive, :math:`P(\hat Y = \text{pos\_label})`.

    ``y_true`` is not used (only its length is checked); it is an argument so
    that every metric has the signature ``f(y_true, y_pred)``, as in fairlearn.

    Parameters
    ----------
    y_true : array-like of shape (n,) or None
        True labels (ignored apart from the length).
    y_pred : array-like of shape (n,)
        Binary predictions.
    pos_label : scalar, default 1
        The value meaning "selected" (the favourable or flagged outcome).

    Returns
    -------
    float
        A fraction in [0, 1].

    Raises
    ------
    ParameterValueError
        If ``y_pred`` is not binary or the lengths differ.

    Examples
    --------
    >>> selection_rate([0, 0, 1, 1], [1, 0, 0, 0])
    0.25
    """
    p = check_binary("y_pred", y_pred, pos_label=pos_label)
    if y_true is not None:
        check_consistent_length(y_true=check_array_1d("y_true", y_true), y_pred=p)
    return float(np.mean(p))


def true_positive_rate(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""True positive rate (recall), :math:`P(\hat Y = 1 \mid Y = 1) = TP / (TP + FN)`.

    Examples
    --------
    >>> true_positive_rate([1, 1, 1, 0], [1, 1, 0, 1])
    0.6666666666666666
    """
    t, p = _labels(y_true, y_pred, pos_label)
    return _conditional_rate(p, t, "true positive rate", "y_true == pos_label")


def false_negative_rate(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""False negative rate (miss rate), :math:`P(\hat Y = 0 \mid Y = 1) = FN / (TP + FN)`.

    Examples
    --------
    >>> false_negative_rate([1, 1, 1, 0], [1, 1, 0, 1])
    0.3333333333333333
    """
    t, p = _labels(y_true, y_pred, pos_label)
    return _conditional_rate(~p, t, "false negative rate", "y_true == pos_label")


def false_positive_rate(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""False positive rate (fall-out), :math:`P(\hat Y = 1 \mid Y = 0) = FP / (FP + TN)`.

    Examples
    --------
    >>> false_positive_rate([0, 0, 0, 1], [1, 0, 0, 1])
    0.3333333333333333
    """
    t, p = _labels(y_true, y_pred, pos_label)
    return _conditional_rate(p, ~t, "false positive rate", "y_true != pos_label")


def true_negative_rate(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""True negative rate (specificity), :math:`P(\hat Y = 0 \mid Y = 0) = 1 - \mathrm{FPR}`."""
    t, p = _labels(y_true, y_pred, pos_label)
    return _conditional_rate(~p, ~t, "true negative rate", "y_true != pos_label")


def positive_predictive_value(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""Positive predictive value (precision), :math:`P(Y = 1 \mid \hat Y = 1) = TP/(TP+FP)`.

    Equal PPV across groups is "predictive parity", the calibration-like
    criterion in Chouldechova's impossibility result [1]_.

    References
    ----------
    .. [1] A. Chouldechova, "Fair prediction with disparate impact: a study of
       bias in recidivism prediction instruments", Big Data 5(2), 2017, eq. (2.6).

    Examples
    --------
    >>> positive_predictive_value([1, 0, 1, 1], [1, 1, 0, 1])
    0.6666666666666666
    """
    t, p = _labels(y_true, y_pred, pos_label)
    return _conditional_rate(t, p, "positive predictive value", "y_pred == pos_label")


def accuracy(y_true: object, y_pred: object, *, pos_label: Any = 1) -> float:
    r"""Fraction of correct predictions, :math:`P(\hat Y = Y)`."""
    t, p = _labels(y_true, y_pred, pos_label)
    return float(np.mean(t == p))
