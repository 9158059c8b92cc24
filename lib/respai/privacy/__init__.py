"""Differential privacy: mechanisms, sensitivity, composition (later: accounting, DP-SGD)."""

from respai.privacy import composition, mechanisms, sensitivity

__all__ = ["mechanisms", "sensitivity", "composition"]
