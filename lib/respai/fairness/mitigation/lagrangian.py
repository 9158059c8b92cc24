r"""Fairness-constrained training by Lagrangian gradient descent–ascent.

The constrained problem

.. math::

    \min_\theta\; \ell(\theta) \quad \text{s.t.} \quad
    c_k(\theta) \le \varepsilon, \qquad k = 1, \dots, K,

(:math:`\ell` the training log-loss, :math:`c_k` the rate differences between
pairs of groups) becomes the two-player game on the Lagrangian

.. math::

    \min_\theta \max_{\lambda \ge 0}\; \mathcal L(\theta, \lambda)
    = \ell(\theta) + \sum_k \lambda_k \bigl(c_k(\theta) - \varepsilon\bigr).

The model (the :math:`\theta`-player) takes a gradient *descent* step on
:math:`\mathcal L`; the multipliers (the :math:`\lambda`-player) take a
projected gradient *ascent* step, :func:`dual_update`. A violated constraint
raises its multiplier, which raises the price the model pays for violating it,
until the constraint holds. Hard rates (thresholded predictions) are not
differentiable, so the model descends on a relaxation (rates of predicted
probabilities) while, with ``proxy_constraints=True``, the multipliers ascend
on the true hard violations: the *proxy-Lagrangian* of Cotter et al. (2019).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from respai._validation import check_positive, check_positive_int
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.fairness.mitigation._checks import (
    check_binary_labels,
    check_constraint,
    check_constraint_slack,
    check_features,
    check_groups,
    check_groups_estimable,
    check_same_length,
    group_codes,
)
from respai.fairness.mitigation._parity import pair_indices, rate_matrix

__all__ = ["dual_update", "FairLagrangianClassifier"]


def dual_update(multipliers: ArrayLike, violations: ArrayLike, learning_rate: float) -> np.ndarray:
    r"""One projected gradient-ascent step of the Lagrange multipliers.

    .. math::

        \lambda_k \leftarrow \max\bigl(0,\; \lambda_k + \eta\,
        (c_k(\theta) - \varepsilon)\bigr),

    where ``violations`` holds :math:`c_k(\theta) - \varepsilon` (positive
    when constraint :math:`k` is violated). The gradient of the Lagrangian in
    :math:`\lambda_k` is exactly that violation; the projection onto
    :math:`\lambda \ge 0` keeps the multipliers of *inequality* constraints
    valid: a satisfied constraint lowers its price, never below zero.

    Parameters
    ----------
    multipliers : array-like of shape (K,)
        Current multipliers :math:`\lambda \ge 0`.
    violations : array-like of shape (K,)
        :math:`c_k(\theta) - \varepsilon`, in the units of the constraint
        (differences of rates, fractions of examples).
    learning_rate : float
        Dual step size :math:`\eta > 0` (multiplier units per unit of violation).

    Returns
    -------
    numpy.ndarray of shape (K,)
        The new multipliers, all :math:`\ge 0`.

    References
    ----------
    .. [1] A. Cotter, H. Jiang and K. Sridharan, "Two-player games for efficient
       non-convex constrained optimization", ALT 2019 (the Lagrangian game,
       Section 2, and the proxy-Lagrangian, Section 4).
    .. [2] A. Agarwal, A. Beygelzimer, M. Dudík, J. Langford and H. Wallach,
       "A reductions approach to fair classification", ICML 2018 (the same
       saddle point, Section 3.1).

    Examples
    --------
    >>> dual_update([0.0, 0.5, 0.2], [0.1, -1.0, -0.1], 1.0).tolist()
    [0.1, 0.0, 0.1]
    """
    lam = np.asarray(multipliers, dtype=float)
    violation = np.asarray(violations, dtype=float)
    if lam.shape != violation.shape:
        raise ParameterValueError(
            f"`multipliers` and `violations` must have the same shape; got {lam.shape} "
            f"and {violation.shape}. There is one multiplier per constraint."
        )
    if np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ParameterValueError(f"`multipliers` must be finite and >= 0; got {lam.tolist()}.")
    if not np.all(np.isfinite(violation)):
        raise ParameterValueError(f"`violations` must be finite; got {violation.tolist()}.")
    eta = check_positive("learning_rate", learning_rate)
    return np.maximum(0.0, lam + eta * violation)


def _check_non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterTypeError(f"`{name}` must be a real number; got {value!r}.")
    if not math.isfinite(float(value)) or value < 0:
        raise ParameterValueError(f"`{name}` must be a finite number >= 0; got {value!r}.")
    return float(value)


class FairLagrangianClassifier(ClassifierMixin, BaseEstimator):
    r"""Logistic regression trained under a parity constraint by gradient descent–ascent.

    Solves :math:`\min_\theta \max_{\lambda \ge 0} \ell(\theta) +
    \sum_k \lambda_k (c_k(\theta) - \varepsilon)` (see the module docstring)
    with full-batch gradient-descent steps on :math:`\theta` and :func:`dual_update` steps
    on :math:`\lambda`, one of each per iteration. The constraints are, for
    every ordered pair of groups :math:`(a, b)`:

    * ``"demographic_parity"``: :math:`P(\hat Y = 1 \mid A = a) -
      P(\hat Y = 1 \mid A = b) \le \varepsilon`;
    * ``"equalized_odds"``: the same for the false positive rates
      (:math:`Y = 0`) and the true positive rates (:math:`Y = 1`).

    So ``epsilon`` bounds exactly the *between-groups* difference that
    :func:`respai.fairness.metrics.demographic_parity_difference` and
    :func:`~respai.fairness.metrics.equalized_odds_difference` report
    (on the training data; expect sampling noise on new data).

    Parameters
    ----------
    constraint : {"demographic_parity", "equalized_odds"}
    epsilon : float, default 0.01
        Allowed difference of rates between any two groups, in (0, 1].
    max_iter : int, default 500
        Iterations (one primal and one dual step each).
    learning_rate : float, default 2.0
        Step size of full-batch gradient descent on the model (features of
        unit scale). Plain gradient descent, not Adam: the model's response to
        a change of price is then proportional to it, while momentum delays it
        and makes the two players circle the saddle point instead of reaching it.
    dual_learning_rate : float, default 0.2
        Step size :math:`\eta` of :func:`dual_update`. Too large and the
        multipliers overshoot and oscillate; too small and they take many
        iterations to reach the price that enforces the constraint.
    alpha : float, default 1e-5
        L2 penalty :math:`\frac{\alpha}{2}\lVert W \rVert^2` on the weights.
    proxy_constraints : bool, default True
        The multipliers ascend on the hard (thresholded) violations, the
        model descends on the relaxed ones (Cotter et al. 2019). ``False``
        uses the relaxed violations for both players.
    device : str or None, default None
        Torch device; ``None`` picks :func:`respai.device`.

    Attributes
    ----------
    classes_ : ndarray ``[0, 1]``
    groups_ : ndarray
        The groups seen in ``fit``.
    multipliers_ : ndarray of shape (K,)
        Final :math:`\lambda`, one per constrained pair.
    history_ : dict of ndarray
        Per iteration: ``"loss"`` (log-loss), ``"max_violation"`` (largest
        hard rate difference minus epsilon), ``"multipliers"`` (T, K).
    model_ : torch.nn.Linear
        The trained logistic model (logits out), on the CPU. It starts at
        zero (the log-loss is convex), so training is deterministic.

    References
    ----------
    .. [1] A. Cotter, H. Jiang and K. Sridharan, "Two-player games for efficient
       non-convex constrained optimization", ALT 2019, Algorithm 2 (proxy-Lagrangian).
    .. [2] M. B. Zafar, I. Valera, M. Gomez-Rodriguez and K. P. Gummadi,
       "Fairness constraints: mechanisms for fair classification", AISTATS 2017
       (relaxed, differentiable parity constraints).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> group = rng.integers(0, 2, 500)
    >>> X = np.column_stack([rng.normal(group, 1.0), group])
    >>> y = (X[:, 0] + rng.normal(0, 0.5, 500) > 0.5).astype(int)
    >>> clf = FairLagrangianClassifier("demographic_parity", 0.02, max_iter=300, device="cpu")
    >>> pred = clf.fit(X, y, sensitive_features=group).predict(X)
    >>> bool(abs(pred[group == 1].mean() - pred[group == 0].mean()) <= 0.03)
    True
    """

    def __init__(
        self,
        constraint: str = "demographic_parity",
        epsilon: float = 0.01,
        *,
        max_iter: int = 500,
        learning_rate: float = 2.0,
        dual_learning_rate: float = 0.2,
        alpha: float = 1e-5,
        proxy_constraints: bool = True,
        device: str | None = None,
    ):
        self.constraint = constraint
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.dual_learning_rate = dual_learning_rate
        self.alpha = alpha
        self.proxy_constraints = proxy_constraints
        self.device = device

    def _check_params(self) -> None:
        check_constraint(self.constraint)
        check_constraint_slack(self.epsilon)
        check_positive_int("max_iter", self.max_iter)
        check_positive("learning_rate", self.learning_rate)
        check_positive("dual_learning_rate", self.dual_learning_rate)
        _check_non_negative("alpha", self.alpha)
        if not isinstance(self.proxy_constraints, bool):
            raise ParameterTypeError(
                f"`proxy_constraints` must be True or False; got {self.proxy_constraints!r}."
            )

    def _device(self) -> torch.device:
        if self.device is None:
            from respai.runtime import device

            return device()
        return torch.device(self.device)

    def fit(self, X, y, *, sensitive_features, sample_weight=None):
        """Train under the constraint; ``sensitive_features`` is needed only here.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Features (scale them: the step size assumes unit-scale inputs).
        y : array-like of shape (n,)
            Labels 0/1.
        sensitive_features : array-like of shape (n,) or (n, k)
            Group of each example; every group needs >= 2 examples and both labels.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights of the log-loss (e.g. reweighing weights);
            the constraints are always on unweighted rates.

        Returns
        -------
        self
        """
        self._check_params()
        features = check_features(X)
        labels = check_binary_labels(y)
        groups = check_groups(sensitive_features, len(labels))
        check_same_length(X=features, y=labels, sensitive_features=groups)
        known = check_groups_estimable(labels, groups)
        codes = group_codes(groups, known)
        n = labels.size
        if sample_weight is None:
            weights = np.ones(n)
        else:
            weights = np.asarray(sample_weight, dtype=float).reshape(-1)
            check_same_length(y=labels, sample_weight=weights)
            if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
                raise ParameterValueError("`sample_weight` must be finite, >= 0 and not all zero.")
        device = self._device()
        dtype = torch.float32  # MPS has no float64
        # Logistic regression: a convex loss, so start at zero and need no random init.
        model = nn.Linear(features.shape[1], 1).to(device)
        nn.init.zeros_(model.weight)
        nn.init.zeros_(model.bias)
        X_t = torch.as_tensor(features, dtype=dtype, device=device)
        y_t = torch.as_tensor(labels, dtype=dtype, device=device)
        w_t = torch.as_tensor(weights / weights.mean(), dtype=dtype, device=device)
        rates = torch.as_tensor(
            rate_matrix(self.constraint, labels, codes, known.size), dtype=dtype, device=device
        )
        first, second = (
            torch.as_tensor(i, device=device) for i in pair_indices(self.constraint, known.size)
        )
        epsilon = float(self.epsilon)

        def violations(predictions: torch.Tensor) -> torch.Tensor:
            group_rates = rates @ predictions
            return group_rates[first] - group_rates[second] - epsilon

        step = float(self.learning_rate)
        multipliers = np.zeros(first.numel())
        losses, max_violation, trace = [], [], []
        for _ in range(self.max_iter):
            logits = model(X_t).squeeze(-1)
            log_loss = (
                nn.functional.binary_cross_entropy_with_logits(logits, y_t, reduction="none") * w_t
            ).mean()
            relaxed = violations(torch.sigmoid(logits))
            penalty = (model.weight * model.weight).sum()
            lagrangian = (
                log_loss
                + 0.5 * float(self.alpha) * penalty
                + (torch.as_tensor(multipliers, dtype=dtype, device=device) * relaxed).sum()
            )
            model.zero_grad()
            lagrangian.backward()
            with torch.no_grad():  # plain gradient descent (torch.optim would import torch._dynamo)
                for parameter in model.parameters():
                    parameter -= step * parameter.grad
            # The dual player sees the violations of the model the primal step started from
            # (simultaneous updates), hard or relaxed.
            with torch.no_grad():
                hard = violations((logits > 0).to(dtype))
                seen = hard if self.proxy_constraints else relaxed.detach()
                seen_np = seen.cpu().numpy().astype(float)
            multipliers = dual_update(multipliers, seen_np, float(self.dual_learning_rate))
            losses.append(float(log_loss.detach()))
            max_violation.append(float(hard.max()))
            trace.append(multipliers)
        self.model_ = model.cpu().eval()
        self.classes_ = np.array([0, 1])
        self.groups_ = known
        self.n_features_in_ = features.shape[1]
        self.multipliers_ = multipliers
        self.n_iter_ = int(self.max_iter)
        self.history_ = {
            "loss": np.asarray(losses),
            "max_violation": np.asarray(max_violation),
            "multipliers": np.asarray(trace),
        }
        return self

    def decision_function(self, X) -> np.ndarray:
        """Logit of :math:`P(Y = 1 \\mid x)` (real numbers, log-odds)."""
        check_is_fitted(self, "model_")
        features = check_features(X)
        if features.shape[1] != self.n_features_in_:
            raise ParameterValueError(
                f"`X` must have {self.n_features_in_} features, as in fit; got {features.shape[1]}."
            )
        with torch.no_grad():
            logits = self.model_(torch.as_tensor(features, dtype=torch.float32)).squeeze(-1)
        return logits.numpy().astype(float)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of classes 0 and 1, shape (n, 2)."""
        positive = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X) -> np.ndarray:
        """Labels 0/1: 1 where the predicted probability exceeds 1/2."""
        return (self.decision_function(X) > 0).astype(np.int64)
