r"""The likelihood-ratio attack (LiRA) of Carlini et al. (2022), online and offline.

Carlini, Chien, Nasr, Song, Terzis & Tramèr (2022), "Membership Inference
Attacks From First Principles", IEEE S&P. A loss threshold treats
every example alike, but some examples are hard (high loss even when trained
on) and some easy (low loss even when not): the same loss means different
things for each. LiRA calibrates per example. It trains *shadow models* on
random halves of a data pool, so that each example is IN (trained on) for
some shadows and OUT for the others, and fits two Gaussians to the example's
*logit-scaled confidence*

.. math::

    \phi(x, y) = \ln\frac{p}{1 - p}, \qquad p = f_\theta(x)_y,

one over the IN shadows and one over the OUT shadows (the logit scaling
makes these distributions close to Gaussian, Carlini et al. argue). Membership of
the example in the target model's training set is then scored by the
likelihood ratio of the target model's confidence (online attack,
Algorithm 1) or by how far it lies above the OUT distribution (offline
attack).

Functions
---------
- :func:`logit_confidence`: :math:`\phi` from a model's logits, computed stably.
- :func:`shadow_in_masks` and :func:`train_shadow_models`: which example each
  shadow trains on, and the shadows' confidences, for any ``train_fn``.
- :func:`gaussian_log_likelihood_ratio`: the score for given Gaussian parameters.
- :func:`lira_online` and :func:`lira_offline`: the two attacks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from scipy.special import logsumexp

from respai._validation import check_finite_array, check_positive_int, check_probability, check_rng
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "ShadowScores",
    "logit_confidence",
    "shadow_in_masks",
    "train_shadow_models",
    "gaussian_log_likelihood_ratio",
    "lira_online",
    "lira_offline",
]


class ShadowScores(NamedTuple):
    """Confidences of shadow models on a pool of examples, and which examples each trained on.

    Attributes
    ----------
    scores : numpy.ndarray of float, shape (n_shadows, n_examples)
        ``scores[s, i]``: shadow ``s``'s logit-scaled confidence on example ``i``.
    in_mask : numpy.ndarray of bool, shape (n_shadows, n_examples)
        ``in_mask[s, i]`` is True when example ``i`` was in shadow ``s``'s training set.
    """

    scores: np.ndarray
    in_mask: np.ndarray


# --------------------------------------------------------------------------- scores


def logit_confidence(logits: object, labels: object) -> np.ndarray:
    r"""Logit-scaled confidence :math:`\phi = \ln\frac{p_y}{1 - p_y}` of each example's true label.

    With logits :math:`z` and softmax probabilities :math:`p`,

    .. math::

        \phi = \ln p_y - \ln \sum_{k \ne y} p_k
             = z_y - \ln \sum_{k \ne y} e^{z_k},

    computed from the logits so that it stays finite when :math:`p_y` rounds
    to 1 (Carlini et al. 2022, "logit scaling"; their released code uses
    the same stable form). For a single logit per example (binary
    classification with a sigmoid), :math:`p_1 = \sigma(z)` and
    :math:`\phi = z` if :math:`y = 1`, :math:`-z` if :math:`y = 0`.

    Parameters
    ----------
    logits : array_like of float, shape (n,), (n, 1) or (n, k) with k >= 2
        The model's outputs before the sigmoid/softmax (convert a torch tensor
        with ``.detach().cpu().numpy()``).
    labels : array_like of int, shape (n,)
        True class of each example: 0/1 for a single logit, ``0..k-1`` otherwise.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        In nats; positive when the model gives the true label probability > 1/2.

    Raises
    ------
    ParameterValueError
        If the shapes disagree, a logit is not finite or a label is out of range.

    Examples
    --------
    >>> logit_confidence([[2.0], [2.0]], [1, 0]).tolist()
    [2.0, -2.0]
    >>> round(float(logit_confidence([[0.0, 0.0, 0.0]], [2])[0]), 4)  # p = 1/3: ln(1/2)
    -0.6931
    """
    z = check_finite_array("logits", logits)
    y = np.asarray(labels)
    if y.dtype == bool:
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu" and not (
        y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y))
    ):
        raise ParameterValueError(f"`labels` must be integer class labels; got {labels!r}.")
    y = y.astype(np.int64).ravel()
    if z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    if z.ndim not in (1, 2) or z.shape[0] != y.size:
        raise ParameterValueError(
            f"`logits` must have shape (n,), (n, 1) or (n, k) with n = len(labels) = {y.size}; "
            f"got shape {z.shape}."
        )
    n_classes = 2 if z.ndim == 1 else z.shape[1]
    if np.any((y < 0) | (y >= n_classes)):
        raise ParameterValueError(
            f"`labels` must be in 0..{n_classes - 1} for these logits; got values "
            f"from {y.min()} to {y.max()}."
        )
    if z.ndim == 1:
        return np.where(y == 1, z, -z)
    rows = np.arange(y.size)
    others = z.copy()
    others[rows, y] = -np.inf
    return z[rows, y] - logsumexp(others, axis=1)


# --------------------------------------------------------------------------- shadow models


def shadow_in_masks(
    n_examples: int,
    n_shadows: int,
    *,
    keep_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Random training sets for shadow models, balanced per example.

    Every example is IN for exactly :math:`\operatorname{round}(\rho S)` of the
    :math:`S` shadows (:math:`\rho` = ``keep_fraction``), chosen uniformly at
    random and independently across examples, so each shadow trains on about
    :math:`\rho n` examples. This is the sampling of Carlini et al.'s code
    (rank of a uniform draw along the shadow axis); compared with independent
    coins it guarantees IN and OUT shadows for every example even when
    :math:`S` is small.

    Parameters
    ----------
    n_examples : int
        Size :math:`n` of the data pool.
    n_shadows : int
        Number of shadow models :math:`S \ge 2`.
    keep_fraction : float, default 0.5
        :math:`\rho \in (0, 1)`; :math:`\operatorname{round}(\rho S)` must be
        between 1 and :math:`S - 1`.
    rng : numpy.random.Generator or int, optional
        Source of randomness.

    Returns
    -------
    numpy.ndarray of bool, shape (n_shadows, n_examples)

    Examples
    --------
    >>> masks = shadow_in_masks(5, 4, rng=0)
    >>> masks.shape, masks.sum(axis=0).tolist()
    ((4, 5), [2, 2, 2, 2, 2])
    """
    n = check_positive_int("n_examples", n_examples)
    s = check_positive_int("n_shadows", n_shadows)
    rho = check_probability("keep_fraction", keep_fraction, closed=False)
    n_in = int(round(rho * s))
    if not 1 <= n_in <= s - 1:
        raise ParameterValueError(
            f"`keep_fraction` * `n_shadows` must round to between 1 and n_shadows - 1 = {s - 1}; "
            f"got {rho!r} * {s} -> {n_in}. Every example needs IN and OUT shadows: use "
            "n_shadows >= 2 and keep_fraction = 0.5."
        )
    draws = check_rng(rng).random((s, n))
    ranks = draws.argsort(axis=0).argsort(axis=0)
    return ranks < n_in


def train_shadow_models(
    train_fn: Callable[[np.ndarray], Any],
    n_examples: int,
    n_shadows: int,
    *,
    score_fn: Callable[[Any], object] | None = None,
    keep_fraction: float = 0.5,
    rng: np.random.Generator | int | None = None,
) -> ShadowScores:
    r"""Train shadow models on random halves of a pool; return their confidences on the whole pool.

    For each shadow :math:`s`, the indices :math:`\{i : \text{in\_mask}[s, i]\}`
    (from :func:`shadow_in_masks`) are passed to ``train_fn``. Model-agnostic:
    ``train_fn`` trains whatever the target is (a torch network, a scikit-learn
    estimator, a closed form) *the same way the target was trained* (Carlini et
    al. 2022), and returns either the scores directly or a model
    that ``score_fn`` turns into scores.

    Parameters
    ----------
    train_fn : callable
        ``train_fn(indices) -> model or scores``; ``indices`` is a sorted
        ``int64`` array of pool positions to train on. Draw any training
        randomness from a generator you own (not the global state).
    n_examples : int
        Size :math:`n` of the pool.
    n_shadows : int
        Number of shadow models :math:`S \ge 2`. Carlini et al. use up to 256; a
        handful already helps with ``fixed_variance=True``.
    score_fn : callable, optional
        ``score_fn(model) -> scores`` of shape ``(n_examples,)``, typically
        :func:`logit_confidence` of the model's logits on the pool. Without it,
        ``train_fn`` must return those scores itself.
    keep_fraction : float, default 0.5
        Fraction of shadows that train on each example.
    rng : numpy.random.Generator or int, optional
        Source of the random training sets.

    Returns
    -------
    ShadowScores
        ``scores`` and ``in_mask``, both of shape ``(n_shadows, n_examples)``.

    Raises
    ------
    ParameterTypeError
        If ``train_fn`` or ``score_fn`` is not callable.
    ParameterValueError
        If the scores have the wrong shape or are not finite.

    Examples
    --------
    A "model" whose confidence is 1 on its training examples and 0 elsewhere:

    >>> def train_fn(indices):
    ...     scores = np.zeros(4)
    ...     scores[indices] = 1.0
    ...     return scores
    >>> shadows = train_shadow_models(train_fn, 4, 2, rng=0)
    >>> bool(np.array_equal(shadows.scores, shadows.in_mask))
    True
    """
    if not callable(train_fn):
        raise ParameterTypeError(
            f"`train_fn` must be a callable train_fn(indices) -> model or scores; got {train_fn!r}."
        )
    if score_fn is not None and not callable(score_fn):
        raise ParameterTypeError(
            f"`score_fn` must be None or a callable score_fn(model) -> scores; got {score_fn!r}."
        )
    masks = shadow_in_masks(n_examples, n_shadows, keep_fraction=keep_fraction, rng=rng)
    scores = np.empty(masks.shape, dtype=float)
    for s, mask in enumerate(masks):
        out = train_fn(np.flatnonzero(mask))
        if score_fn is not None:
            out = score_fn(out)
        row = check_finite_array("scores", out).ravel()
        if row.size != masks.shape[1]:
            raise ParameterValueError(
                f"`scores` of shadow {s} must hold one score per pool example ({masks.shape[1]}); "
                f"got {row.size}. Score the whole pool, not only the training indices."
            )
        scores[s] = row
    return ShadowScores(scores, masks)


# --------------------------------------------------------------------------- the attack


def gaussian_log_likelihood_ratio(
    x: object, mean_in: object, std_in: object, mean_out: object, std_out: object
) -> np.ndarray | float:
    r"""Log-likelihood ratio of ``x`` under two Gaussians: the online LiRA score.

    .. math::

        \Lambda(x) = \ln \frac{\mathcal N(x;\ \mu_{\text{in}}, \sigma_{\text{in}}^2)}
                               {\mathcal N(x;\ \mu_{\text{out}}, \sigma_{\text{out}}^2)}
        = \ln\frac{\sigma_{\text{out}}}{\sigma_{\text{in}}}
          - \frac{(x - \mu_{\text{in}})^2}{2\sigma_{\text{in}}^2}
          + \frac{(x - \mu_{\text{out}})^2}{2\sigma_{\text{out}}^2}

    (Carlini et al. 2022, Algorithm 1, line 14, in log form). By the
    Neyman–Pearson lemma, thresholding :math:`\Lambda` is the most powerful
    test between the two Gaussians at every false-positive rate.

    Parameters
    ----------
    x, mean_in, mean_out : array_like of float
        Observed confidences and the Gaussians' means (broadcast together).
    std_in, std_out : array_like of float
        Standard deviations, all > 0.

    Returns
    -------
    float or numpy.ndarray
        In nats; > 0 when ``x`` is more likely under the IN Gaussian. A float
        when every input is a scalar.

    Examples
    --------
    >>> gaussian_log_likelihood_ratio(1.0, 1.0, 1.0, 0.0, 1.0)
    0.5
    """
    xs = check_finite_array("x", x)
    m_in = check_finite_array("mean_in", mean_in)
    m_out = check_finite_array("mean_out", mean_out)
    s_in = _check_std("std_in", std_in)
    s_out = _check_std("std_out", std_out)
    try:
        out = (
            np.log(s_out / s_in)
            - (xs - m_in) ** 2 / (2.0 * s_in**2)
            + (xs - m_out) ** 2 / (2.0 * s_out**2)
        )
    except ValueError as err:
        raise ParameterValueError(
            "`x`, `mean_in`, `std_in`, `mean_out` and `std_out` must broadcast to one shape; "
            f"got shapes {xs.shape}, {m_in.shape}, {s_in.shape}, {m_out.shape}, {s_out.shape}."
        ) from err
    return float(out) if out.ndim == 0 else out


def _check_std(name: str, value: object) -> np.ndarray:
    arr = check_finite_array(name, value)
    if np.any(arr <= 0):
        raise ParameterValueError(
            f"`{name}` must be > 0 everywhere; got a minimum of {arr.min()!r}. A zero spread "
            "means identical shadow scores: use more shadows or fixed_variance=True."
        )
    return arr


def _check_attack_inputs(
    target_scores: object, shadow_scores: object, shadow_in: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    target = check_finite_array("target_scores", target_scores)
    shadows = check_finite_array("shadow_scores", shadow_scores)
    mask = np.asarray(shadow_in)
    if target.ndim != 1:
        raise ParameterValueError(
            f"`target_scores` must be 1-D, one score per example; got shape {target.shape}."
        )
    if shadows.ndim != 2 or shadows.shape[1] != target.size:
        raise ParameterValueError(
            "`shadow_scores` must have shape (n_shadows, n_examples) with n_examples = "
            f"len(target_scores) = {target.size}; got shape {shadows.shape}."
        )
    if mask.shape != shadows.shape or not (
        mask.dtype == bool or (mask.dtype.kind in "iuf" and np.all(np.isin(mask, (0, 1))))
    ):
        raise ParameterValueError(
            f"`shadow_in` must be a boolean array of the shape of `shadow_scores` {shadows.shape}; "
            f"got shape {mask.shape} and dtype {mask.dtype}."
        )
    return target, shadows, mask.astype(bool)


def _fit(
    shadows: np.ndarray, mask: np.ndarray, side: str, fixed_variance: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-example mean and standard deviation of ``shadows`` where ``mask`` holds."""
    counts = mask.sum(axis=0)
    need = 1 if fixed_variance else 2
    if counts.min() < need:
        worst = int(np.argmin(counts))
        raise ParameterValueError(
            f"`shadow_in` must give every example at least {need} {side} shadow(s)"
            f"{'' if fixed_variance else ' to estimate its variance'}; example {worst} has "
            f"{int(counts[worst])}. Train more shadows (shadow_in_masks balances them)"
            f"{'' if fixed_variance else ' or pass fixed_variance=True'}."
        )
    means = np.where(mask, shadows, 0.0).sum(axis=0) / counts
    squares = np.where(mask, (shadows - means) ** 2, 0.0)
    if fixed_variance:
        # One pooled within-example variance: sum of squares over (observations - fitted means).
        dof = int(counts.sum()) - counts.size
        if dof < 1:
            raise ParameterValueError(
                f"`shadow_in` must give some example at least 2 {side} shadows to estimate a "
                "variance; every example has exactly 1. Train more shadows."
            )
        stds = np.full(counts.size, np.sqrt(squares.sum() / dof))
    else:
        stds = np.sqrt(squares.sum(axis=0) / (counts - 1))
    return means, stds


def lira_online(
    target_scores: object,
    shadow_scores: object,
    shadow_in: object,
    *,
    fixed_variance: bool = False,
) -> np.ndarray:
    r"""Online LiRA: per-example log-likelihood ratio of IN vs OUT Gaussians.

    For example :math:`i`, with :math:`\phi_{s,i}` the shadows' confidences,

    .. math::

        \hat\mu_{\text{in},i} = \operatorname{mean}\{\phi_{s,i} : i \in D_s\},\qquad
        \hat\sigma^2_{\text{in},i} = \frac{1}{n_{\text{in},i} - 1}
            \sum_{s : i \in D_s} (\phi_{s,i} - \hat\mu_{\text{in},i})^2

    (likewise OUT), and the score is
    :func:`gaussian_log_likelihood_ratio` of the target's confidence
    :math:`\phi_i` (Carlini et al. 2022, Algorithm 1). With
    ``fixed_variance=True`` the IN (and the OUT) variance is pooled over all
    examples,
    :math:`\hat\sigma^2_{\text{in}} = \sum_i\sum_{s: i\in D_s}(\phi_{s,i}-\hat\mu_{\text{in},i})^2
    / \sum_i (n_{\text{in},i} - 1)`, which Carlini et al. recommend with few
    shadows (up to a few dozen). Means are sample means (their
    code uses medians).

    Parameters
    ----------
    target_scores : array_like of float, shape (n,)
        Target model's :func:`logit_confidence` on the examples.
    shadow_scores : array_like of float, shape (n_shadows, n)
        The shadows' confidences on the same examples (:class:`ShadowScores`).
    shadow_in : array_like of bool, shape (n_shadows, n)
        Which examples each shadow trained on.
    fixed_variance : bool, default False
        Pool the variances across examples.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Higher means "more likely a member"; pass to
        :func:`~respai.privacy.attacks.roc_curve`.

    Raises
    ------
    ParameterValueError
        On shape mismatches, non-finite scores, an example without enough IN
        or OUT shadows (2 each, or 1 with ``fixed_variance``), or a zero spread.

    Examples
    --------
    >>> shadow = np.array([[3.0], [5.0], [-1.0], [1.0]])
    >>> shadow_in = np.array([[True], [True], [False], [False]])
    >>> lira_online([4.0], shadow, shadow_in).round(3).tolist()  # N(4, 2) vs N(0, 2)
    [4.0]
    """
    target, shadows, mask = _check_attack_inputs(target_scores, shadow_scores, shadow_in)
    fixed = _check_flag(fixed_variance)
    mean_in, std_in = _fit(shadows, mask, "IN", fixed)
    mean_out, std_out = _fit(shadows, ~mask, "OUT", fixed)
    return np.asarray(gaussian_log_likelihood_ratio(target, mean_in, std_in, mean_out, std_out))


def lira_offline(
    target_scores: object,
    shadow_scores: object,
    shadow_in: object,
    *,
    fixed_variance: bool = False,
) -> np.ndarray:
    r"""Offline LiRA: how many OUT standard deviations the target's confidence lies above OUT.

    Only OUT shadows are used (they can be trained before the examples to
    attack are known). Carlini et al. (2022) score
    :math:`\Lambda = \Pr[Z < \phi_i] = \Phi(t_i)` with
    :math:`Z \sim \mathcal N(\hat\mu_{\text{out},i}, \hat\sigma^2_{\text{out},i})`; this
    function returns the one-sided test statistic

    .. math::

        t_i = \frac{\phi_i - \hat\mu_{\text{out},i}}{\hat\sigma_{\text{out},i}},

    which :math:`\Phi` maps monotonically onto their score, so both rank the
    examples, and give the ROC curve, identically; :math:`t` does not round to 1
    in floating point when the attack is very confident. The fits and
    ``fixed_variance`` are as in :func:`lira_online`.

    Parameters, Returns and Raises are those of :func:`lira_online` (the IN
    shadows are ignored, but ``shadow_in`` says which ones they are).

    Examples
    --------
    >>> shadow = np.array([[3.0], [5.0], [-1.0], [1.0]])
    >>> shadow_in = np.array([[True], [True], [False], [False]])
    >>> lira_offline([4.0], shadow, shadow_in).round(3).tolist()  # (4 - 0) / sqrt(2)
    [2.828]
    """
    target, shadows, mask = _check_attack_inputs(target_scores, shadow_scores, shadow_in)
    fixed = _check_flag(fixed_variance)
    mean_out, std_out = _fit(shadows, ~mask, "OUT", fixed)
    _check_std("std_out", std_out)
    return (target - mean_out) / std_out


def _check_flag(value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ParameterTypeError(f"`fixed_variance` must be True or False; got {value!r}.")
    return bool(value)
