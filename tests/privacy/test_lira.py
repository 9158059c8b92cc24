"""Tests of the likelihood-ratio attack (LiRA, Carlini et al. 2022).

References are independent: SciPy's normal log-density and softmax, PyTorch's
cross-entropy, scikit-learn's logistic regression and ROC. The statistical
tests use fixed seeds, so they are deterministic here; each states how likely
a *correct* implementation is to fail it for a random seed.
"""

import numpy as np
import pytest
import torch
from scipy import special, stats
from sklearn import metrics
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.attacks import (
    ShadowScores,
    gaussian_log_likelihood_ratio,
    lira_offline,
    lira_online,
    logit_confidence,
    loss_threshold_attack,
    roc_auc,
    shadow_in_masks,
    tpr_at_fpr,
    train_shadow_models,
)

# --- logit-scaled confidence -----------------------------------------------------------


def test_logit_confidence_matches_softmax_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(200, 5))
    labels = rng.integers(0, 5, size=200)
    p = special.softmax(logits, axis=1)[np.arange(200), labels]
    np.testing.assert_allclose(logit_confidence(logits, labels), np.log(p / (1 - p)), atol=1e-10)


def test_logit_confidence_matches_torch_cross_entropy():
    # phi = log p - log(1 - p) with p = exp(-CE): independent of the logsumexp route
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(100, 3))
    labels = rng.integers(0, 3, size=100)
    ce = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(labels), reduction="none"
    ).numpy()
    expected = -ce - np.log(-np.expm1(-ce))
    np.testing.assert_allclose(logit_confidence(logits, labels), expected, atol=1e-9)


def test_logit_confidence_binary_single_logit():
    z = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    for labels in ([1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, 0, 1, 0, 1]):
        y = np.array(labels)
        p = np.where(y == 1, special.expit(z), 1 - special.expit(z))
        expected = np.log(p) - np.log1p(-p)
        np.testing.assert_allclose(logit_confidence(z, y), expected, atol=1e-12)
        np.testing.assert_allclose(logit_confidence(z[:, None], y), expected, atol=1e-12)
    # two logits (softmax) agree with one logit z1 - z0 (sigmoid)
    two = np.column_stack([np.zeros(5), z])
    np.testing.assert_allclose(logit_confidence(two, [1, 0, 1, 0, 1]), [-3, 0.5, 0, -0.7, 4])


def test_logit_confidence_is_finite_where_probabilities_saturate():
    phi = logit_confidence([[800.0, 0.0, -5.0], [0.0, 900.0, 0.0]], [0, 0])
    assert np.all(np.isfinite(phi))
    assert phi[0] == pytest.approx(800.0 - np.log1p(np.exp(-5.0)), abs=1e-9)
    assert phi[1] == pytest.approx(-900.0, abs=1e-9)


@pytest.mark.parametrize(
    "logits, labels, match",
    [
        (np.zeros((3, 2)), [0, 1], "shape"),
        (np.zeros((2, 3)), [0, 3], "`labels` must be in 0..2"),
        (np.zeros(2), [0, 2], "`labels` must be in 0..1"),
        (np.zeros((2, 3)), [0.5, 1], "integer class labels"),
        ([[np.nan, 0.0]], [0], "finite"),
    ],
)
def test_logit_confidence_rejects_bad_input(logits, labels, match):
    with pytest.raises(ParameterValueError, match=match):
        logit_confidence(logits, labels)


# --- shadow training sets --------------------------------------------------------------


def test_shadow_in_masks_are_balanced_and_reproducible():
    masks = shadow_in_masks(1000, 8, rng=0)
    assert masks.dtype == bool and masks.shape == (8, 1000)
    assert np.all(masks.sum(axis=0) == 4)  # every example IN for exactly half the shadows
    np.testing.assert_array_equal(masks, shadow_in_masks(1000, 8, rng=0))
    assert not np.array_equal(masks, shadow_in_masks(1000, 8, rng=1))
    # each shadow trains on ~half of the pool: Hypergeometric-like, sd ~ 16; 6 sd margin
    assert np.all(np.abs(masks.sum(axis=1) - 500) < 100)
    assert np.all(shadow_in_masks(10, 10, keep_fraction=0.3, rng=2).sum(axis=0) == 3)


def test_shadow_in_masks_are_uniform_over_subsets():
    """Every one of the C(4, 2) = 6 IN-sets must be equally likely for an example.

    Chi-square goodness of fit over 60,000 examples; a correct sampler fails with
    probability 1e-4 (the p-value threshold).
    """
    masks = shadow_in_masks(60_000, 4, rng=3)
    codes = masks.T @ (1 << np.arange(4))
    _, counts = np.unique(codes, return_counts=True)
    assert counts.size == 6
    assert stats.chisquare(counts).pvalue > 1e-4


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_shadows": 1}, ParameterValueError, "n_shadows - 1"),
        ({"keep_fraction": 0.05}, ParameterValueError, "`keep_fraction`"),
        ({"keep_fraction": 1.0}, ParameterValueError, "`keep_fraction`"),
        ({"n_examples": 0}, ParameterValueError, "`n_examples`"),
        ({"n_shadows": 2.0}, ParameterTypeError, "`n_shadows`"),
    ],
)
def test_shadow_in_masks_validates(kwargs, error, match):
    args = {"n_examples": 10, "n_shadows": 4} | kwargs
    with pytest.raises(error, match=match):
        shadow_in_masks(**args)


def test_train_shadow_models_passes_the_in_indices_and_collects_scores():
    seen = []

    def train_fn(indices):
        seen.append(indices)
        return {"members": set(indices.tolist())}  # a "model"

    def score_fn(model):
        return [1.0 if i in model["members"] else -1.0 for i in range(6)]

    shadows = train_shadow_models(train_fn, 6, 4, score_fn=score_fn, rng=5)
    assert isinstance(shadows, ShadowScores)
    assert len(seen) == 4
    for indices, mask in zip(seen, shadows.in_mask, strict=True):
        assert indices.dtype == np.int64
        np.testing.assert_array_equal(indices, np.flatnonzero(mask))
    np.testing.assert_array_equal(shadows.scores, np.where(shadows.in_mask, 1.0, -1.0))
    np.testing.assert_array_equal(shadows.in_mask, shadow_in_masks(6, 4, rng=5))


def test_train_shadow_models_validates():
    with pytest.raises(ParameterTypeError, match="`train_fn` must be a callable"):
        train_shadow_models(None, 4, 2)
    with pytest.raises(ParameterTypeError, match="`score_fn`"):
        train_shadow_models(lambda idx: np.zeros(4), 4, 2, score_fn=3)
    with pytest.raises(ParameterValueError, match="one score per pool example"):
        train_shadow_models(lambda idx: np.zeros(idx.size), 4, 2, rng=0)
    with pytest.raises(ParameterValueError, match="finite"):
        train_shadow_models(lambda idx: np.full(4, np.inf), 4, 2, rng=0)


# --- the likelihood ratio ----------------------------------------------------------------


def test_gaussian_log_likelihood_ratio_matches_scipy_densities():
    rng = np.random.default_rng(6)
    x, m_in, m_out = rng.normal(size=(3, 500)) * 4
    s_in, s_out = rng.uniform(0.1, 3.0, size=(2, 500))
    expected = stats.norm.logpdf(x, m_in, s_in) - stats.norm.logpdf(x, m_out, s_out)
    np.testing.assert_allclose(
        gaussian_log_likelihood_ratio(x, m_in, s_in, m_out, s_out), expected, atol=1e-10
    )
    assert isinstance(gaussian_log_likelihood_ratio(0.0, 1.0, 1.0, -1.0, 2.0), float)
    # broadcasting: one pair of Gaussians, many observations
    assert gaussian_log_likelihood_ratio(x, 1.0, 1.0, 0.0, 1.0).shape == (500,)


@pytest.mark.parametrize("bad", [{"std_in": 0.0}, {"std_out": -1.0}, {"x": np.nan}])
def test_gaussian_log_likelihood_ratio_validates(bad):
    args = {"x": 0.0, "mean_in": 1.0, "std_in": 1.0, "mean_out": 0.0, "std_out": 1.0} | bad
    with pytest.raises(ParameterValueError, match=f"`{next(iter(bad))}`"):
        gaussian_log_likelihood_ratio(**args)


def _synthetic_shadows(rng, n_examples, n_shadows, sd_in, sd_out):
    """Confidences drawn from known per-example Gaussians (IN shifted up by 2 to 5)."""
    mu_out = rng.normal(0.0, 3.0, size=n_examples)  # examples differ in difficulty
    mu_in = mu_out + rng.uniform(2.0, 5.0, size=n_examples)
    mask = shadow_in_masks(n_examples, n_shadows, rng=rng)
    noise = rng.normal(size=mask.shape)
    scores = np.where(mask, mu_in + sd_in * noise, mu_out + sd_out * noise)
    return mu_in, mu_out, scores, mask


def test_lira_online_is_the_llr_of_the_fitted_gaussians():
    rng = np.random.default_rng(7)
    _, _, scores, mask = _synthetic_shadows(rng, 40, 10, 1.0, 2.0)
    target = rng.normal(size=40) * 3
    expected = []
    for i in range(40):
        ins, outs = scores[mask[:, i], i], scores[~mask[:, i], i]
        expected.append(
            stats.norm.logpdf(target[i], ins.mean(), ins.std(ddof=1))
            - stats.norm.logpdf(target[i], outs.mean(), outs.std(ddof=1))
        )
    np.testing.assert_allclose(lira_online(target, scores, mask), expected, atol=1e-10)
    # pooled variance: within-example sums of squares over (observations - examples)
    ins = [scores[mask[:, i], i] for i in range(40)]
    outs = [scores[~mask[:, i], i] for i in range(40)]
    pooled_in = np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in ins) / (5 * 40 - 40))
    pooled_out = np.sqrt(sum(((v - v.mean()) ** 2).sum() for v in outs) / (5 * 40 - 40))
    expected_fixed = [
        stats.norm.logpdf(t, a.mean(), pooled_in) - stats.norm.logpdf(t, b.mean(), pooled_out)
        for t, a, b in zip(target, ins, outs, strict=True)
    ]
    np.testing.assert_allclose(
        lira_online(target, scores, mask, fixed_variance=True), expected_fixed, atol=1e-10
    )


def test_lira_converges_to_the_analytic_likelihood_ratio():
    """With 4,000 shadows per example the fitted Gaussians are close to the true ones.

    The tolerance is 5 standard errors of the estimated log-ratio, by the delta
    method: with z = (x - mu) / sd on each side and n = 2,000 shadows per side,
    the fitted mean moves the log-ratio with standard error |z| / sqrt(n) and
    the fitted sd with |z^2 - 1| / sqrt(2n). A correct implementation fails one
    of the 50 examples with probability about 50 x 6e-7 = 3e-5.
    """
    rng = np.random.default_rng(8)
    sd_in, sd_out, n_side = 1.0, 2.0, 2000
    mu_in, mu_out, scores, mask = _synthetic_shadows(rng, 50, 2 * n_side, sd_in, sd_out)
    target = (mu_in + mu_out) / 2 + rng.uniform(-2.0, 2.0, size=50)
    analytic = stats.norm.logpdf(target, mu_in, sd_in) - stats.norm.logpdf(target, mu_out, sd_out)

    def standard_error(z):
        return np.sqrt(z**2 / n_side + (z**2 - 1) ** 2 / (2 * n_side))

    z_in, z_out = (target - mu_in) / sd_in, (target - mu_out) / sd_out
    se = np.sqrt(standard_error(z_in) ** 2 + standard_error(z_out) ** 2)
    assert np.all(np.abs(lira_online(target, scores, mask) - analytic) < 5 * se)
    # pooled variances: as precise or better (the true variances are equal across examples)
    assert np.all(
        np.abs(lira_online(target, scores, mask, fixed_variance=True) - analytic) < 5 * se
    )
    # offline: t = (x - mean) / sd moves with standard error sqrt(1/n + z^2 / (2n))
    offline = lira_offline(target, scores, mask)
    assert np.all(np.abs(offline - z_out) < 5 * np.sqrt(1 / n_side + z_out**2 / (2 * n_side)))


def test_lira_offline_ranks_like_carlini_one_sided_score():
    rng = np.random.default_rng(9)
    _, mu_out, scores, mask = _synthetic_shadows(rng, 300, 16, 1.0, 1.0)
    # moderate statistics: far in the tail Phi rounds to 1.0 and creates ties (why t is returned)
    target = mu_out + rng.uniform(-3.0, 3.0, size=300)
    labels = rng.integers(0, 2, size=300)
    t = lira_offline(target, scores, mask)
    outs = np.ma.masked_array(scores, mask)
    carlini = stats.norm.cdf(target, outs.mean(axis=0).data, outs.std(axis=0, ddof=1).data)
    np.testing.assert_allclose(stats.norm.cdf(t), carlini, atol=1e-12)
    assert roc_auc(t, labels) == pytest.approx(metrics.roc_auc_score(labels, carlini), abs=1e-12)


def test_lira_beats_a_global_threshold_on_heterogeneous_examples():
    """Neyman-Pearson on synthetic data: per-example calibration wins at low FPR.

    Each example's confidence is N(mu_out + shift, 1) if member, N(mu_out, 1)
    if not, with mu_out spread over examples (sd 3). A single threshold on the
    confidence (the loss attack) confuses easy non-members with members; the
    likelihood ratio does not. Seeds 10-15 of this construction gave TPR at 1 %
    FPR of 0.77-0.84 (online), 0.74-0.80 (offline) and 0.12-0.14 (threshold);
    with 2,000 examples of each kind their standard errors are below 0.01, so
    the required margin of 0.4 fails a correct implementation with negligible
    probability, and a ratio computed with swapped IN/OUT fits would fail it.
    """
    rng = np.random.default_rng(10)
    mu_in, mu_out, scores, mask = _synthetic_shadows(rng, 4000, 16, 1.0, 1.0)
    labels = (np.arange(4000) < 2000).astype(int)
    target = np.where(labels == 1, mu_in, mu_out) + rng.normal(size=4000)
    online = lira_online(target, scores, mask, fixed_variance=True)
    offline = lira_offline(target, scores, mask, fixed_variance=True)
    threshold = tpr_at_fpr(target, labels, 0.01)
    assert tpr_at_fpr(online, labels, 0.01) > threshold + 0.4
    assert tpr_at_fpr(offline, labels, 0.01) > threshold + 0.4
    assert roc_auc(online, labels) > roc_auc(target, labels)


@pytest.mark.parametrize("attack", [lira_online, lira_offline])
def test_lira_validates(attack):
    scores, mask = np.zeros((4, 3)), np.array([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]], bool)
    with pytest.raises(ParameterValueError, match="`target_scores` must be 1-D"):
        attack(np.zeros((3, 1)), scores, mask)
    with pytest.raises(ParameterValueError, match="`shadow_scores` must have shape"):
        attack(np.zeros(2), scores, mask)
    with pytest.raises(ParameterValueError, match="`shadow_in` must be a boolean array"):
        attack(np.zeros(3), scores, mask[:2])
    with pytest.raises(ParameterTypeError, match="`fixed_variance`"):
        attack(np.zeros(3), scores, mask, fixed_variance="yes")
    with pytest.raises(ParameterValueError, match="at least 2 OUT shadow"):
        attack(np.zeros(3), np.arange(12.0).reshape(4, 3), ~np.eye(4, 3, dtype=bool))
    one_each = np.array([[1, 0, 1], [0, 1, 0]], bool)
    with pytest.raises(ParameterValueError, match="every example has exactly 1"):
        attack(np.zeros(3), np.arange(6.0).reshape(2, 3), one_each, fixed_variance=True)
    with pytest.raises(ParameterValueError, match="zero spread"):
        attack(np.zeros(3), scores, mask)  # identical shadow scores


# --- end to end: an overfit model ----------------------------------------------------------


def _overfit_models(seed, n_models, n_pool=600, dim=400):
    """Logistic regressions trained on random halves of a noisy pool.

    With more features (400) than training examples (300) they interpolate their
    training set, and
    10 % of labels are flipped (examples that are hard when OUT but fitted when IN).
    """
    rng = np.random.default_rng(seed)
    w = rng.normal(size=dim) / np.sqrt(dim)
    X = rng.normal(size=(n_pool, dim))
    y = (X @ w + 0.5 * rng.normal(size=n_pool) > 0).astype(int)
    y = np.where(rng.random(n_pool) < 0.1, 1 - y, y)
    masks = shadow_in_masks(n_pool, n_models, rng=rng)

    def train_fn(indices):
        with threadpool_limits(limits=1):
            return LogisticRegression(C=10.0, max_iter=2000).fit(X[indices], y[indices])

    def score_fn(model):
        return logit_confidence(model.decision_function(X), y)

    scores = np.array([score_fn(train_fn(np.flatnonzero(m))) for m in masks])
    return scores, masks


def test_lira_beats_the_loss_attack_at_low_fpr_on_an_overfit_model():
    """Leave-one-out over 17 models (as Carlini et al. 2022 evaluate): each is the target once.

    Pooled over 17 targets x 600 examples (5,100 non-members), TPR at 1 % FPR of
    online LiRA with 16 shadows is about ten times that of the loss attack (seeds
    0-9 of this construction gave LiRA 0.128-0.165 vs loss 0.011-0.014, offline
    LiRA 0.046-0.065). The test needs LiRA > loss + 0.06 and offline > loss, so a
    correct implementation fails it only if LiRA loses over half its advantage.
    """
    scores, masks = _overfit_models(seed=11, n_models=17)
    lira, offline, loss, labels = [], [], [], []
    for t in range(len(masks)):
        others = np.arange(len(masks)) != t
        online_t = lira_online(scores[t], scores[others], masks[others], fixed_variance=True)
        offline_t = lira_offline(scores[t], scores[others], masks[others], fixed_variance=True)
        # the loss attack scores -loss = log p_y = -log(1 + e^-phi)
        member_loss = np.logaddexp(0.0, -scores[t][masks[t]])
        nonmember_loss = np.logaddexp(0.0, -scores[t][~masks[t]])
        attack = loss_threshold_attack(member_loss, nonmember_loss)
        loss.append(attack.scores)
        labels.append(attack.labels)
        # members first, as in the loss attack's output
        lira.append(np.r_[online_t[masks[t]], online_t[~masks[t]]])
        offline.append(np.r_[offline_t[masks[t]], offline_t[~masks[t]]])
    lira, offline, loss, labels = map(np.concatenate, (lira, offline, loss, labels))
    tpr_lira, tpr_loss = tpr_at_fpr(lira, labels, 0.01), tpr_at_fpr(loss, labels, 0.01)
    assert tpr_lira > tpr_loss + 0.06, (tpr_lira, tpr_loss)
    assert tpr_at_fpr(offline, labels, 0.01) > tpr_loss
    assert roc_auc(lira, labels) > roc_auc(loss, labels) > 0.6
