r"""ROC curves of membership-inference attacks, read at low false-positive rates.

An attack outputs a score per example (higher means "more likely a member").
Thresholding at :math:`\tau` gives the rates

.. math::

    \mathrm{TPR}(\tau) = \Pr[s(x) \ge \tau \mid x \in D], \qquad
    \mathrm{FPR}(\tau) = \Pr[s(x) \ge \tau \mid x \notin D].

Carlini et al. (2022), "Membership Inference Attacks From First Principles",
IEEE S&P, Section III-B, argue for reporting TPR at a low FPR (0.1 %, 0.001 %)
on log-log axes rather than accuracy or AUC.
"""

from __future__ import annotations

import numpy as np

from respai._validation import check_finite_array
from respai.exceptions import ParameterValueError
from respai.privacy.attacks._checks import check_scores_and_labels

__all__ = ["roc_curve", "roc_auc", "tpr_at_fpr"]


def roc_curve(scores: object, labels: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Every point of the empirical ROC curve of a score (higher = member).

    For each distinct score :math:`\tau` (in decreasing order), the point is
    :math:`(\mathrm{FPR}(\tau), \mathrm{TPR}(\tau))` with the rule "member iff
    :math:`s \ge \tau`"; a first point :math:`(0, 0)` at :math:`\tau = +\infty`
    is prepended. This is :func:`sklearn.metrics.roc_curve` with
    ``drop_intermediate=False``.

    Parameters
    ----------
    scores : array_like of float
        Attack scores, finite; higher means "more likely a member".
    labels : array_like of {0, 1} or bool
        True membership: 1 for members (training examples), 0 otherwise.
        Both classes must be present.

    Returns
    -------
    fpr, tpr, thresholds : numpy.ndarray
        Non-decreasing rates in ``[0, 1]`` and the thresholds (decreasing,
        the first one ``inf``), all of the same length.

    Raises
    ------
    ParameterValueError
        If the arrays differ in length, hold NaN/infinity or non-0/1 labels,
        or one class is missing.

    Examples
    --------
    >>> fpr, tpr, thr = roc_curve([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    s, y = check_scores_and_labels(scores, labels)
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # last index of each run of equal scores: the point after all ties are included
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tp = np.cumsum(y_sorted)[last]
    fp = (last + 1) - tp
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    tpr = np.r_[0.0, tp / n_pos]
    fpr = np.r_[0.0, fp / n_neg]
    thresholds = np.r_[np.inf, s_sorted[last]]
    return fpr, tpr, thresholds


def roc_auc(scores: object, labels: object) -> float:
    r"""Area under the ROC curve (trapezoidal rule; ties count one half).

    Equals :math:`\Pr[s(X_1) > s(X_0)] + \tfrac12 \Pr[s(X_1) = s(X_0)]` for a
    random member :math:`X_1` and non-member :math:`X_0` (Mann–Whitney). 0.5
    is chance. A summary that hides the low-FPR regime: prefer
    :func:`tpr_at_fpr` (Carlini et al. 2022, Section III-B).

    Examples
    --------
    >>> roc_auc([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0])
    0.75
    """
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def tpr_at_fpr(scores: object, labels: object, fpr: float | object) -> float | np.ndarray:
    r"""Highest true-positive rate of the attack whose false-positive rate is at most ``fpr``.

    .. math::

        \mathrm{TPR@FPR}(\alpha) = \max \{\mathrm{TPR}(\tau) :
            \mathrm{FPR}(\tau) \le \alpha\},

    taken over the thresholds of :func:`roc_curve` (no interpolation), the
    convention of Carlini et al. (2022), Section III-B. With :math:`n_0`
    non-members, rates below :math:`1/n_0` are resolved only as "no false
    positive at all": report ``fpr`` no smaller than :math:`1/n_0`.

    Parameters
    ----------
    scores, labels : array_like
        As in :func:`roc_curve`.
    fpr : float or array_like of float
        Target false-positive rate(s) in ``[0, 1]``.

    Returns
    -------
    float or numpy.ndarray
        A float for a scalar ``fpr``, otherwise an array of its shape.

    Examples
    --------
    >>> tpr_at_fpr([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], 0.0)
    0.5
    >>> tpr_at_fpr([0.9, 0.8, 0.3, 0.1], [1, 0, 1, 0], [0.5, 1.0]).tolist()
    [1.0, 1.0]
    """
    target = check_finite_array("fpr", fpr)
    if np.any((target < 0) | (target > 1)):
        raise ParameterValueError(
            f"`fpr` must be a probability in [0, 1]; got {fpr!r}. Pass e.g. 1e-3 for 0.1 %."
        )
    roc_fpr, roc_tpr, _ = roc_curve(scores, labels)
    # fpr and tpr are non-decreasing: the best admissible point is the last with fpr <= target
    idx = np.searchsorted(roc_fpr, target, side="right") - 1
    out = roc_tpr[idx]
    return float(out) if out.ndim == 0 else out
