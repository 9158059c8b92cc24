"""What grading needs to know about one assignment, as plain picklable data.

An :class:`AssignmentSpec` is built once by the coordinator from the
instructor's notebook and the released folder, then shipped to every worker
(a local process or, later, a Dask worker): it carries the instructor's test
cells, including the hidden parts, and the bytes of the released files, so a
worker needs neither the course checkout nor any shared state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.core import cells as C
from autograde.core.course import Course
from autograde.core.errors import SpecError
from autograde.core.guard import tested_modules

__all__ = ["TestSpec", "ManualSpec", "AssignmentSpec", "build_spec"]


@dataclass(frozen=True)
class TestSpec:
    """One autograder test cell.

    Attributes
    ----------
    grade_id : str
    points : float
    source : str
        The instructor's full cell, hidden tests included. Only this is executed.
    released_source : str
        The cell as students received it, to detect edits.
    segments : tuple of cells.Segment
        ``source`` split into visible and hidden units.
    anchor : str or None
        grade_id of the nearest nbgrader cell before it in the instructor's
        notebook; a deleted test cell is restored right after that cell.
    """

    grade_id: str
    points: float
    source: str
    released_source: str
    segments: tuple[C.Segment, ...]
    anchor: str | None


@dataclass(frozen=True)
class ManualSpec:
    """A manually graded cell: its points are pending until a person grades it."""

    grade_id: str
    points: float


@dataclass(frozen=True)
class AssignmentSpec:
    """Everything a worker needs to grade a submission of one assignment.

    Attributes
    ----------
    assignment_id : str
    tests : tuple of TestSpec
        In notebook order.
    answers : tuple of str
        grade_ids of the autograded answer cells, in order.
    manual : tuple of ManualSpec
    files : tuple of (str, bytes)
        Released files other than the notebook (relative path, content),
        copied into each submission's scratch folder.
    kernel_name : str
    guarded_modules : tuple of str
        Modules the tests call besides the guard's fixed list (e.g. ``torch``):
        their functions are put back before every test, and rebinding them is
        tampering (:func:`autograde.core.guard.tested_modules`).
    guarded_names : tuple of (str, str, str or None)
        ``(name, module, attribute)`` of the instructor's imports that tests
        use (``nn`` from ``torch``): bound again before every test.
    """

    assignment_id: str
    tests: tuple[TestSpec, ...]
    answers: tuple[str, ...]
    manual: tuple[ManualSpec, ...]
    files: tuple[tuple[str, bytes], ...] = ()
    kernel_name: str = "python3"
    guarded_modules: tuple[str, ...] = ()
    guarded_names: tuple[tuple[str, str, str | None], ...] = ()

    @property
    def max_points(self) -> float:
        """Autograded points available (manual points excluded)."""
        return float(sum(t.points for t in self.tests))

    @property
    def manual_points(self) -> float:
        return float(sum(m.points for m in self.manual))

    def test(self, grade_id: str) -> TestSpec:
        return next(t for t in self.tests if t.grade_id == grade_id)

    @property
    def hidden_lines(self) -> tuple[str, ...]:
        """Every non-blank line of every hidden region (to check feedback never shows them)."""
        return tuple(
            line
            for t in self.tests
            for line in C.region_lines(t.source, C.BEGIN_HIDDEN, C.END_HIDDEN)
        )


def build_spec(course: Course, assignment_id: str) -> AssignmentSpec:
    """Read ``solutions/<id>`` and the released ``notebooks/<id>`` into a spec.

    Raises
    ------
    SpecError
        When a test cell has no grade_id or points, ids repeat, or the released
        notebook lacks a test cell of the source (stale release).
    """
    source_path = course.source_notebook(assignment_id)
    released_path = course.released_notebook(assignment_id)
    source = nbformat.read(source_path, as_version=4)
    released = nbformat.read(released_path, as_version=4)
    released_tests = {C.grade_id(c): c.source for c in released.cells if C.is_test(c)}

    tests, answers, manual, seen = [], [], [], set()
    anchor = None
    for index, cell in enumerate(source.cells):
        gid = C.grade_id(cell)
        if not (C.is_test(cell) or C.is_answer(cell) or C.is_manual(cell)):
            anchor = gid or anchor
            continue
        if not gid:
            raise SpecError(f"{source_path}: nbgrader cell {index} has no grade_id")
        if gid in seen:
            raise SpecError(f"{source_path}: grade_id {gid!r} is used twice")
        seen.add(gid)
        if C.is_test(cell):
            if gid not in released_tests:
                raise SpecError(
                    f"{released_path} has no test cell {gid!r}; run `autograde release`."
                )
            tests.append(
                TestSpec(
                    grade_id=gid,
                    points=_points(cell, source_path),
                    source=cell.source,
                    released_source=released_tests[gid],
                    segments=C.split_test_source(cell.source),
                    anchor=anchor,
                )
            )
        elif C.is_manual(cell):
            manual.append(ManualSpec(gid, _points(cell, source_path)))
        else:
            answers.append(gid)
        if not C.is_test(cell):
            # Consecutive test cells share the answer cell they follow as anchor.
            anchor = gid
    if not tests:
        raise SpecError(f"{source_path} has no autograder test cells")
    setup = [
        c.source
        for c in source.cells
        if c.cell_type == "code" and not (C.is_test(c) or C.is_answer(c) or C.is_manual(c))
    ]
    guarded_modules, guarded_names = tested_modules(setup, [t.source for t in tests])
    return AssignmentSpec(
        assignment_id=assignment_id,
        tests=tuple(tests),
        answers=tuple(answers),
        manual=tuple(manual),
        files=_released_files(released_path),
        guarded_modules=guarded_modules,
        guarded_names=guarded_names,
    )


def _points(cell: dict, path: Path) -> float:
    points = C.nbgrader_meta(cell).get("points")
    if not isinstance(points, (int, float)) or points < 0:
        raise SpecError(f"{path}: cell {C.grade_id(cell)!r} needs points >= 0; got {points!r}")
    return float(points)


def _released_files(notebook: Path) -> tuple[tuple[str, bytes], ...]:
    folder = notebook.parent
    return tuple(
        (str(p.relative_to(folder)), p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p != notebook and ".ipynb_checkpoints" not in p.parts
    )
