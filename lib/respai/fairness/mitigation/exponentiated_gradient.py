r"""The exponentiated-gradient reduction of Agarwal et al. (2018), from scratch.

Fair classification as a zero-sum game between a *learner* who picks a
classifier and an *auditor* who prices constraint violations:

.. math::

    \min_{Q \in \Delta(\mathcal H)}\; \max_{\lambda \in \mathbb R_+^K,\,
    \lVert\lambda\rVert_1 \le B}\;
    L(Q, \lambda) = \widehat{\mathrm{err}}(Q) + \lambda^\top
    \bigl(\hat\gamma(Q) - c\bigr),

over *randomized* classifiers :math:`Q` (distributions over a base class
:math:`\mathcal H`, e.g. logistic regressions). The auditor runs
exponentiated gradient on :math:`\theta` (:func:`exponentiated_multipliers`
turns it into :math:`\lambda`); the learner best-responds to each
:math:`\lambda` by **one weighted classification** with any scikit-learn
estimator. The average of the learner's responses is the returned randomized
classifier; after :math:`O(1/\nu^2)` iterations it is :math:`\nu`-optimal.

Constraints are those of Agarwal et al. and fairlearn: for every event
:math:`e` (demographic parity: all examples; equalized odds: :math:`Y = 0`,
:math:`Y = 1`), group :math:`g` and sign,
:math:`\pm\bigl(P(\hat Y = 1 \mid e, g) - P(\hat Y = 1 \mid e)\bigr) \le c`:
each group against everyone, not pairs of groups.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.validation import check_is_fitted

from respai._validation import check_finite_array, check_positive, check_positive_int, check_rng
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
from respai.fairness.mitigation._parity import rate_matrix

__all__ = ["exponentiated_multipliers", "ExponentiatedGradient"]

# The step-size schedule of fairlearn's implementation (a practical choice; the paper
# fixes eta = nu / (2 rho^2 B)): from iteration 5 on, whenever the best gap has not
# shrunk by 20% since the last check (checks at geometrically spaced iterations,
# x1.6), the step size is multiplied by 0.8.
_REGRET_CHECK_START, _REGRET_CHECK_GROWTH, _SHRINK_REGRET, _SHRINK_ETA = 5, 1.6, 0.8, 0.8
_MIN_ITER = 5
_ACCURACY_MUL = 0.5
_PRECISION = 1e-8


def exponentiated_multipliers(theta: ArrayLike, bound: float) -> np.ndarray:
    r"""Multipliers of the exponentiated-gradient auditor from its state :math:`\theta`.

    .. math::

        \lambda_k = B\, \frac{e^{\theta_k}}{1 + \sum_j e^{\theta_j}},

    a softmax over the :math:`K` constraints plus one extra coordinate fixed
    at :math:`\theta_0 = 0` ("no constraint"), scaled by :math:`B`. So
    :math:`\lambda \ge 0` and :math:`\lVert\lambda\rVert_1 < B`; the step
    :math:`\theta \leftarrow \theta + \eta(\hat\gamma(h_t) - c)` is
    multiplicative in :math:`\lambda` (exponentiated gradient). Computed with
    the log-sum-exp shift, so large :math:`\theta` does not overflow.

    Parameters
    ----------
    theta : array-like of shape (K,)
        The auditor's cumulative, step-scaled constraint violations.
    bound : float
        :math:`B > 0`, the largest total price of violations (Agarwal et al.
        use :math:`B = 1/c`).

    Returns
    -------
    numpy.ndarray of shape (K,)

    References
    ----------
    .. [1] A. Agarwal, A. Beygelzimer, M. Dudík, J. Langford and H. Wallach,
       "A reductions approach to fair classification", ICML 2018, Algorithm 1.

    Examples
    --------
    >>> exponentiated_multipliers([0.0, 0.0, 0.0], 4.0).tolist()
    [1.0, 1.0, 1.0]
    """
    values = check_finite_array("theta", theta)
    if values.ndim != 1:
        raise ParameterValueError(f"`theta` must be 1-d; got shape {values.shape}.")
    scale = check_positive("bound", bound)
    shift = max(0.0, float(values.max(initial=0.0)))
    numerators = np.exp(values - shift)
    return scale * numerators / (np.exp(-shift) + numerators.sum())


def _constraint_matrix(
    constraint: str, y: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, list[tuple[str, int, int]]]:
    """Rows :math:`M_k` with :math:`\\hat\\gamma_k(h) = M_k h`, and their (sign, event, group)."""
    group_rows = rate_matrix(constraint, y, codes, n_groups)
    n_events = group_rows.shape[0] // n_groups
    events = np.zeros_like(y) if constraint == "demographic_parity" else y
    event_rows = np.zeros((n_events, y.size))
    for event in range(n_events):
        members = events == event
        event_rows[event, members] = 1.0 / members.sum()
    differences = group_rows - np.repeat(event_rows, n_groups, axis=0)
    labels = [(e, g) for e in range(n_events) for g in range(n_groups)]
    index = [("+", e, g) for e, g in labels] + [("-", e, g) for e, g in labels]
    return np.vstack([differences, -differences]), index


class _Constant:
    """A classifier that always predicts the same label (the best response may be one)."""

    def __init__(self, label: int):
        self.label = label

    def predict(self, X):
        return np.full(len(X), self.label, dtype=np.int64)


class ExponentiatedGradient(MetaEstimatorMixin, BaseEstimator):
    r"""Randomized fair classifier by the exponentiated-gradient reduction (Algorithm 1).

    Each iteration :math:`t`:

    1. :math:`\lambda_t` = :func:`exponentiated_multipliers` (:math:`\theta_t, B`);
    2. best response :math:`h_t = \arg\min_h L(h, \lambda_t)`: a weighted
       classification in which example :math:`i` gets the label and weight
       of the sign and size of its cost difference
       :math:`\Delta_i = \frac{1 - 2y_i}{n} + \sum_k \lambda_k M_{ki}`
       (cost of predicting 1 minus cost of predicting 0); among the responses
       found so far the best one under :math:`\lambda_t` is kept;
    3. :math:`\hat Q_t` = uniform mixture of :math:`h_1..h_t`,
       :math:`\hat\lambda_t` = mean of :math:`\lambda_1..\lambda_t`; stop when
       the duality gap
       :math:`\max\{L(\hat Q_t, \lambda^*) - L(\hat Q_t, \hat\lambda_t),\;
       L(\hat Q_t, \hat\lambda_t) - \min_h L(h, \hat\lambda_t)\} \le \nu`;
    4. :math:`\theta_{t+1} = \theta_t + \eta\,(\hat\gamma(h_t) - c)`.

    The result is the :math:`\hat Q_t` with the smallest gap.

    Parameters
    ----------
    estimator : scikit-learn classifier
        Base learner; must accept ``fit(X, y, sample_weight=...)``.
    constraint : {"demographic_parity", "equalized_odds"}
    epsilon : float, default 0.01
        :math:`c`: allowed difference between a group's rate and the rate of
        all examples (per event), in (0, 1].
    bound : float or None, default None
        :math:`B`, the L1 bound of :math:`\lambda`; ``None`` is :math:`1/c`.
    max_iter : int, default 50
    nu : float or None, default None
        Gap at which to stop; ``None`` sets it from the statistical error of
        the first response, :math:`0.5\,\mathrm{sd}(|h_0(x) - y|)/\sqrt n`.
    eta0 : float, default 2.0
        Initial step :math:`\eta = \eta_0 / B`, shrunk when the gap stalls.
    random_state : int or None, default None
        Default seed of :meth:`predict`'s randomization.

    Attributes
    ----------
    predictors_ : list of fitted estimators
    weights_ : ndarray
        Probability of each predictor in the randomized classifier.
    multipliers_ : ndarray
        :math:`\hat\lambda` at the returned iterate, ordered as ``constraint_index_``.
    constraint_index_ : list of (sign, event, group index)
    best_gap_ : float
    n_iter_ : int
    n_oracle_calls_ : int

    References
    ----------
    .. [1] A. Agarwal, A. Beygelzimer, M. Dudík, J. Langford and H. Wallach,
       "A reductions approach to fair classification", ICML 2018, Algorithm 1
       and Theorem 1; cross-checked against
       ``fairlearn.reductions.ExponentiatedGradient`` (Bird et al. 2020).
    """

    def __init__(
        self,
        estimator,
        constraint: str = "demographic_parity",
        *,
        epsilon: float = 0.01,
        bound: float | None = None,
        max_iter: int = 50,
        nu: float | None = None,
        eta0: float = 2.0,
        random_state: int | None = None,
    ):
        self.estimator = estimator
        self.constraint = constraint
        self.epsilon = epsilon
        self.bound = bound
        self.max_iter = max_iter
        self.nu = nu
        self.eta0 = eta0
        self.random_state = random_state

    def _check_params(self) -> tuple[float, float]:
        if not hasattr(self.estimator, "fit") or not hasattr(self.estimator, "predict"):
            raise ParameterTypeError(
                "`estimator` must be a scikit-learn classifier with fit(X, y, sample_weight) "
                f"and predict(X); got {self.estimator!r}."
            )
        check_constraint(self.constraint)
        epsilon = check_constraint_slack(self.epsilon)
        bound = 1.0 / epsilon if self.bound is None else check_positive("bound", self.bound)
        check_positive_int("max_iter", self.max_iter)
        if self.nu is not None:
            check_positive("nu", self.nu)
        check_positive("eta0", self.eta0)
        if self.random_state is not None and (
            isinstance(self.random_state, bool)
            or not isinstance(self.random_state, numbers.Integral)
        ):
            raise ParameterTypeError(
                f"`random_state` must be None or an int seed; got {self.random_state!r}."
            )
        return epsilon, bound

    def fit(self, X, y, *, sensitive_features):
        """Run the reduction on training data; ``sensitive_features`` is needed only here."""
        epsilon, bound = self._check_params()
        features = check_features(X)
        labels = check_binary_labels(y)
        groups = check_groups(sensitive_features, len(labels))
        check_same_length(X=features, y=labels, sensitive_features=groups)
        known = check_groups_estimable(labels, groups)
        codes = group_codes(groups, known)
        n = labels.size
        M, index = _constraint_matrix(self.constraint, labels, codes, known.size)
        error_cost = (1.0 - 2.0 * labels) / n  # cost(predict 1) - cost(predict 0), error part

        predictors: list = []
        predictions: list[np.ndarray] = []  # each response's 0/1 predictions on the training set
        errors: list[float] = []
        gammas: list[np.ndarray] = []
        self.n_oracle_calls_ = 0

        def oracle(lam: np.ndarray) -> int:
            """Index of the best response to ``lam`` (a new fit, or an earlier response)."""
            delta = error_cost + M.T @ lam
            target = (delta < 0).astype(np.int64)
            if target.min() == target.max():
                model = _Constant(int(target[0]))
            else:
                weight = np.abs(delta)
                model = clone(self.estimator).fit(
                    features, target, sample_weight=n * weight / weight.sum()
                )
            self.n_oracle_calls_ += 1
            h = np.asarray(model.predict(features)).astype(float)
            value = float(np.mean(h != labels) + lam @ (M @ h))
            if predictors:
                values = np.asarray(errors) + np.asarray(gammas) @ lam
                best = int(np.argmin(values))
                if values[best] <= value - _PRECISION:
                    return best
            predictors.append(model)
            predictions.append(h)
            errors.append(float(np.mean(h != labels)))
            gammas.append(M @ h)
            return len(predictors) - 1

        def lagrangian(weights: np.ndarray, lam: np.ndarray) -> tuple[float, float, float]:
            """L(Q, lam), and L under the auditor's best response (all of B on the worst)."""
            err = float(np.asarray(errors)[: weights.size] @ weights)
            gamma = np.asarray(gammas)[: weights.size].T @ weights
            value = err + float(lam @ (gamma - epsilon))
            worst = float(np.max(gamma - epsilon))
            return value, err + bound * max(worst, 0.0), err

        theta = np.zeros(len(index))
        lambda_sum = np.zeros(len(index))
        counts: dict[int, float] = {}
        nu = self.nu
        eta = float(self.eta0) / bound
        gaps: list[float] = []
        iterates: list[tuple[np.ndarray, np.ndarray]] = []
        last_checked, last_gap = _REGRET_CHECK_START, math.inf
        for t in range(self.max_iter):
            lam = exponentiated_multipliers(theta, bound)
            lambda_sum += lam
            lambda_hat = lambda_sum / (t + 1)
            chosen = oracle(lam)
            if nu is None:
                nu = _ACCURACY_MUL * np.std(np.abs(predictions[chosen] - labels)) / np.sqrt(n)
            counts[chosen] = counts.get(chosen, 0.0) + 1.0
            weights = np.zeros(len(predictors))
            for k, c in counts.items():
                weights[k] = c
            weights /= weights.sum()
            value, value_high, _ = lagrangian(weights, lambda_hat)
            best_response = oracle(lambda_hat)
            weights = np.pad(weights, (0, len(predictors) - weights.size))
            value_low = min(
                value, float(errors[best_response] + lambda_hat @ (gammas[best_response] - epsilon))
            )
            gap = max(value - value_low, value_high - value)
            gaps.append(gap)
            iterates.append((weights, lambda_hat))
            if gap < nu and t >= _MIN_ITER:
                break
            if t >= last_checked * _REGRET_CHECK_GROWTH:
                best_gap = min(gaps)
                if best_gap > last_gap * _SHRINK_REGRET:
                    eta *= _SHRINK_ETA
                last_checked, last_gap = t, best_gap
            theta = theta + eta * (gammas[chosen] - epsilon)

        best = max(i for i, g in enumerate(gaps) if g <= min(gaps) + _PRECISION)
        weights, lambda_hat = iterates[best]
        self.weights_ = np.pad(weights, (0, len(predictors) - weights.size))
        self.predictors_ = predictors
        self.multipliers_ = lambda_hat
        self.constraint_index_ = index
        self.best_gap_ = float(gaps[best])
        self.nu_ = float(nu)
        self.n_iter_ = len(gaps)
        self.groups_ = known
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = features.shape[1]
        return self

    def predict_proba(self, X) -> np.ndarray:
        r"""Probabilities of 0 and 1 under the randomized classifier: :math:`\sum_t Q_t h_t(x)`."""
        check_is_fitted(self, "predictors_")
        features = check_features(X)
        positive = np.zeros(len(features))
        for weight, model in zip(self.weights_, self.predictors_, strict=True):
            if weight > 0:
                positive += weight * np.asarray(model.predict(features), dtype=float)
        positive = np.clip(positive, 0.0, 1.0)  # sums of weights can exceed 1 by rounding
        return np.column_stack([1.0 - positive, positive])

    def predict(self, X, *, rng=None) -> np.ndarray:
        """Randomized labels: 1 with probability ``predict_proba(X)[:, 1]``, independently.

        ``rng`` (a Generator or seed) defaults to ``random_state``, so repeated
        calls of a seeded estimator give the same labels.
        """
        probability = self.predict_proba(X)[:, 1]
        generator = check_rng(self.random_state if rng is None else rng)
        return (generator.random(probability.size) < probability).astype(np.int64)
