"""``autograde release``: no solutions or hidden tests in releases; ``--check`` finds staleness."""

from __future__ import annotations

import json

import nbformat
import pytest

from autograde.cli import main
from autograde.core import cells as C
from autograde.core.course import Course
from tests.autograde.course_helpers import FIXTURE_ID, REAL_COURSE, copy_course, real_ids


def assert_no_leak(course: Course, assignment_id: str) -> None:
    """No solution or hidden-test text, no outputs, no claims table in the release."""
    source = nbformat.read(course.source_notebook(assignment_id), as_version=4)
    path = course.released_notebook(assignment_id)
    text = path.read_text(encoding="utf-8")
    out = {C.grade_id(c): c for c in nbformat.read(path, as_version=4).cells if C.grade_id(c)}
    assert C.BEGIN_SOLUTION not in text and C.BEGIN_HIDDEN not in text
    for cell in source.cells:
        gid = C.grade_id(cell)
        solution = C.region_lines(cell.source, C.BEGIN_SOLUTION, C.END_SOLUTION)
        hidden = C.region_lines(cell.source, C.BEGIN_HIDDEN, C.END_HIDDEN)
        released = {line.strip() for line in out[gid].source.splitlines()} if gid else set()
        # Lines that also occur outside the region (a lone ")") are legitimately released.
        outside = {line.strip() for line in _outside_regions(cell.source)}
        leaked = (set(solution) | set(hidden)) & released - outside
        assert not leaked, f"solution or hidden-test lines of {gid!r} were released: {leaked}"
    for cell in json.loads(text)["cells"]:
        assert not cell.get("outputs") and not cell.get("execution_count")
    assert not (course.release_dir / assignment_id / "claims.toml").exists()


def _outside_regions(source: str) -> list[str]:
    lines, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker in (C.BEGIN_SOLUTION, C.BEGIN_HIDDEN):
            inside = True
        elif marker in (C.END_SOLUTION, C.END_HIDDEN):
            inside = False
        elif not inside:
            lines.append(line)
    return lines


def test_fixture_release_has_no_solutions_hidden_tests_or_outputs(fixture_course):
    assert_no_leak(fixture_course, FIXTURE_ID)
    assert (fixture_course.release_dir / FIXTURE_ID / "data.txt").is_file()


def test_check_passes_when_fresh_and_fails_when_stale(tmp_path, capsys):
    course = copy_course(tmp_path / "course")
    assert main(["--root", str(course.root), "release", "--check"]) == 0
    source = course.source_notebook(FIXTURE_ID)
    nb = nbformat.read(source, as_version=4)
    nb.cells[0].source += "\nA new sentence."
    nbformat.write(nb, source)
    assert main(["--root", str(course.root), "release", "--check", FIXTURE_ID]) == 1
    assert "cell 0 differs in source" in capsys.readouterr().out


def test_unknown_id_is_a_usage_error(fixture_course, capsys):
    assert main(["--root", str(fixture_course.root), "release", "--check", "99_nope"]) == 2
    assert "unknown assignment" in capsys.readouterr().err


@pytest.mark.parametrize("assignment_id", real_ids())
def test_real_course_release_is_fresh_and_leaks_nothing(assignment_id):
    assert main(["--root", str(REAL_COURSE.root), "release", "--check", assignment_id]) == 0
    assert_no_leak(REAL_COURSE, assignment_id)


def test_every_real_assignment_is_released():
    missing = set(REAL_COURSE.assignment_ids()) - set(real_ids())
    assert not missing, f"run `autograde release {' '.join(sorted(missing))}`"
