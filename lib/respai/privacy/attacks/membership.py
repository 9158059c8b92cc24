r"""Loss-threshold membership inference (Yeom et al. 2018) and membership advantage.

A model fits its training examples better than unseen ones, so a low loss is
evidence of membership. Yeom, Giacomelli, Fredrikson & Jha (2018), "Privacy
Risk in Machine Learning: Analyzing the Connection to Overfitting", IEEE CSF,
Section 3.2, predict "member" when the loss is below the model's average
training loss; the score used here, :math:`s(x) = -\ell(x)`, lets a ROC curve
sweep every threshold.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from respai._validation import check_binary_array, check_finite_array
from respai.exceptions import ParameterValueError
from respai.privacy.attacks._checks import check_scores_and_labels
from respai.privacy.attacks.roc import roc_curve

__all__ = [
    "AttackScores",
    "loss_threshold_attack",
    "membership_advantage",
    "best_membership_advantage",
]


class AttackScores(NamedTuple):
    """Scores of a membership-inference attack with the true membership labels.

    Attributes
    ----------
    scores : numpy.ndarray of float
        Higher means "more likely a member".
    labels : numpy.ndarray of int
        1 for members, 0 for non-members, aligned with ``scores``.
    """

    scores: np.ndarray
    labels: np.ndarray


def _check_losses(name: str, losses: object) -> np.ndarray:
    arr = check_finite_array(name, losses).ravel()
    if arr.size == 0:
        raise ParameterValueError(
            f"`{name}` must hold at least one loss; got an empty array. "
            "Pass the per-example losses of the model on these examples."
        )
    return arr


def loss_threshold_attack(member_losses: object, nonmember_losses: object) -> AttackScores:
    r"""Score every example by its negated loss, the attack of Yeom et al. (2018).

    .. math::

        s(x) = -\ell(f_\theta(x), y), \qquad
        \hat m(x) = \mathbb{1}[\ell(f_\theta(x), y) \le \tau],

    where Yeom et al. (2018), Section 3.2 (Algorithm "adversary
    :math:`\mathcal{A}_{\text{loss}}`" for bounded loss), take
    :math:`\tau` as the average training loss; passing the scores to
    :func:`~respai.privacy.attacks.roc_curve` evaluates every :math:`\tau`.

    Parameters
    ----------
    member_losses : array_like of float
        Per-example losses on training examples (members), finite.
    nonmember_losses : array_like of float
        Per-example losses on held-out examples from the same distribution.

    Returns
    -------
    AttackScores
        ``scores`` (members first, then non-members) and ``labels`` (1, then 0).

    Raises
    ------
    ParameterValueError
        If either array is empty or holds NaN or infinity.

    Examples
    --------
    >>> scores, labels = loss_threshold_attack([0.1, 0.2], [0.9, 0.15])
    >>> scores.tolist(), labels.tolist()
    ([-0.1, -0.2, -0.9, -0.15], [1, 1, 0, 0])
    """
    members = _check_losses("member_losses", member_losses)
    nonmembers = _check_losses("nonmember_losses", nonmember_losses)
    scores = -np.concatenate([members, nonmembers])
    labels = np.r_[np.ones(members.size, dtype=np.int64), np.zeros(nonmembers.size, dtype=np.int64)]
    return AttackScores(scores, labels)


def membership_advantage(predictions: object, labels: object) -> float:
    r"""Membership advantage :math:`\mathrm{TPR} - \mathrm{FPR}` of hard predictions.

    .. math::

        \mathrm{Adv} = \Pr[\hat m = 1 \mid m = 1] - \Pr[\hat m = 1 \mid m = 0],

    Yeom et al. (2018), Definition 4. For an :math:`\varepsilon`-DP training
    algorithm every attack has :math:`\mathrm{Adv} \le e^\varepsilon - 1`
    (Yeom et al. 2018, Theorem 1).

    Parameters
    ----------
    predictions : array_like of {0, 1} or bool
        The attack's guesses (1 = member).
    labels : array_like of {0, 1} or bool
        True membership; both classes must be present.

    Returns
    -------
    float
        A number in ``[-1, 1]``; 0 is chance.

    Examples
    --------
    >>> membership_advantage([1, 1, 0, 1], [1, 1, 0, 0])
    0.5
    """
    pred = check_binary_array("predictions", predictions).ravel()
    _, y = check_scores_and_labels(pred, labels)
    tpr = pred[y == 1].mean()
    fpr = pred[y == 0].mean()
    return float(tpr - fpr)


def best_membership_advantage(scores: object, labels: object) -> float:
    r"""Largest advantage over all thresholds: :math:`\max_\tau \mathrm{TPR} - \mathrm{FPR}`.

    The threshold is chosen with the labels, so this is an optimistic
    (in-sample) estimate of what an attacker who knows a good threshold gets.

    Examples
    --------
    >>> best_membership_advantage([-0.1, -0.2, -0.9, -0.15], [1, 1, 0, 0])
    0.5
    """
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.max(tpr - fpr))
