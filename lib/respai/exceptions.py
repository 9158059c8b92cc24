"""Exceptions raised by :mod:`respai`.

Every error names the parameter, the value received and what is allowed,
in the shape "``<param>`` must be ``<constraint>``; got ``<value!r>``. <fix>".
They subclass the built-in ``ValueError``/``TypeError`` so ordinary
``except ValueError`` code keeps working.
"""

from __future__ import annotations

__all__ = ["ParameterValueError", "ParameterTypeError", "DataUnavailableError", "ClaimError"]


class ParameterValueError(ValueError):
    """A parameter has the right type but a value outside its valid range."""


class ParameterTypeError(TypeError):
    """A parameter has a type the function cannot use."""


class DataUnavailableError(RuntimeError):
    """Neither the online nor the offline source of a dataset is available.

    The message says how to obtain one. :mod:`respai` never substitutes random
    data for a real dataset.
    """


class ClaimError(ValueError):
    """A recorded headline number is unknown to, or outside, its claims table."""
