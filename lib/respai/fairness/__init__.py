"""Fairness: group metrics (``metrics``) and mitigation methods.

The layout follows fairlearn [1]_: ``respai.fairness.metrics`` measures
disparities between groups; the mitigation sub-packages change a model so
that a disparity shrinks. Sub-packages load on first use, and ``__all__``
lists whichever sub-packages exist, so a new one needs no edit here.

References
----------
.. [1] H. Weerts, M. Dudik, R. Edgar, A. Jalali, R. Lutz and M. Madaio,
   "Fairlearn: Assessing and Improving Fairness of AI Systems", JMLR 24(257),
   2023.
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
        return importlib.import_module(f"respai.fairness.{name}")
    raise AttributeError(f"module 'respai.fairness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
