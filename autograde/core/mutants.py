"""Mutants: plausible wrong answers that the tests must catch.

A mutant lives in ``autograde/mutants/<id>/<name>.toml``::

    cell = "laplace"                 # grade_id of the answer cell to replace
    description = "noise scale epsilon / sensitivity (inverted)"
    code = '''
    def laplace_mechanism(value, sensitivity, epsilon, *, rng=None):
        ...
    '''

or, to replace several answer cells at once, ``cells = [{cell = ..., code =
...}, ...]`` instead of ``cell``/``code``. The submission for a mutant is the
released notebook with every answer filled in from the solution, then the
mutant's cells replaced: a student who got everything right but this.

An **alternative** has the same format and lives in
``autograde/alternatives/<id>/<name>.toml``: another *correct* answer (other
spelling, other algorithm, other rounding where the exercise allows it) that
must keep full marks, so that tests made stricter to catch a mutant do not
start to reject right answers.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.core import cells as C
from autograde.core.course import Course
from autograde.core.errors import SpecError
from autograde.core.spec import AssignmentSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Mutant", "load_mutants", "load_alternatives", "solution_answers", "fill_answers"]

_KEYS = {"cell", "code", "cells", "description"}


@dataclass(frozen=True)
class Mutant:
    """A named replacement of one or more answer cells.

    Attributes
    ----------
    name : str
        File stem.
    description : str
    replacements : tuple of (str, str)
        ``(answer grade_id, full replacement source)`` pairs.
    """

    name: str
    description: str
    replacements: tuple[tuple[str, str], ...]


def load_mutants(course: Course, spec: AssignmentSpec) -> list[Mutant]:
    """Read every mutant of ``spec``'s assignment, sorted by name.

    Raises
    ------
    SpecError
        For unknown keys, missing code, or a cell that is not an answer cell.
    """
    return _load_folder(course.mutants_dir / spec.assignment_id, spec)


def load_alternatives(course: Course, spec: AssignmentSpec) -> list[Mutant]:
    """Read every alternative (correct) answer of ``spec``'s assignment, sorted by name.

    Same format and errors as :func:`load_mutants`.
    """
    return _load_folder(course.alternatives_dir / spec.assignment_id, spec)


def _load_folder(folder: Path, spec: AssignmentSpec) -> list[Mutant]:
    return [_load(path, spec) for path in sorted(folder.glob("*.toml"))]


def _load(path: Path, spec: AssignmentSpec) -> Mutant:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    if ("cells" in data) == ("cell" in data or "code" in data):
        raise SpecError(f"{path}: give either `cell` and `code`, or `cells = [...]`")
    entries = data.get("cells") or [{"cell": data.get("cell"), "code": data.get("code")}]
    replacements = []
    for entry in entries:
        cell, code = entry.get("cell"), entry.get("code")
        if cell not in spec.answers:
            raise SpecError(
                f"{path}: cell {cell!r} is not an answer cell of {spec.assignment_id}; "
                f"answer cells: {', '.join(spec.answers)}"
            )
        if not isinstance(code, str) or not code.strip():
            raise SpecError(f"{path}: cell {cell!r} needs non-empty `code`")
        replacements.append((cell, code.strip("\n")))
    return Mutant(path.stem, str(data.get("description", "")), tuple(replacements))


def solution_answers(source: nbformat.NotebookNode) -> dict[str, str]:
    """Answer sources of the instructor notebook, as a student would type them.

    Covers autograded answers and manually graded written answers; the
    ``### BEGIN/END SOLUTION`` marker lines are dropped.
    """
    markers = {C.BEGIN_SOLUTION, C.END_SOLUTION}
    return {
        C.grade_id(cell): "\n".join(
            line for line in cell.source.splitlines() if line.strip() not in markers
        )
        for cell in source.cells
        if C.nbgrader_meta(cell).get("solution")
    }


def fill_answers(released: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """Copy of ``released`` with the answer cells named in ``answers`` replaced.

    Raises
    ------
    SpecError
        If a named answer cell is not in the released notebook.
    """
    filled = copy.deepcopy(released)
    missing = set(answers) - {C.grade_id(c) for c in filled.cells}
    if missing:
        raise SpecError(f"answer cell(s) {sorted(missing)} not in the released notebook")
    for cell in filled.cells:
        gid = C.grade_id(cell)
        if gid in answers:
            cell.source = answers[gid]
    return filled
