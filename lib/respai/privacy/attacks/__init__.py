"""Privacy attacks and auditing: membership inference, ROC at low FPR, ε lower bounds.

- :mod:`~respai.privacy.attacks.membership`: loss-threshold attack (Yeom et al. 2018)
  and membership advantage.
- :mod:`~respai.privacy.attacks.lira`: the likelihood-ratio attack (LiRA) with
  shadow models, online and offline (Carlini et al. 2022).
- :mod:`~respai.privacy.attacks.roc`: ROC curve, AUC and TPR at a fixed FPR
  (Carlini et al. 2022).
- :mod:`~respai.privacy.attacks.auditing`: Clopper–Pearson bounds and the empirical
  ε lower bound of Jagielski, Ullman & Oprea (2020).
"""

from respai.privacy.attacks.auditing import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    epsilon_lower_bound,
)
from respai.privacy.attacks.lira import (
    ShadowScores,
    gaussian_log_likelihood_ratio,
    lira_offline,
    lira_online,
    logit_confidence,
    shadow_in_masks,
    train_shadow_models,
)
from respai.privacy.attacks.membership import (
    AttackScores,
    best_membership_advantage,
    loss_threshold_attack,
    membership_advantage,
)
from respai.privacy.attacks.roc import roc_auc, roc_curve, tpr_at_fpr

__all__ = [
    "AttackScores",
    "loss_threshold_attack",
    "membership_advantage",
    "best_membership_advantage",
    "ShadowScores",
    "logit_confidence",
    "shadow_in_masks",
    "train_shadow_models",
    "gaussian_log_likelihood_ratio",
    "lira_online",
    "lira_offline",
    "roc_curve",
    "roc_auc",
    "tpr_at_fpr",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "epsilon_lower_bound",
]
