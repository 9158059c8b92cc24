r"""Reweighing (Kamiran & Calders 2012): weights that make label and group independent.

Pre-processing: leave features and labels alone and give each example a weight
such that, in the weighted training data, the label :math:`Y` is independent
of the group :math:`S`. Any learner that accepts ``sample_weight`` then trains
on data in which group membership says nothing about the label.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from respai.fairness.mitigation._checks import (
    check_binary_labels,
    check_groups,
    check_groups_estimable,
    group_codes,
)

__all__ = ["reweighing_weights"]


def reweighing_weights(y: ArrayLike, sensitive_features: ArrayLike) -> np.ndarray:
    r"""Kamiran–Calders reweighing weights, one per example.

    An example with label :math:`y` in group :math:`s` gets

    .. math::

        w(y, s) = \frac{\hat P(Y = y)\, \hat P(S = s)}{\hat P(Y = y, S = s)}
                = \frac{n_y\, n_s}{n\, n_{ys}},

    the probability its cell would have if label and group were independent,
    over the probability it has. In the weighted data
    :math:`\hat P_w(Y = y, S = s) = \hat P(Y = y)\,\hat P(S = s)` exactly, so
    :math:`Y` and :math:`S` are independent and the marginals are unchanged.
    The weights sum to :math:`n` (their mean is 1). Unitless.

    Parameters
    ----------
    y : array-like of shape (n,)
        Binary labels, 0/1.
    sensitive_features : array-like of shape (n,) or (n, k)
        Group of each example (several columns form intersectional groups).

    Returns
    -------
    numpy.ndarray of shape (n,)
        Positive weights; pass them as ``sample_weight`` to any learner.

    Raises
    ------
    ParameterValueError
        If ``y`` is not 0/1, the lengths differ, or a group has a single
        example or a single label (its cell for the other label would be
        empty, so no weights can make the label independent of the group).

    References
    ----------
    .. [1] F. Kamiran and T. Calders, "Data preprocessing techniques for
       classification without discrimination", *Knowledge and Information
       Systems* 33(1), 2012, Section 4.2 ("Reweighing"), Eq. (1).

    Examples
    --------
    >>> w = reweighing_weights([1, 1, 1, 0, 1, 0, 0, 0], ["a"] * 4 + ["b"] * 4)
    >>> w.round(3).tolist()
    [0.667, 0.667, 0.667, 2.0, 2.0, 0.667, 0.667, 0.667]
    """
    labels = check_binary_labels(y)
    groups = check_groups(sensitive_features, len(labels))
    known = check_groups_estimable(labels, groups)
    codes = group_codes(groups, known)
    n = labels.size
    # Cell counts n_{ys}: row = label, column = group.
    joint = np.zeros((2, known.size))
    np.add.at(joint, (labels, codes), 1.0)
    expected = joint.sum(axis=1, keepdims=True) * joint.sum(axis=0, keepdims=True) / n
    return expected[labels, codes] / joint[labels, codes]
