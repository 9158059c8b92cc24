"""Helpers shared by the autograde tests: the fixture course, writing submissions."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograde.core.course import Course
from autograde.core.release import release

FIXTURE_COURSE = Path(__file__).parent / "fixtures" / "course"
FIXTURE_ID = "00_fixture"
REPO = Path(__file__).resolve().parents[2]
REAL_COURSE = Course(REPO)


def copy_course(destination: Path) -> Course:
    """A writable copy of the fixture course (sources and mutants), released."""
    shutil.copytree(FIXTURE_COURSE, destination)
    course = Course(destination)
    release(course, FIXTURE_ID)
    return course


def released(course: Course, assignment_id: str = FIXTURE_ID) -> nbformat.NotebookNode:
    return nbformat.read(course.released_notebook(assignment_id), as_version=4)


def write_submission(root: Path, student: str, assignment_id: str, nb) -> Path:
    """Write ``root/<student>/<id>/<id>.ipynb`` (``nb`` may be raw text)."""
    path = root / student / assignment_id / f"{assignment_id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        nbformat.write(nb, path)
    return path


def real_ids() -> list[str]:
    """Assignments of the real course that have a released notebook."""
    return [a for a in REAL_COURSE.assignment_ids() if (REAL_COURSE.release_dir / a).is_dir()]
