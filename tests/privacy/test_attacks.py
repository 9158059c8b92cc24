"""Tests of membership inference, ROC utilities and the ε lower bound of an audit.

Reference values come from independent code: scikit-learn's ``roc_curve`` /
``roc_auc_score`` and SciPy's exact binomial confidence intervals. The
statistical tests use fixed seeds, so they are deterministic here; each quotes
the probability that a *correct* implementation fails it for a random seed.
"""

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

import respai.privacy.attacks as attacks
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.attacks import (
    best_membership_advantage,
    clopper_pearson_lower,
    clopper_pearson_upper,
    epsilon_lower_bound,
    loss_threshold_attack,
    membership_advantage,
    roc_auc,
    roc_curve,
    tpr_at_fpr,
)
from respai.privacy.mechanisms import randomized_response, randomized_response_probability


def test_every_public_name_imports():
    for name in attacks.__all__:
        assert getattr(attacks, name) is not None


# --- ROC ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("decimals", [1, 8])  # 1 decimal: many ties; 8: almost none
def test_roc_curve_matches_sklearn(seed, decimals):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=500)
    scores = np.round(rng.normal(size=500) + 0.7 * labels, decimals)
    fpr, tpr, thr = roc_curve(scores, labels)
    ref_fpr, ref_tpr, ref_thr = metrics.roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr, rtol=0, atol=1e-15)
    np.testing.assert_allclose(tpr, ref_tpr, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(thr[1:], ref_thr[1:])
    assert thr[0] == np.inf
    assert roc_auc(scores, labels) == pytest.approx(
        metrics.roc_auc_score(labels, scores), abs=1e-12
    )


def test_tpr_at_fpr_is_the_best_admissible_point_by_brute_force():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, size=300)
    scores = np.round(rng.normal(size=300) + labels, 1)
    pos, neg = scores[labels == 1], scores[labels == 0]
    for target in [0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0]:
        best = 0.0
        for tau in np.r_[np.inf, np.unique(scores)]:
            if np.mean(neg >= tau) <= target:
                best = max(best, float(np.mean(pos >= tau)))
        assert tpr_at_fpr(scores, labels, target) == pytest.approx(best, abs=1e-15)
    many = tpr_at_fpr(scores, labels, [0.01, 0.1])
    assert many.shape == (2,) and np.all(np.diff(many) >= 0)


def test_perfect_and_useless_attacks():
    labels = np.r_[np.ones(50), np.zeros(50)]
    assert tpr_at_fpr(np.r_[np.ones(50), np.zeros(50)], labels, 0.0) == 1.0
    assert roc_auc(np.zeros(100), labels) == 0.5
    assert tpr_at_fpr(np.zeros(100), labels, 0.5) == 0.0


@pytest.mark.parametrize(
    "scores, labels, match",
    [
        ([0.1, 0.2], [1, 0, 1], "same length"),
        ([0.1, 0.2], [1, 1], "both members"),
        ([0.1, np.nan], [1, 0], "finite"),
        ([0.1, 0.2], [1, 2], "0/1"),
    ],
)
def test_roc_rejects_bad_input(scores, labels, match):
    with pytest.raises(ParameterValueError, match=match):
        roc_curve(scores, labels)


def test_tpr_at_fpr_rejects_rates_outside_unit_interval():
    with pytest.raises(ParameterValueError, match="`fpr` must be a probability"):
        tpr_at_fpr([0.1, 0.2], [1, 0], 1.5)


# --- loss-threshold membership inference --------------------------------------


def test_loss_threshold_attack_detects_overfitting():
    rng = np.random.default_rng(4)
    members = rng.exponential(0.3, size=2000)  # training losses are smaller
    nonmembers = rng.exponential(1.0, size=2000)
    scores, labels = loss_threshold_attack(members, nonmembers)
    assert labels.tolist() == [1] * 2000 + [0] * 2000
    np.testing.assert_array_equal(scores, -np.r_[members, nonmembers])
    # exact AUC of Exp(0.3) vs Exp(1): P[L_member < L_nonmember] = 1 / (1 + 0.3)
    assert roc_auc(scores, labels) == pytest.approx(1 / 1.3, abs=0.02)
    # Yeom et al.'s rule: member iff loss <= mean training loss
    predictions = np.r_[members, nonmembers] <= members.mean()
    adv = membership_advantage(predictions, labels)
    expected = np.mean(members <= members.mean()) - np.mean(nonmembers <= members.mean())
    assert adv == pytest.approx(expected)
    assert 0 < adv <= best_membership_advantage(scores, labels) <= 1


def test_same_distribution_gives_no_advantage():
    rng = np.random.default_rng(5)
    scores, labels = loss_threshold_attack(rng.normal(size=5000), rng.normal(size=5000))
    assert roc_auc(scores, labels) == pytest.approx(0.5, abs=0.03)


def test_loss_threshold_attack_rejects_bad_losses():
    with pytest.raises(ParameterValueError, match="`member_losses` must hold at least one"):
        loss_threshold_attack([], [1.0])
    with pytest.raises(ParameterValueError, match="`nonmember_losses` must be finite"):
        loss_threshold_attack([1.0], [np.inf])


# --- Clopper-Pearson ------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 7, 100, 2500])
@pytest.mark.parametrize("alpha", [0.05, 0.001])
def test_clopper_pearson_matches_scipy_exact_interval(n, alpha):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        two_sided = stats.binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="exact")
        assert clopper_pearson_lower(k, n, alpha / 2) == pytest.approx(two_sided.low, abs=1e-12)
        assert clopper_pearson_upper(k, n, alpha / 2) == pytest.approx(two_sided.high, abs=1e-12)
        greater = stats.binomtest(k, n, alternative="greater").proportion_ci(1 - alpha, "exact")
        less = stats.binomtest(k, n, alternative="less").proportion_ci(1 - alpha, "exact")
        assert clopper_pearson_lower(k, n, alpha) == pytest.approx(greater.low, abs=1e-12)
        assert clopper_pearson_upper(k, n, alpha) == pytest.approx(less.high, abs=1e-12)


def test_rule_of_three():
    assert clopper_pearson_upper(0, 1000, 0.05) == pytest.approx(1 - 0.05 ** (1 / 1000))


# --- epsilon lower bound (Jagielski et al. 2020) -----------------------------------


@pytest.mark.parametrize(
    "tp, fp, p, n, alpha, delta",
    [
        (930, 40, 1000, 1200, 0.05, 1e-3),  # "member" ordering binds: ln(TPR / FPR)
        (999, 500, 1000, 1000, 0.05, 0.0),  # "non-member" ordering binds: ln(TNR / FNR)
        (60, 2, 60, 80, 0.01, 1e-5),
        (300, 1, 400, 400, 0.1, 0.0),
    ],
)
def test_epsilon_lower_bound_formula_from_scipy_intervals(tp, fp, p, n, alpha, delta):
    # Two-sided exact intervals at confidence 1 - alpha: alpha / 2 in each tail, the
    # convention of Jagielski et al.'s code (clopper_pearson(count, trials, conf)).
    lo = stats.binomtest(tp, p).proportion_ci(1 - alpha, "exact").low
    hi = stats.binomtest(fp, n).proportion_ci(1 - alpha, "exact").high
    both = [math.log((lo - delta) / hi), math.log((1 - hi - delta) / (1 - lo))]
    got = epsilon_lower_bound(tp, fp, p, n, alpha=alpha, delta=delta)
    assert got == pytest.approx(max(both), rel=1e-10)


def test_the_larger_ordering_is_used():
    high_rates = epsilon_lower_bound(999, 500, 1000, 1000)  # TPR ~ 1, FPR ~ 1/2
    low_rates = epsilon_lower_bound(500, 1, 1000, 1000)  # mirror image: FNR ~ 1/2, TNR ~ 1
    assert high_rates == pytest.approx(low_rates, rel=1e-12)  # the two orderings are mirrors
    lo = clopper_pearson_lower(999, 1000, 0.025)
    hi = clopper_pearson_upper(500, 1000, 0.025)
    assert math.log(lo / hi) < 1.0 < high_rates == pytest.approx(math.log((1 - hi) / (1 - lo)))


def test_no_evidence_gives_zero():
    assert epsilon_lower_bound(50, 50, 100, 100) == 0.0
    assert epsilon_lower_bound(10, 90, 100, 100) == 0.0
    assert epsilon_lower_bound(0, 0, 100, 100) == 0.0
    assert epsilon_lower_bound(100, 0, 100, 100, delta=0.99) == 0.0


def test_epsilon_lower_bound_is_monotone():
    tps = [epsilon_lower_bound(tp, 100, 1000, 1000) for tp in range(100, 1001, 50)]
    assert np.all(np.diff(tps) >= 0) and tps[-1] > tps[0]
    fps = [epsilon_lower_bound(900, fp, 1000, 1000) for fp in range(0, 901, 50)]
    assert np.all(np.diff(fps) <= 0) and fps[0] > fps[-1]
    alphas = [epsilon_lower_bound(900, 100, 1000, 1000, alpha=a) for a in [1e-4, 1e-2, 0.05, 0.5]]
    assert np.all(np.diff(alphas) > 0)  # less confidence, larger bound
    deltas = [epsilon_lower_bound(900, 100, 1000, 1000, delta=d) for d in [0, 1e-5, 1e-2, 0.1]]
    assert np.all(np.diff(deltas) < 0)
    # same observed rates, more trials: tighter intervals, larger bound, never above the plug-in
    trials = [epsilon_lower_bound(9 * m, m, 10 * m, 10 * m) for m in [10, 100, 1000, 10000]]
    assert np.all(np.diff(trials) > 0) and trials[-1] < math.log(9)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"tp": 11}, ParameterValueError, "`tp` must be <= `positives`"),
        ({"fp": -1}, ParameterValueError, "`fp` must be a non-negative integer"),
        ({"tp": 5.0}, ParameterTypeError, "`tp` must be a non-negative integer"),
        ({"tp": True}, ParameterTypeError, "`tp`"),
        ({"positives": 0, "tp": 0}, ParameterValueError, "`positives` must be a positive"),
        ({"alpha": 0.0}, ParameterValueError, "`alpha` must be a probability in \\(0, 1\\)"),
        ({"alpha": 1.0}, ParameterValueError, "`alpha`"),
        ({"delta": 1.0}, ParameterValueError, "`delta` must be in \\[0, 1\\)"),
        ({"delta": -0.1}, ParameterValueError, "`delta`"),
    ],
)
def test_epsilon_lower_bound_validates(kwargs, error, match):
    args = {"tp": 8, "fp": 2, "positives": 10, "negatives": 10} | kwargs
    with pytest.raises(error, match=match):
        epsilon_lower_bound(**args)


def test_randomized_response_audit_is_valid():
    """Audit ε-DP randomized response (attack: "member" iff the report is 1).

    TPR = p and FPR = 1 - p with p = e^ε / (1 + e^ε), so the likelihood-ratio
    bound is exactly ε. The estimator must stay below ε in at least 1 - α = 95 %
    of repeated audits. With 2,000 audits the number of violations is
    Binomial(2000, r) with r <= 0.05; the test allows up to the 0.999 quantile
    of Binomial(2000, 0.05), so its false-failure rate is at most 1e-3.
    """
    eps, trials, audits, alpha = math.log(3), 200, 2000, 0.05
    p = randomized_response_probability(eps)
    rng = np.random.default_rng(6)
    tps = rng.binomial(trials, p, size=audits)
    fps = rng.binomial(trials, 1 - p, size=audits)
    bounds = np.array(
        [
            epsilon_lower_bound(int(a), int(b), trials, trials, alpha=alpha)
            for a, b in zip(tps, fps, strict=True)
        ]
    )
    violations = int(np.sum(bounds > eps))
    assert violations <= stats.binom.ppf(0.999, audits, alpha)
    assert np.all(bounds >= 0)


def test_asymmetric_mechanism_audit_is_valid():
    """Audit a binary mechanism whose privacy loss sits on the "non-member" side.

    With the canary it outputs 1 with probability 0.99, without it 0.5: its ε
    is max(ln(0.99/0.5), ln(0.5/0.01)) = ln 50, reached only by the complement
    ordering. The bound (max of both orderings, no extra α split) must stay
    below ln 50 in at least 95 % of audits: as above, the test allows the 0.999
    quantile of Binomial(2000, 0.05) violations (false-failure rate <= 1e-3), and
    checks that the complement ordering is what makes the bound large.
    """
    true_eps, trials, audits, alpha = math.log(50), 500, 2000, 0.05
    rng = np.random.default_rng(9)
    tps = rng.binomial(trials, 0.99, size=audits)
    fps = rng.binomial(trials, 0.5, size=audits)
    bounds = np.array(
        [
            epsilon_lower_bound(int(a), int(b), trials, trials, alpha=alpha)
            for a, b in zip(tps, fps, strict=True)
        ]
    )
    assert np.sum(bounds > true_eps) <= stats.binom.ppf(0.999, audits, alpha)
    # ln(0.99 / 0.5) = 0.68 is all the "member" ordering can show; the median bound is far above
    assert np.median(bounds) > 2.5


def test_randomized_response_audit_is_tight_with_many_trials():
    """With 200,000 runs of the real mechanism per side the bound is within 5 % of ε.

    Each Clopper-Pearson half-width is about 2.24 * sqrt(p(1-p)/n) = 0.0022, which
    moves ln(TPR/FPR) by about 0.0022/0.75 + 0.0022/0.25 = 0.012 below ε = 1.099
    (1.1 %), so the 5 % margin fails only with a vanishing probability.
    """
    eps, trials = math.log(3), 200_000
    with_canary = randomized_response(np.ones(trials, dtype=int), eps, rng=7)
    without = randomized_response(np.zeros(trials, dtype=int), eps, rng=8)
    bound = epsilon_lower_bound(int(with_canary.sum()), int(without.sum()), trials, trials)
    assert 0.95 * eps <= bound <= eps
