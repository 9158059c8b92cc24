"""Exceptions that the CLI turns into exit codes.

Exit codes (documented in :mod:`autograde.cli`): 0 everything passed, 1 a check
found a failure, 2 the command was used wrongly (unknown assignment, missing
folder, bad option).
"""

from __future__ import annotations

__all__ = ["AutogradeError", "UsageError", "SpecError"]


class AutogradeError(Exception):
    """Base class of every error ``autograde`` raises on purpose."""


class UsageError(AutogradeError):
    """The command cannot run as asked (exit code 2): fix the arguments or the layout."""


class SpecError(AutogradeError):
    """An instructor file (source notebook, mutant) is malformed (exit code 2)."""
