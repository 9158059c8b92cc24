r"""The one engine behind every disparity: split samples by group, apply a rate, compare.

A *group* is one value of the sensitive feature, or, with several features,
one combination of their values that occurs in the data (an intersectional
group such as ``sex='Female', race='Black'``) [1]_. Groups are sorted by
their values, like fairlearn's ``MetricFrame.by_group``.

Given per-group values :math:`m_a` and the overall value :math:`m`,

.. math::

    D_{\text{between}} = \max_a m_a - \min_a m_a, \qquad
    D_{\text{overall}} = \max_a |m_a - m|,

    R_{\text{between}} = \frac{\min_a m_a}{\max_a m_a}, \qquad
    R_{\text{overall}} = \min_a \min\!\left(\frac{m_a}{m}, \frac{m}{m_a}\right),

exactly as ``MetricFrame.difference``/``ratio`` with
``method="between_groups"``/``"to_overall"``.

References
----------
.. [1] J. Buolamwini and T. Gebru, "Gender Shades: Intersectional Accuracy
   Disparities in Commercial Gender Classification", FAccT 2018 (why
   intersectional groups matter).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from respai.exceptions import ParameterValueError
from respai.fairness.metrics._checks import check_group, check_sensitive_features, format_group

__all__ = ["Groups", "split_groups", "by_group", "difference", "ratio"]


@dataclass(frozen=True)
class Groups:
    """Sample indices of each group, in sorted group order."""

    names: list[str]
    keys: list[Hashable]
    members: list[np.ndarray]

    def index(self) -> pd.Index:
        """A pandas index of the group keys (a MultiIndex for several features)."""
        if len(self.names) == 1:
            return pd.Index(self.keys, name=self.names[0])
        return pd.MultiIndex.from_tuples(self.keys, names=self.names)


def split_groups(sensitive_features: object, n_samples: int) -> Groups:
    """Validate ``sensitive_features`` and return the members of each group."""
    df = check_sensitive_features(sensitive_features, n_samples)
    names = list(df.columns)
    by = names[0] if len(names) == 1 else names
    try:
        indices = df.groupby(by, sort=True).indices
        keys = sorted(indices, key=lambda k: k)
    except TypeError:
        # Mixed value types (e.g. 1 and "a") cannot be sorted; keep first-seen order.
        indices = df.groupby(by, sort=False).indices
        keys = list(indices)
    return Groups(names=names, keys=keys, members=[np.asarray(indices[k]) for k in keys])


def by_group(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: Groups,
    *,
    min_size: int = 2,
    need_positive: bool = False,
    need_negative: bool = False,
) -> pd.Series:
    """Evaluate ``metric(y_true[g], y_pred[g])`` on every group ``g``.

    ``y_true``/``y_pred`` are boolean arrays (already validated). Each group is
    checked first (:func:`~respai.fairness.metrics._checks.check_group`), so an
    undefined rate raises an error that names the group.
    """
    values = []
    for key, idx in zip(groups.keys, groups.members, strict=True):
        check_group(
            key,
            groups.names,
            y_true[idx],
            min_size=min_size,
            need_positive=need_positive,
            need_negative=need_negative,
        )
        values.append(metric(y_true[idx], y_pred[idx]))
    return pd.Series(values, index=groups.index(), dtype=float)


def _need_two(values: pd.Series) -> None:
    if len(values) < 2:
        only = format_group(values.index[0], list(values.index.names))
        raise ParameterValueError(
            f"`sensitive_features` must define at least two groups to compare; got one "
            f"({only}). Check that the column varies (e.g. it was not filtered to one value)."
        )


def difference(values: pd.Series, overall: float, method: str) -> float:
    """Largest gap between groups, or between a group and everyone (see module docs)."""
    _need_two(values)
    if method == "between_groups":
        return float(values.max() - values.min())
    return float((values - overall).abs().max())


def ratio(values: pd.Series, overall: float, method: str) -> float:
    """Smallest ratio (at most 1) between groups, or between a group and everyone."""
    _need_two(values)
    top = overall if method == "to_overall" else float(values.max())
    if top == 0:
        raise ParameterValueError(
            "the ratio is undefined: the rate is 0 in every group (0/0). "
            "Use the difference instead, which is 0 here."
        )
    if method == "between_groups":
        return float(values.min() / top)
    # A group with rate 0 against a positive overall rate has ratio 0.
    ratios = values / overall
    ratios = ratios.where(ratios <= 1, 1 / ratios)
    return float(ratios.min())
