"""Input checks shared by the mitigation methods (one place, one message shape).

Every fair-training method needs the same three things from its input: 0/1
labels, one group label per example, and enough data in every group to
estimate that group's rates. The checks here say which of these fails, with
the parameter, the value and the fix, before any expensive work.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__: list[str] = []

CONSTRAINTS = ("demographic_parity", "equalized_odds")


def check_constraint(constraint: object) -> str:
    """Return ``constraint`` if it names a supported parity constraint."""
    if not isinstance(constraint, str) or constraint not in CONSTRAINTS:
        raise ParameterValueError(f"`constraint` must be one of {CONSTRAINTS}; got {constraint!r}.")
    return constraint


def check_binary_labels(y: object, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-d int array of 0/1; refuse anything else.

    Booleans and floats equal to 0.0/1.0 are accepted. Other codings ({-1, 1},
    {"<=50K", ">50K"}, three classes) are refused rather than guessed.
    """
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ParameterValueError(
            f"`{name}` must be a 1-d array of 0/1 labels; got an array of shape {arr.shape}."
        )
    if arr.size == 0:
        raise ParameterValueError(f"`{name}` must not be empty; got 0 labels.")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        values = sorted(map(str, pd.unique(arr)))[:5]
        raise ParameterValueError(
            f"`{name}` must hold binary labels 0/1; got values {values}. "
            "Map the positive class to 1 and the other to 0 first."
        )
    values = np.unique(arr)
    if not np.all(np.isin(values, (0, 1))):
        shown = values[:5].tolist()
        raise ParameterValueError(
            f"`{name}` must hold binary labels 0/1; got values {shown}"
            f"{' ...' if values.size > 5 else ''}. "
            "Map the positive class to 1 and the other to 0 first."
        )
    return arr.astype(np.int64)


def check_groups(sensitive_features: object, n_samples: int) -> np.ndarray:
    """Return one hashable group label per example, as a 1-d object array.

    A 1-d array-like (list, :class:`pandas.Series`, NumPy array) is one
    sensitive feature; a 2-d one (several columns, e.g. sex and race) is
    combined into intersectional groups, one per row's tuple of values.
    """
    if sensitive_features is None:
        raise ParameterValueError(
            "`sensitive_features` must be given (one group label per example); got None."
        )
    if isinstance(sensitive_features, (str, bytes)):
        raise ParameterTypeError(
            "`sensitive_features` must be an array-like with one group per example; "
            f"got the string {sensitive_features!r}."
        )
    if isinstance(sensitive_features, pd.DataFrame):
        frame = sensitive_features
    else:
        arr = np.asarray(sensitive_features, dtype=object)
        if arr.ndim == 0:
            raise ParameterTypeError(
                "`sensitive_features` must be an array-like with one group per example; "
                f"got the scalar {sensitive_features!r}."
            )
        if arr.ndim > 2:
            raise ParameterValueError(
                f"`sensitive_features` must be 1-d or 2-d; got an array of shape {arr.shape}."
            )
        frame = pd.DataFrame(arr.reshape(len(arr), -1))
    if len(frame) != n_samples:
        raise ParameterValueError(
            f"`sensitive_features` must have one entry per example ({n_samples}); "
            f"got {len(frame)}. Pass the group labels of the same rows as `X` and `y`."
        )
    if frame.isna().to_numpy().any():
        raise ParameterValueError(
            "`sensitive_features` must not contain missing values (NaN/None); "
            "give missing values their own group label first."
        )
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].to_numpy(dtype=object)
    groups = np.empty(len(frame), dtype=object)
    groups[:] = list(frame.itertuples(index=False, name=None))
    return groups


def check_features(X: object) -> np.ndarray:
    """Return ``X`` as a finite 2-d float array (scikit-learn's ``check_array``)."""
    try:
        return check_array(X, dtype=np.float64, ensure_2d=True)
    except ValueError as err:
        raise ParameterValueError(f"`X` must be a finite 2-d array of numbers: {err}") from err


def check_same_length(**arrays: object) -> int:
    """Return the common length of the named arrays, or say which ones disagree."""
    lengths = {name: len(value) for name, value in arrays.items()}  # type: ignore[arg-type]
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name}: {n}" for name, n in lengths.items())
        raise ParameterValueError(
            f"inputs must have the same number of examples; got {shown}. "
            "Pass aligned rows (same examples, same order)."
        )
    return next(iter(lengths.values()))


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
    counts = np.bincount(codes, minlength=known.size)
    positives = np.bincount(codes, weights=y, minlength=known.size)
    for index, name in enumerate(known):
        if counts[index] < 2:
            raise ParameterValueError(
                f"every group in `sensitive_features` needs at least 2 examples; group {name!r} "
                "has 1. Merge it with another group or collect more data."
            )
        if positives[index] in (0, counts[index]):
            raise ParameterValueError(
                f"every group in `sensitive_features` needs both labels in `y`; group {name!r} "
                f"has only label {int(positives[index] > 0)}. Its error rates cannot be "
                "estimated: merge it with another group or collect more data."
            )
    return known


def unique_groups(groups: np.ndarray) -> np.ndarray:
    """Distinct group labels in a stable order (sorted by their string form)."""
    firsts = pd.unique(pd.Series(groups, dtype=object))
    return np.asarray(sorted(firsts, key=str), dtype=object)


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
