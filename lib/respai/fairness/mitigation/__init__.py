"""Fairness mitigation: before, during and after training.

* pre-processing: :func:`reweighing_weights` (Kamiran & Calders 2012);
* in-processing: :class:`FairLagrangianClassifier` (gradient descent–ascent on
  a Lagrangian, Cotter et al. 2019) and :class:`ExponentiatedGradient` (the
  reductions approach, Agarwal et al. 2018);
* post-processing: :class:`GroupThresholdOptimizer` (randomized group
  thresholds, Hardt et al. 2016).

Estimators follow scikit-learn (``fit``/``predict``/``predict_proba``,
``get_params``), with ``sensitive_features`` passed by keyword as in
fairlearn. The pure update rules they are built from (:func:`dual_update`,
:func:`exponentiated_multipliers`, :func:`group_thresholds_for_selection_rate`)
are public, for teaching and testing.
"""

from respai.fairness.mitigation.exponentiated_gradient import (
    ExponentiatedGradient,
    exponentiated_multipliers,
)
from respai.fairness.mitigation.lagrangian import FairLagrangianClassifier, dual_update
from respai.fairness.mitigation.reweighing import reweighing_weights
from respai.fairness.mitigation.threshold import (
    GroupThresholdOptimizer,
    apply_group_thresholds,
    group_thresholds_for_selection_rate,
)

__all__ = [
    "reweighing_weights",
    "FairLagrangianClassifier",
    "dual_update",
    "ExponentiatedGradient",
    "exponentiated_multipliers",
    "GroupThresholdOptimizer",
    "group_thresholds_for_selection_rate",
    "apply_group_thresholds",
]
