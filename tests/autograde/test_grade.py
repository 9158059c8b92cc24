"""``autograde grade``: right points and status for good, broken and hostile submissions.

All fixture submissions are graded in one parallel batch (module fixture);
the real-course examples in another (``slow``).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main
from autograde.core import cells as C
from autograde.core.executor import GradeOptions
from autograde.core.grade import grade_class
from autograde.core.grading import HIDDEN_FAILED
from autograde.core.mutants import fill_answers, solution_answers
from autograde.core.prepare import prepare_notebook
from autograde.core.spec import build_spec
from tests.autograde.course_helpers import (
    FIXTURE_ID,
    REAL_COURSE,
    real_ids,
    released,
    write_submission,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.xdist_group("grade")

MEAN_SINGLETON = "def mean(xs):\n    return sum(xs) / len(xs) if len(xs) > 1 else 0.0"
EXPECTED = {  # student: (test_add, test_mean, status)
    "alice": (2, 3, "graded"),
    "bob": (2, 0, "graded"),
    "carol": (0, 0, "graded"),
    "dave": (0, 0, "invalid_notebook"),
    "erin": (2, 0, "tampered"),  # tests edited and deleted: restored, flagged
    "frank": (0, 3, "timeout"),
    "grace": (2, 0, "crashed"),
    "heidi": (0, 0, "tampered"),
    "ivan": (0, 0, "invalid_notebook"),
    "judy": (2, 3, "graded"),  # saved as UTF-16 by a Windows editor
    "ken": (2, 3, "graded"),  # nbformat 3, from an old Jupyter
    "leo": (2, 3, "graded"),  # UTF-8 with a byte-order mark
}


def fixture_class(course, root: Path) -> None:
    """One submission per case of EXPECTED."""
    blank = released(course)
    answers = solution_answers(nbformat.read(course.source_notebook(FIXTURE_ID), 4))
    full = fill_answers(blank, answers)
    write_submission(root, "alice", FIXTURE_ID, full)
    write_submission(root, "bob", FIXTURE_ID, fill_answers(full, {"mean": MEAN_SINGLETON}))
    write_submission(root, "carol", FIXTURE_ID, blank)
    write_submission(root, "dave", FIXTURE_ID, '{"cells": [ this is not JSON')
    erin = fill_answers(full, {"mean": MEAN_SINGLETON})
    erin.cells = [c for c in erin.cells if C.grade_id(c) != "test_add"]  # deleted test
    next(c for c in erin.cells if C.grade_id(c) == "test_mean").source = "assert True"
    write_submission(root, "erin", FIXTURE_ID, erin)
    loop = "def add(a, b):\n    while True:\n        pass\nadd(1, 2)"
    write_submission(root, "frank", FIXTURE_ID, fill_answers(full, {"add": loop}))
    crash = "import os\nos._exit(0)"
    write_submission(root, "grace", FIXTURE_ID, fill_answers(full, {"mean": crash}))
    heidi = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    write_submission(root, "heidi", FIXTURE_ID, heidi)
    write_submission(root, "ivan", FIXTURE_ID, '{"nbformat": 4, "nbformat_minor": 5}')
    text = nbformat.writes(full)
    write_submission(root, "judy", FIXTURE_ID, "").write_bytes(text.encode("utf-16"))
    write_submission(root, "ken", FIXTURE_ID, nbformat.writes(nbformat.convert(full, 3), 3))
    write_submission(root, "leo", FIXTURE_ID, "").write_bytes(text.encode("utf-8-sig"))


@pytest.fixture(scope="module")
def graded(fixture_course, tmp_path_factory):
    root = tmp_path_factory.mktemp("grade")
    fixture_class(fixture_course, root / "submissions")
    out = root / "out"
    options = GradeOptions(cell_timeout=3, notebook_timeout=60, keep_executed=True)
    rows = grade_class(fixture_course, root / "submissions", out, workers=2, options=options)
    return out, dict(rows)


def test_every_submission_gets_its_points_and_status(graded):
    out, results = graded
    with (out / "grades.csv").open() as handle:
        table = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(table) == set(EXPECTED)
    for student, (add, mean, status) in EXPECTED.items():
        row = table[student]
        got = (float(row["test_add"]), float(row["test_mean"]), row["status"])
        assert got == (add, mean, status), f"{student}: {results[student].reason}"
        assert float(row["total"]) == add + mean and float(row["max_total"]) == 5
        assert row["explain"] == "", "manual points stay pending"


def test_reasons_explain_the_status(graded):
    _, results = graded
    assert "deleted" in results["erin"].reason and "modified" in results["erin"].reason
    assert "cell limit" in results["frank"].reason
    assert "kernel died" in results["grace"].reason
    assert "JSONDecodeError" in results["dave"].reason
    assert "ran at the end" in results["heidi"].reason
    assert results["alice"].reason == ""


def test_feedback_shows_visible_messages_and_never_hidden_tests(graded, fixture_course):
    out, results = graded
    spec = build_spec(fixture_course, FIXTURE_ID)
    hidden = [line for line in spec.hidden_lines if line not in ("", "pass")]
    assert any("HIDDEN_SECRET" in line for line in hidden)
    for student in EXPECTED:
        page = (out / "feedback" / student / f"{FIXTURE_ID}.html").read_text()
        for line in hidden:
            assert line not in page and "HIDDEN_SECRET" not in page, student
        assert "needs manual grading" in page
    assert HIDDEN_FAILED in results["bob"].tests[1].message
    carol = (out / "feedback" / "carol" / f"{FIXTURE_ID}.html").read_text()
    assert "NotImplementedError" in carol


def test_visible_failure_reports_the_assertion_message(fixture_course, tmp_path):
    # A failing visible assert: its message, not a traceback, reaches the student.
    answers = solution_answers(nbformat.read(fixture_course.source_notebook(FIXTURE_ID), 4))
    wrong = fill_answers(released(fixture_course), answers | {"add": "add = lambda a, b: a - b"})
    write_submission(tmp_path / "subs", "zoe", FIXTURE_ID, wrong)
    rows = dict(grade_class(fixture_course, tmp_path / "subs", tmp_path / "out", workers=1))
    assert rows["zoe"].tests[0].message == "AssertionError: add(1, 2) should be 3"


def test_executed_copies_go_to_the_autograded_folder(graded):
    out, _ = graded
    assert (out / "autograded" / "alice" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb").is_file()


def test_restoring_tests_needs_no_execution(fixture_course):
    """prepare_notebook alone: deleted and edited tests come back as the instructor's."""
    spec = build_spec(fixture_course, FIXTURE_ID)
    nb = released(fixture_course)
    nb.cells = [c for c in nb.cells if C.grade_id(c) != "test_add"]
    prepared = prepare_notebook(nb, spec, {"SMOKE": True, "SEED": 0})
    all_roles = [c.metadata["autograde"] for c in prepared.nb.cells if c.cell_type == "code"]
    assert all_roles[0]["role"] == "guard", "the guard's snapshot runs before any student code"
    roles = [r for r in all_roles if r["role"] != "guard"]
    tests = [(r["grade_id"], r["hidden"]) for r in roles if r["role"] == "test"]
    assert tests == [
        ("test_add", False),
        ("test_add", True),
        ("test_mean", False),
        ("test_mean", True),
    ]
    assert roles[1]["role"] == "parameters", "parameters injected after the parameters cell"
    assert not prepared.untrusted


def test_split_test_source_falls_back_to_one_hidden_unit():
    split = C.split_test_source(f"x = 1\n{C.BEGIN_HIDDEN}\nassert x\n{C.END_HIDDEN}\n")
    assert [(s.hidden, s.code.strip()) for s in split] == [(False, "x = 1"), (True, "assert x")]
    nested = f"def f():\n    y = 1\n    {C.BEGIN_HIDDEN}\n    assert y\n    {C.END_HIDDEN}\nf()"
    (only,) = C.split_test_source(nested)
    assert only.hidden and "assert y" in only.code


def test_grade_usage_errors(fixture_course, tmp_path, capsys):
    root = ["--root", str(fixture_course.root)]
    (tmp_path / "empty").mkdir()
    assert main([*root, "grade", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no submissions" in capsys.readouterr().err
    args = [*root, "grade", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]
    assert main([*args, "--assignment", "99_x"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
    assert main([*root, "grade", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "must not be inside" in capsys.readouterr().err


# --- the real course: bundled example submissions ---------------------------------

EXAMPLES = REAL_COURSE.root / "autograde" / "examples"


@pytest.mark.slow
@pytest.mark.skipif(not real_ids(), reason="no released assignment yet")
def test_examples_and_broken_submissions_of_the_real_course(tmp_path):
    """Bundled examples get their expected scores; broken ones are contained."""
    expected = tomllib.loads((EXAMPLES / "expected_scores.toml").read_text())["students"]
    subs = tmp_path / "subs"
    import shutil

    shutil.copytree(EXAMPLES / "submissions", subs)
    assignment_id = next(iter(expected.values()))["assignment"]
    full = nbformat.read(subs / "alice_full" / assignment_id / f"{assignment_id}.ipynb", 4)
    write_submission(subs, "zz_not_json", assignment_id, "{ not json")
    spec = build_spec(REAL_COURSE, assignment_id)
    first = spec.tests[0].grade_id
    tampered = fill_answers(full, {})
    tampered.cells = [c for c in tampered.cells if C.grade_id(c) != first]
    for cell in tampered.cells:
        if C.is_test(cell):
            cell.source = "assert True"
    write_submission(subs, "zz_tampered", assignment_id, tampered)

    out = tmp_path / "out"
    rows = dict(grade_class(REAL_COURSE, subs, out, workers=2))
    for student, want in expected.items():
        got = rows[student]
        assert (got.total, got.status) == (want["total"], want["status"]), got.reason
        assert got.max_total == want["max_total"]
    assert rows["zz_not_json"].status == "invalid_notebook"
    assert rows["zz_tampered"].total == rows["alice_full"].total, rows["zz_tampered"].reason
    hidden = [line for line in spec.hidden_lines if len(line) > 8]
    for page in (out / "feedback").rglob("*.html"):
        text = page.read_text()
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{page} shows hidden test lines {leaked[:3]}"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from autograde.core import grading

    path = tmp_path / "big.ipynb"
    path.write_text("{}" + " " * 2**20)
    monkeypatch.setattr(grading, "MAX_NOTEBOOK_MB", 1)
    with pytest.raises(ValueError, match="over the 1 MiB a notebook may have: clear the outputs"):
        grading._read(path)


@pytest.mark.parametrize("bad", [5, ["x"], {"id": 1}])
def test_a_grade_id_that_is_not_a_string_is_ignored(fixture_course, bad):
    # A list crashed the preparation ("internal grading error"); an int on a cell that
    # raised reached html.escape in the coordinator and stopped the whole class.
    from autograde.core.grading import CellError, GradeResult
    from autograde.core.reports import feedback_html

    spec = build_spec(fixture_course, FIXTURE_ID)
    nb = released(fixture_course)
    nb.cells[0].metadata["nbgrader"] = {"grade_id": bad, "grade": False, "solution": False}
    prepared = prepare_notebook(nb, spec, {})
    roles = [c.metadata["autograde"] for c in prepared.nb.cells if c.cell_type == "code"]
    assert all(r.get("grade_id") is None or isinstance(r["grade_id"], str) for r in roles)
    assert C.grade_id(nb.cells[0]) is None
    error = CellError(1, "other", C.grade_id(nb.cells[0]), "ValueError", "boom")
    assert "ValueError: boom" in feedback_html(
        "s", GradeResult("p", FIXTURE_ID, "graded", errors=(error,))
    )


@pytest.mark.parametrize("version", [4.0, "4", True, 5])
def test_an_nbformat_version_that_is_not_3_or_4_says_so(tmp_path, version):
    # 4.0 passed the check (4.0 == 4) and failed as "invalid notebook structure: AssertionError".
    from autograde.core import grading

    path = tmp_path / "nb.ipynb"
    path.write_text(
        json.dumps({"nbformat": version, "nbformat_minor": 5, "metadata": {}, "cells": []})
    )
    with pytest.raises(ValueError, match=r"not an nbformat 3 or 4 notebook \(nbformat: "):
        grading._read(path)
