"""Differential privacy: mechanisms, sensitivity, composition, accounting, DP-SGD, attacks.

Sub-modules load on first use, so ``from respai.privacy.mechanisms import ...``
does not import torch (only ``dpsgd`` needs it).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "mechanisms",
    "sensitivity",
    "composition",
    "accounting",
    "sampling",
    "dpsgd",
    "attacks",
    "floating_point_attack",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"respai.privacy.{name}")
    raise AttributeError(f"module 'respai.privacy' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
