"""Small, specific input validators shared by the whole library.

Each validator returns the normalised value or raises a
:class:`~respai.exceptions.ParameterValueError` /
:class:`~respai.exceptions.ParameterTypeError` whose message has one shape::

    `epsilon` must be a finite number > 0; got -1. Pass a positive privacy budget.

Validation happens before any expensive work, and nothing is clamped.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "check_positive",
    "check_epsilon",
    "check_delta",
    "check_probability",
    "check_sensitivity",
    "check_finite_array",
    "check_binary_array",
    "check_positive_int",
    "check_non_negative_int",
    "check_rng",
]


def _fail(name: str, constraint: str, value: object, fix: str = "") -> ParameterValueError:
    message = f"`{name}` must be {constraint}; got {value!r}."
    if fix:
        message += f" {fix}"
    return ParameterValueError(message)


def _as_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        # numpy 0-d arrays and numpy scalars are numbers.Real or convertible
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
            return float(value)
        raise ParameterTypeError(
            f"`{name}` must be a real number; got {value!r} of type {type(value).__name__}."
        )
    return float(value)


def check_positive(name: str, value: object, *, fix: str = "") -> float:
    """Return ``value`` as a float if it is finite and strictly positive."""
    x = _as_real(name, value)
    if not math.isfinite(x) or x <= 0:
        raise _fail(name, "a finite number > 0", value, fix)
    return x


def check_epsilon(epsilon: object, name: str = "epsilon") -> float:
    """Validate a privacy budget :math:`\\varepsilon \\in (0, \\infty)`."""
    return check_positive(name, epsilon, fix="Pass a positive privacy budget, e.g. 1.0.")


def check_delta(delta: object, name: str = "delta") -> float:
    """Validate a failure probability :math:`\\delta \\in (0, 1)` (open interval)."""
    x = _as_real(name, delta)
    if not math.isfinite(x) or not 0.0 < x < 1.0:
        raise _fail(
            name,
            "in the open interval (0, 1)",
            delta,
            "Typical values are much smaller than 1/n, e.g. 1e-5.",
        )
    return x


def check_probability(name: str, value: object, *, closed: bool = True) -> float:
    """Validate a probability in ``[0, 1]`` (or ``(0, 1)`` when ``closed=False``)."""
    x = _as_real(name, value)
    ok = (0.0 <= x <= 1.0) if closed else (0.0 < x < 1.0)
    if not math.isfinite(x) or not ok:
        interval = "[0, 1]" if closed else "(0, 1)"
        raise _fail(name, f"a probability in {interval}", value)
    return x


def check_sensitivity(sensitivity: object, name: str = "sensitivity") -> float:
    """Validate an L1/L2 sensitivity :math:`\\Delta \\in (0, \\infty)`."""
    return check_positive(
        name,
        sensitivity,
        fix="Sensitivity is the most one person can change the answer; it is > 0.",
    )


def check_positive_int(name: str, value: object) -> int:
    """Validate a strictly positive integer (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(
            f"`{name}` must be a positive integer; got {value!r} of type {type(value).__name__}."
        )
    if value <= 0:
        raise _fail(name, "a positive integer", value)
    return int(value)


def check_non_negative_int(name: str, value: object) -> int:
    """Validate an integer >= 0, such as a count or a sample size (``bool`` is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterTypeError(
            f"`{name}` must be a non-negative integer; got {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < 0:
        raise _fail(name, "a non-negative integer", value)
    return int(value)


def check_finite_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a float array; refuse NaN, infinities and non-numbers."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise ParameterTypeError(
            f"`{name}` must be a number or an array of numbers; got {value!r}."
        ) from err
    if not np.all(np.isfinite(arr)):
        raise _fail(name, "finite (no NaN or infinity)", value)
    return arr


def check_binary_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as an integer array of 0/1 (booleans are accepted)."""
    arr = np.asarray(value)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iuf" or not np.all(np.isin(arr, (0, 1))):
        raise _fail(name, "an array of 0/1 (or booleans)", value)
    return arr.astype(np.int64)


def check_rng(rng: object) -> np.random.Generator:
    """Normalise ``rng`` to a :class:`numpy.random.Generator`.

    ``None`` gives a fresh, OS-seeded generator; an ``int`` seeds one; a
    ``Generator`` is used as is. NumPy generators are *not* cryptographically
    secure: for a deployed mechanism use a secure source (e.g. OpenDP's
    samplers), not this teaching code.
    """
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, bool):
            raise ParameterTypeError(
                f"`rng` must be None, an int seed or a Generator; got {rng!r}."
            )
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ParameterTypeError(
        f"`rng` must be None, an int seed or a numpy.random.Generator; got {rng!r} "
        f"of type {type(rng).__name__}."
    )
