"""Efficiency: measure what a model costs, then make it cheaper.

Sub-modules (``measure``: parameters, bytes, FLOPs, latency, memory, energy;
``pruning``; ``quantization``) load on first use, so ``import
respai.efficiency`` imports neither torch nor CodeCarbon. Any sub-module
present in this package is reachable as an attribute; none is listed here by
hand, so adding one needs no edit to this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = sorted(
    info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
)


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"respai.efficiency.{name}")
    raise AttributeError(f"module 'respai.efficiency' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
