"""respai: the reference library of the *Responsible Foundation Models* course.

Sub-packages by theme (``respai.privacy``, ``respai.fairness``,
``respai.efficiency``) and shared plumbing (``respai.data``, ``respai.models``,
``respai.pretrained``, ``respai.adapters``, ``respai.train``, ``respai.plots``,
``respai.results``).
Sub-packages are imported lazily, so ``import respai`` stays fast and does
not import torch until a torch-based module is used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "device",
    "seed_everything",
    "data",
    "exceptions",
    "models",
    "plots",
    "privacy",
    "fairness",
    "efficiency",
    "pretrained",
    "adapters",
    "results",
    "testing",
    "train",
]

_SUBMODULES = {
    "data",
    "exceptions",
    "models",
    "plots",
    "privacy",
    "fairness",
    "efficiency",
    "pretrained",
    "adapters",
    "results",
    "testing",
    "train",
}
_RUNTIME = {"device", "seed_everything"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"respai.{name}")
    if name in _RUNTIME:
        return getattr(importlib.import_module("respai.runtime"), name)
    raise AttributeError(f"module 'respai' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
