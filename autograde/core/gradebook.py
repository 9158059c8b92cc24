"""Write the autograded scores into an nbgrader gradebook (``DIR/gradebook.db``).

Only the coordinator calls this, after the workers have returned their
results: workers never open the database, so no submission can reach it. The
database stays usable by nbgrader's own tools (``formgrader`` for the manual
cells): assignments, notebooks, grade and solution cells are created or
updated, each submission's test cells get their ``auto_score``, and manual
cells are left without a score (``needs_manual_grade``). Scores a person has
entered (``manual_score``) are never touched, so re-running or resuming the
grading keeps them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import nbformat

from autograde.core import cells as C
from autograde.core.course import Course
from autograde.core.grading import GradeResult
from autograde.core.spec import AssignmentSpec

__all__ = ["write_gradebook", "GRADEBOOK"]

#: File name of the gradebook inside the output folder.
GRADEBOOK = "gradebook.db"


def write_gradebook(
    path: Path,
    course: Course,
    specs: dict[str, AssignmentSpec],
    rows: Iterable[tuple[str, GradeResult]],
) -> Path:
    """Create or update the gradebook at ``path`` with every (student, result).

    Parameters
    ----------
    path : Path
        SQLite file; created if missing.
    course : Course
        Gives each assignment's notebook name and its manual cells' types.
    specs : dict
        ``{assignment id: AssignmentSpec}`` for every assignment in ``rows``.
    rows : iterable of (str, GradeResult)

    Returns
    -------
    Path
    """
    from nbgrader.api import Grade, Gradebook, MissingEntry

    notebooks = {a: course.source_notebook(a).stem for a in specs}
    with _alembic_on_path():
        gradebook = Gradebook(f"sqlite:///{path.resolve()}")
    with contextlib.closing(gradebook), _quiet_sqlalchemy():
        for assignment_id, spec in specs.items():
            _define(gradebook, course, assignment_id, spec, notebooks[assignment_id])
        for student, result in rows:
            notebook = notebooks[result.assignment]
            gradebook.update_or_create_student(student)
            submission = gradebook.update_or_create_submission(result.assignment, student)
            submitted = next(n for n in submission.notebooks if n.name == notebook)
            scores = {t.grade_id: t.points for t in result.tests}
            scores |= {m.grade_id: None for m in result.manual}
            for grade_id, score in scores.items():
                try:
                    grade = gradebook.find_grade(grade_id, notebook, result.assignment, student)
                except MissingEntry:  # a cell added to the assignment after this submission
                    cell = gradebook.find_grade_cell(grade_id, notebook, result.assignment)
                    grade = Grade(cell_id=cell.id, notebook=submitted)
                    gradebook.db.add(grade)
                grade.auto_score = score
                grade.needs_manual_grade = score is None and grade.manual_score is None
        gradebook.db.commit()
    return path


def _define(
    gradebook, course: Course, assignment_id: str, spec: AssignmentSpec, notebook: str
) -> None:
    """Create or update the assignment's notebook, grade cells and solution cells."""
    source = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    types = {C.grade_id(c): c.cell_type for c in source.cells if C.grade_id(c)}
    gradebook.update_or_create_assignment(assignment_id)
    gradebook.update_or_create_notebook(notebook, assignment_id)
    for test in spec.tests:
        gradebook.update_or_create_grade_cell(
            test.grade_id, notebook, assignment_id, max_score=test.points, cell_type="code"
        )
    for manual in spec.manual:
        cell_type = types.get(manual.grade_id, "markdown")
        gradebook.update_or_create_grade_cell(
            manual.grade_id, notebook, assignment_id, max_score=manual.points, cell_type=cell_type
        )
    for grade_id in (*spec.answers, *(m.grade_id for m in spec.manual)):
        gradebook.update_or_create_solution_cell(grade_id, notebook, assignment_id)


@contextlib.contextmanager
def _alembic_on_path() -> Iterator[None]:
    """nbgrader runs the ``alembic`` script to stamp a new database: find it next to Python.

    ``autograde`` started as ``.venv/bin/autograde`` has the environment's
    scripts folder off ``PATH``.
    """
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), old])
    try:
        yield
    finally:
        os.environ["PATH"] = old


@contextlib.contextmanager
def _quiet_sqlalchemy() -> Iterator[None]:
    """nbgrader 0.9 builds submissions in a way SQLAlchemy 2 warns about (harmless)."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield
