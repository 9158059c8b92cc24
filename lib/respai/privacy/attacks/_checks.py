"""Validators shared by the attack modules (scores, labels and counts)."""

from __future__ import annotations

import numpy as np

from respai._validation import check_binary_array, check_finite_array, check_non_negative_int
from respai.exceptions import ParameterValueError

__all__ = ["check_count", "check_scores_and_labels"]


def check_count(name: str, value: object, *, upper: int | None = None, upper_name: str = "") -> int:
    """Validate a count: an integer ``0 <= value`` (and ``<= upper`` when given)."""
    value = check_non_negative_int(name, value)
    if upper is not None and value > upper:
        raise ParameterValueError(
            f"`{name}` must be <= `{upper_name}` ({upper}); got {value!r}. "
            f"A count of successes cannot exceed the number of trials."
        )
    return value


def check_scores_and_labels(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    """Return 1-D float scores and 0/1 labels of equal length with both classes present."""
    s = check_finite_array("scores", scores).ravel()
    y = check_binary_array("labels", labels).ravel()
    if s.shape != y.shape:
        raise ParameterValueError(
            f"`scores` and `labels` must have the same length; got {s.size} and {y.size}."
        )
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        raise ParameterValueError(
            f"`labels` must contain both members (1) and non-members (0); got {n_pos} "
            f"members out of {y.size}. A ROC curve needs examples of both classes."
        )
    return s, y
