"""Record a notebook's headline numbers and check them against its claims table.

Every number the prose of a notebook talks about is computed, printed and
recorded with :func:`record`. Each assignment has a claims table,
``solutions/<id>/claims.toml``, giving the allowed range of every recorded
number per mode::

    [claims.laplace_mae_eps_1]
    description = "Mean absolute error of a Laplace count at epsilon = 1 (people)"
    smoke = [0.5, 1.6]
    full = [0.9, 1.1]

``autograde run`` executes the notebook with ``RESPAI_RESULTS_FILE`` set, so
each :func:`record` call appends a JSON line to that file; it then calls
:func:`check_claims`, and fails the notebook for a value outside its range,
a claim never recorded, or a recorded name the table does not know.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from respai._validation import _as_real
from respai.exceptions import ClaimError, ParameterValueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "RESULTS_FILE_ENV",
    "MODES",
    "record",
    "recorded",
    "read_results_file",
    "load_claims",
    "check_claims",
]

RESULTS_FILE_ENV = "RESPAI_RESULTS_FILE"
MODES = ("smoke", "full")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_recorded: dict[str, float] = {}


def record(name: str, value: float, *, quiet: bool = False) -> float:
    """Record headline number ``name`` and return it unchanged.

    Parameters
    ----------
    name : str
        snake_case key, as it appears in the claims table.
    value : float
        A finite real number.
    quiet : bool, keyword-only
        Don't print ``[recorded] name = value``.

    Returns
    -------
    float
        ``value`` as a float, so ``x = record("x", compute())`` reads well.

    Examples
    --------
    >>> record("doctest_answer", 42, quiet=True)
    42.0
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ParameterValueError(
            f"`name` must be a snake_case string such as 'laplace_mae_eps_1'; got {name!r}."
        )
    number = _as_real("value", value)
    if not math.isfinite(number):
        raise ParameterValueError(f"`value` must be finite; got {value!r} for {name!r}.")
    _recorded[name] = number
    if not quiet:
        print(f"[recorded] {name} = {number:.6g}")
    path = os.environ.get(RESULTS_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"name": name, "value": number}) + "\n")
    return number


def recorded() -> dict[str, float]:
    """Return a copy of the numbers recorded so far in this process."""
    return dict(_recorded)


def read_results_file(path: str | os.PathLike) -> dict[str, float]:
    """Read the JSON lines written by :func:`record`; the last value of a name wins."""
    values: dict[str, float] = {}
    file = Path(path)
    if not file.exists():
        return values
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            values[entry["name"]] = float(entry["value"])
    return values


def load_claims(path: str | os.PathLike) -> dict[str, dict]:
    """Load and validate a claims table; return ``{name: {description, smoke, full}}``."""
    file = Path(path)
    with file.open("rb") as handle:
        table = tomllib.load(handle).get("claims", {})
    if not table:
        raise ClaimError(f"{file}: no [claims.<name>] tables found.")
    for name, claim in table.items():
        if not _NAME.match(name):
            raise ClaimError(f"{file}: claim name {name!r} is not snake_case.")
        for mode in MODES:
            bounds = claim.get(mode)
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, (int, float)) for b in bounds)
                or not bounds[0] <= bounds[1]
            ):
                raise ClaimError(
                    f"{file}: claims.{name}.{mode} must be [low, high] with low <= high; "
                    f"got {bounds!r}."
                )
    return table


def check_claims(
    values: Mapping[str, float], claims: str | os.PathLike | Mapping[str, dict], mode: str
) -> list[str]:
    """Compare recorded ``values`` with the claims table; return a list of problems.

    An empty list means every claim was recorded and lies in its ``mode`` range.

    Examples
    --------
    >>> table = {"acc": {"description": "", "smoke": [0.5, 1.0], "full": [0.8, 1.0]}}
    >>> check_claims({"acc": 0.7}, table, "full")
    ['acc = 0.7 is outside its full range [0.8, 1.0]']
    """
    if mode not in MODES:
        raise ParameterValueError(f"`mode` must be one of {MODES}; got {mode!r}.")
    table = claims if isinstance(claims, Mapping) else load_claims(claims)
    problems = []
    for name, claim in table.items():
        if name not in values:
            problems.append(f"{name} was never recorded")
            continue
        low, high = claim[mode]
        if not low <= values[name] <= high:
            problems.append(
                f"{name} = {values[name]:.6g} is outside its {mode} range [{low}, {high}]"
            )
    problems.extend(
        f"{name} was recorded but is not in the claims table"
        for name in values
        if name not in table
    )
    return problems
