"""Input checks shared by the mitigation methods (one place, one message shape).

Every fair-training method needs the same three things from its input: 0/1
labels, one group label per example, and enough data in every group to
estimate that group's rates. The checks here say which of these fails, with
the parameter, the value and the fix, before any expensive work.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_array

from respai._validation import check_positive
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.metrics._checks import (
    check_binary,
    check_consistent_length,
    check_group,
    check_sensitive_features,
)

__all__: list[str] = []

CONSTRAINTS = ("demographic_parity", "equalized_odds")


def check_constraint(constraint: object) -> str:
    """Return ``constraint`` if it names a supported parity constraint."""
    if not isinstance(constraint, str) or constraint not in CONSTRAINTS:
        raise ParameterValueError(f"`constraint` must be one of {CONSTRAINTS}; got {constraint!r}.")
    return constraint


def check_constraint_slack(epsilon: object) -> float:
    """Return ``epsilon`` as a float if it is a slack in (0, 1] (a difference of rates)."""
    value = check_positive("epsilon", epsilon)
    if value > 1:
        raise ParameterValueError(
            f"`epsilon` must be in (0, 1] (a difference of rates); got {epsilon!r}."
        )
    return value


def check_binary_labels(y: object, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-d int array of 0/1 (1 = the label 1, or True).

    Delegates to :func:`respai.fairness.metrics._checks.check_binary`, so a
    three-class target, unthresholded scores or missing labels fail with the
    same message as in the metrics.
    """
    return check_binary(name, y, pos_label=1).astype(np.int64)


def check_groups(sensitive_features: object, n_samples: int) -> np.ndarray:
    """Return one hashable group label per example, as a 1-d object array.

    Accepts what the metrics accept
    (:func:`respai.fairness.metrics._checks.check_sensitive_features`): one
    feature (1-d) or several (2-d, DataFrame, dict), whose value combinations
    are intersectional groups, given as tuples.
    """
    if isinstance(sensitive_features, (str, bytes)):
        raise ParameterTypeError(
            "`sensitive_features` must be an array-like with one group per example; "
            f"got the string {sensitive_features!r}."
        )
    if hasattr(sensitive_features, "__len__") and len(sensitive_features) != n_samples:
        raise ParameterValueError(
            f"`sensitive_features` must have one entry per sample: it has "
            f"{len(sensitive_features)} entries but `y` has {n_samples}. Pass arrays aligned "
            "row by row (one entry per example)."
        )
    frame = check_sensitive_features(sensitive_features, n_samples)
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].to_numpy(dtype=object)
    return _object_array(frame.itertuples(index=False, name=None))


def check_features(X: object) -> np.ndarray:
    """Return ``X`` as a finite 2-d float array (scikit-learn's ``check_array``)."""
    try:
        return check_array(X, dtype=np.float64, ensure_2d=True)
    except ValueError as err:
        raise ParameterValueError(f"`X` must be a finite 2-d array of numbers: {err}") from err


def check_same_length(**arrays: object) -> int:
    """Return the common length of the named arrays, or say which one differs."""
    return check_consistent_length(**arrays)


def check_groups_estimable(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Return the sorted distinct groups; refuse groups too small to estimate their rates.

    Every group needs at least two examples and both labels: with one example,
    or one label, its true/false positive rates (and the reweighing weights
    that make label and group independent) are undefined.
    """
    known = unique_groups(groups)
    codes = group_codes(groups, known)
    if known.size < 2:
        raise ParameterValueError(
            f"`sensitive_features` must contain at least two groups; got only {list(known)}. "
            "A fairness constraint compares groups."
        )
    for index, name in enumerate(known):
        check_group(
            name,
            [f"sensitive_feature_{i}" for i in range(len(name))]
            if isinstance(name, tuple)
            else ["sensitive_features"],
            y[codes == index].astype(bool),
            min_size=2,
            need_positive=True,
            need_negative=True,
        )
    return known


def unique_groups(groups: np.ndarray) -> np.ndarray:
    """Distinct group labels in a stable order (sorted by their string form)."""
    return _object_array(sorted(set(groups), key=str))


def _object_array(items) -> np.ndarray:
    """1-d object array of ``items``, kept whole even when they are tuples."""
    items = list(items)
    out = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):
        out[index] = item
    return out


def group_codes(groups: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Index of each example's group in ``known``; refuse groups not seen in ``fit``."""
    lookup = {key: index for index, key in enumerate(known)}
    try:
        return np.fromiter((lookup[g] for g in groups), dtype=np.int64, count=len(groups))
    except KeyError as err:
        raise ParameterValueError(
            f"`sensitive_features` contains the group {err.args[0]!r}, which was not in the "
            f"training data (known groups: {list(known)})."
        ) from None
