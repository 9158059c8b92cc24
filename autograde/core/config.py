"""Defaults of ``autograde grade`` from the course's configuration file.

Read from ``[tool.autograde]`` in the course's ``pyproject.toml`` or from the
top level of ``autograde.toml`` at the course root (not both)::

    [tool.autograde]
    workers = 8
    cell_timeout = 60          # seconds
    notebook_timeout = 300     # seconds
    memory_mb = 4096
    scheduler = "tcp://scheduler.example.org:8786"

Command-line flags override the file. An unknown key or a value of the wrong
type is an error that names the file and the key: a typo never passes
silently.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from autograde.core.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["GradeSettings", "load_config", "grade_settings", "CONFIG_FILE"]

CONFIG_FILE = "autograde.toml"


@dataclass(frozen=True)
class GradeSettings:
    """Effective settings of one ``autograde grade`` run.

    ``workers=None`` means one per core; ``memory_mb=None`` the grader's
    default limit; ``scheduler=None`` the local process pool.
    """

    workers: int | None = None
    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    memory_mb: int | None = None
    scheduler: str | None = None


KEYS = tuple(f.name for f in fields(GradeSettings))


def load_config(root: Path) -> tuple[dict[str, Any], Path | None]:
    """Validated settings from ``root``'s configuration and the file they came from.

    Raises
    ------
    UsageError
        Unparsable TOML, settings in both files, an unknown key, or a bad value.
    """
    found: list[tuple[dict, Path]] = []
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read(pyproject).get("tool", {}).get("autograde")
        if section is not None:
            found.append((section, pyproject))
    standalone = root / CONFIG_FILE
    if standalone.is_file():
        found.append((_read(standalone), standalone))
    if not found:
        return {}, None
    if len(found) > 1:
        raise UsageError(
            f"autograde settings in both {pyproject} ([tool.autograde]) and {standalone}; "
            "keep them in one place"
        )
    section, path = found[0]
    if not isinstance(section, dict):
        raise UsageError(f"{path}: [tool.autograde] must be a table")
    return {key: _check(key, value, path) for key, value in section.items()}, path


def grade_settings(root: Path, overrides: dict[str, Any]) -> GradeSettings:
    """Defaults, then the course's config file, then ``overrides`` (``None`` = not given)."""
    config, _ = load_config(root)
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown setting(s) {unknown}")
    return replace(GradeSettings(), **(config | given))


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _check(key: str, value: Any, path: Path) -> Any:
    where = f"{path}: autograde setting {key!r}"
    if key not in KEYS:
        raise UsageError(f"{where} is unknown; known settings: {', '.join(KEYS)}")
    if key in ("workers", "memory_mb"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"{where} must be an integer >= 1; got {value!r}")
        return value
    if key in ("cell_timeout", "notebook_timeout"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not (value > 0 and math.isfinite(value)):
            raise UsageError(f"{where} must be a number of seconds > 0; got {value!r}")
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(
            f"{where} must be a scheduler address like 'tcp://HOST:8786'; got {value!r}"
        )
    return value.strip()
