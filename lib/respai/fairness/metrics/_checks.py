"""Input validation for the fairness metrics, in one place.

Every metric calls these before computing anything, so a bad input fails the
same way everywhere, with a message that names the argument, the value and
the fix. The messages' first words are constants so tests can match them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "METHODS",
    "AGGREGATIONS",
    "check_array_1d",
    "check_consistent_length",
    "check_binary",
    "check_sensitive_features",
    "check_method",
    "check_agg",
    "check_group",
    "format_group",
]

#: How a disparity compares groups (fairlearn's ``method=``).
METHODS = ("between_groups", "to_overall")
#: How equalized odds combines its two differences (fairlearn's ``agg=``).
AGGREGATIONS = ("worst_case", "mean")

NOT_BINARY = "must hold binary labels"
MISALIGNED = "must have one entry per sample"
TOO_SMALL = "is too small"
ONE_LABEL = "has only one label"
MISSING_GROUP = "has missing values"


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones, so messages read 'yes', not np.str_('yes')."""
    return value.item() if isinstance(value, np.generic) else value


def check_array_1d(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a 1-D NumPy array (a ``(n, 1)`` column is flattened)."""
    if value is None:
        raise ParameterTypeError(f"`{name}` must be an array of labels; got None.")
    if isinstance(value, (pd.Series, pd.Index)):
        arr = value.to_numpy()
    elif isinstance(value, pd.DataFrame):
        if value.shape[1] != 1:
            raise ParameterValueError(
                f"`{name}` must be 1-D; got a DataFrame with {value.shape[1]} columns."
            )
        arr = value.iloc[:, 0].to_numpy()
    else:
        arr = np.asarray(value)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ParameterValueError(f"`{name}` must be 1-D; got an array of shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ParameterValueError(f"`{name}` must not be empty; got 0 samples.")
    return arr


def check_consistent_length(**arrays: Any) -> int:
    """Return the common length of the named arrays, or name the ones that differ.

    ``check_consistent_length(y_true=a, y_pred=b)`` raises
    "`y_pred` must have one entry per sample: it has 99 entries but `y_true` has 100."
    """
    first_name, first = next(iter(arrays.items()))
    n = len(first)
    for name, arr in arrays.items():
        if len(arr) != n:
            raise ParameterValueError(
                f"`{name}` {MISALIGNED}: it has {len(arr)} entries but `{first_name}` has "
                f"{n}. Pass arrays aligned row by row (one entry per person)."
            )
    return n


def check_binary(name: str, value: object, *, pos_label: Any = 1) -> np.ndarray:
    """Return a boolean array, ``value == pos_label``, after checking ``value`` is binary.

    Binary means at most two distinct values, no missing ones, and, when there
    are two, ``pos_label`` is one of them. Booleans count as ``{0, 1}``.

    Raises
    ------
    ParameterValueError
        If ``value`` has missing entries, more than two distinct values (for
        instance scores or probabilities that were not thresholded), or two
        values of which neither is ``pos_label``.
    """
    arr = check_array_1d(name, value)
    if arr.dtype.kind == "O" or arr.dtype.kind == "f":
        missing = pd.isna(arr)
        if missing.any():
            raise ParameterValueError(
                f"`{name}` {NOT_BINARY}; got {int(missing.sum())} missing value(s) (NaN/None)."
            )
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    distinct = pd.unique(arr)
    if len(distinct) > 2:
        shown = ", ".join(repr(_plain(v)) for v in sorted(distinct[:5], key=str))
        raise ParameterValueError(
            f"`{name}` {NOT_BINARY} (two distinct values, the positive one `pos_label`="
            f"{pos_label!r}); got {len(distinct)} distinct values ({shown}, ...). "
            "If these are scores or probabilities, threshold them first, "
            "e.g. `(y_score >= 0.5).astype(int)`."
        )
    if len(distinct) == 2 and not any(v == pos_label for v in distinct):
        raise ParameterValueError(
            f"`{name}` {NOT_BINARY} containing `pos_label`={pos_label!r}; got the values "
            f"{_plain(distinct[0])!r} and {_plain(distinct[1])!r}. "
            "Pass the positive label as `pos_label`."
        )
    return np.asarray(arr == pos_label, dtype=bool)


def check_sensitive_features(sensitive_features: object, n_samples: int) -> pd.DataFrame:
    """Normalise ``sensitive_features`` to a DataFrame with one column per feature.

    Accepts what fairlearn accepts: a 1-D list, array or Series (one feature);
    a DataFrame, a dict of columns or a 2-D array (several features, whose
    value combinations are the intersectional groups). Unnamed features are
    called ``sensitive_feature_0``, ``sensitive_feature_1``, ... as in fairlearn.
    Rows are matched by position, not by index label.

    Raises
    ------
    ParameterTypeError
        If ``sensitive_features`` is None or not array-like.
    ParameterValueError
        If its length differs from ``n_samples``, it has no column, more than
        two dimensions, or missing values.
    """
    name = "sensitive_features"
    if sensitive_features is None:
        raise ParameterTypeError(
            f"`{name}` must be a 1-D array of group labels or a DataFrame of them; got None."
        )
    if isinstance(sensitive_features, pd.Series):
        col = sensitive_features.name
        df = pd.DataFrame(
            {str(col) if col is not None else "sensitive_feature_0": sensitive_features.to_numpy()}
        )
    elif isinstance(sensitive_features, pd.DataFrame):
        df = pd.DataFrame(
            {
                str(c): sensitive_features.iloc[:, i].to_numpy()
                for i, c in enumerate(sensitive_features.columns)
            }
        )
    elif isinstance(sensitive_features, Mapping):
        df = (
            pd.DataFrame(
                {str(k): np.asarray(v, dtype=object) for k, v in sensitive_features.items()}
            )
            if sensitive_features
            else pd.DataFrame()
        )
    else:
        try:
            arr = np.asarray(sensitive_features, dtype=object)
        except (TypeError, ValueError) as err:
            raise ParameterTypeError(
                f"`{name}` must be array-like; got {type(sensitive_features).__name__}."
            ) from err
        if arr.ndim == 0:
            raise ParameterTypeError(
                f"`{name}` must be an array with one group label per sample; got the scalar "
                f"{sensitive_features!r}."
            )
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ParameterValueError(
                f"`{name}` must be 1-D (one feature) or 2-D (several); got shape {arr.shape}."
            )
        df = pd.DataFrame({f"sensitive_feature_{i}": arr[:, i] for i in range(arr.shape[1])})
    if df.shape[1] == 0:
        raise ParameterValueError(f"`{name}` must have at least one column; got none.")
    check_consistent_length(y_true=np.empty(n_samples), sensitive_features=df)
    for col in df.columns:
        missing = df[col].isna()
        if missing.any():
            raise ParameterValueError(
                f"`{name}` column {col!r} {MISSING_GROUP}: {int(missing.sum())} of {len(df)} "
                "rows. Give them an explicit group (e.g. 'unknown') or drop those rows."
            )
    return df


def check_method(method: object) -> str:
    """Validate ``method`` in :data:`METHODS`."""
    if method not in METHODS:
        raise ParameterValueError(
            f"`method` must be one of {', '.join(map(repr, METHODS))}; got {method!r}."
        )
    return str(method)


def check_agg(agg: object) -> str:
    """Validate ``agg`` in :data:`AGGREGATIONS`."""
    if agg not in AGGREGATIONS:
        raise ParameterValueError(
            f"`agg` must be one of {', '.join(map(repr, AGGREGATIONS))}; got {agg!r}."
        )
    return str(agg)


def format_group(key: Hashable, names: list[str]) -> str:
    """Render a group key for messages: ``sex='Female', race='Asian'``."""
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{n}={_plain(v)!r}" for n, v in zip(names, values, strict=True))


def check_group(
    key: Hashable,
    names: list[str],
    y_true: np.ndarray,
    *,
    min_size: int = 2,
    need_positive: bool = False,
    need_negative: bool = False,
) -> None:
    """Refuse a group whose metric would be undefined or meaningless.

    ``y_true`` is the group's boolean label array (``True`` = positive).
    A true positive rate needs a positive, a false positive rate a negative;
    a group of one sample has a rate of exactly 0 or 1, which says nothing.

    Raises
    ------
    ParameterValueError
        Naming the group, its size and what is missing.
    """
    group = format_group(key, names)
    n = len(y_true)
    fix = "Merge small groups (e.g. into 'Other') or drop them before computing this metric."
    if n < min_size:
        raise ParameterValueError(
            f"group ({group}) {TOO_SMALL}: it has {n} sample(s), at least {min_size} are "
            f"needed. {fix}"
        )
    n_pos = int(np.count_nonzero(y_true))
    if need_positive and n_pos == 0:
        raise ParameterValueError(
            f"group ({group}) {ONE_LABEL}: all {n} samples are negative, so its true "
            f"positive / false negative rate is undefined (0/0). {fix}"
        )
    if need_negative and n_pos == n:
        raise ParameterValueError(
            f"group ({group}) {ONE_LABEL}: all {n} samples are positive, so its false "
            f"positive rate is undefined (0/0). {fix}"
        )
