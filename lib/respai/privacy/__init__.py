"""Differential privacy: mechanisms, sensitivity, composition, accounting, sampling, attacks.

DP-SGD (``respai.privacy.dpsgd``) comes next.
"""

from respai.privacy import accounting, attacks, composition, mechanisms, sampling, sensitivity

__all__ = ["mechanisms", "sensitivity", "composition", "accounting", "sampling", "attacks"]
