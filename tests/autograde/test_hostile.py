"""Grade a class of hostile and broken submissions in one batch (issue 4).

Every case must get its status and points, nothing it does may reach the
grades, the gradebook, other students or the course, and the feedback never
shows a hidden test.
"""

from __future__ import annotations

import csv
import hashlib
import html
import os
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main as autograde
from autograde.core.cells import split_test_source
from respai.testing import SHORTCUT_PREFIX
from tests.autograde.course_helpers import REAL_COURSE
from tests.autograde.hostile_corpus import (
    ASSIGNMENT,
    CELL_TIMEOUT,
    NOTEBOOK_TIMEOUT,
    write_corpus,
)

pytestmark = pytest.mark.slow

PROTECTED = [
    REAL_COURSE.root / "lib" / "respai" / "__init__.py",
    REAL_COURSE.source_notebook(ASSIGNMENT),
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    submissions, out = root / "submissions", root / "out"
    cases = write_corpus(submissions, out)
    before = {path: digest(path) for path in PROTECTED}
    victim = submissions / "a_full" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    victim_before = digest(victim)
    code = autograde(
        [
            "--root",
            str(REAL_COURSE.root),
            "grade",
            str(submissions),
            "--out",
            str(out),
            "--workers",
            "2",
            "--cell-timeout",
            str(CELL_TIMEOUT),
            "--notebook-timeout",
            str(NOTEBOOK_TIMEOUT),
        ]
    )
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return {
        "code": code,
        "cases": cases,
        "rows": rows,
        "out": out,
        "protected_before": before,
        "victim": (victim, victim_before),
    }


def test_every_case_gets_its_status_and_points(batch):
    wrong = []
    for student, case in batch["cases"].items():
        row = batch["rows"].get(student)
        if row is None:
            wrong.append(f"{student}: missing from grades.csv")
            continue
        allowed = (case.status,) if isinstance(case.status, str) else case.status
        points = (case.points,) if isinstance(case.points, int) else case.points
        if row["status"] not in allowed or float(row["total"]) not in points:
            wrong.append(
                f"{student}: got {row['status']} {row['total']}, expected {allowed} "
                f"{points} ({case.why}); reason: {row['reason']}"
            )
    assert not wrong, "\n".join(wrong)
    assert batch["code"] == 1, "grade exits 1 when some submission is not 'graded'"


def test_every_unusual_status_has_a_reason(batch):
    for student, row in batch["rows"].items():
        if row["status"] != "graded":
            assert row["reason"].strip(), f"{student} is {row['status']} without a reason"


def test_nothing_outside_the_scratch_folder_was_written(batch):
    for path, before in batch["protected_before"].items():
        assert digest(path) == before, f"{path} was modified by a submission"
    assert not (REAL_COURSE.root / "HACKED.txt").exists()
    victim, before = batch["victim"]
    assert digest(victim) == before, "another student's submission was modified"
    assert "mallory" not in (batch["out"] / "grades.csv").read_text()


def test_instructor_files_are_invisible_to_the_kernel(batch):
    executed = batch["out"] / "autograded" / "v_reads_hidden_tests" / ASSIGNMENT
    outputs = ""
    for path in executed.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            outputs += "".join(o.get("text", "") for o in cell.get("outputs", []))
    assert "blocked FileNotFoundError" in outputs
    assert "LEAKED" not in outputs


def test_feedback_never_shows_hidden_tests(batch):
    source = nbformat.read(REAL_COURSE.source_notebook(ASSIGNMENT), as_version=4)
    hidden_lines = set()
    for cell in source.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            for segment in split_test_source(cell.source):
                if segment.hidden:
                    hidden_lines.update(
                        line.strip() for line in segment.code.splitlines() if len(line.strip()) > 12
                    )
    assert hidden_lines
    pages = list((batch["out"] / "feedback").rglob("*.html"))
    assert len(pages) >= len(batch["cases"]) - 3  # unreadable notebooks may get a short page
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))  # quotes come escaped
        leaked = [line for line in hidden_lines if line in text]
        assert not leaked, f"{page} shows hidden test code: {leaked[:2]}"


def test_shortcut_answer_is_told_why(batch):
    page = batch["out"] / "feedback" / "e_calls_reference" / f"{ASSIGNMENT}.html"
    assert SHORTCUT_PREFIX in page.read_text(encoding="utf-8")


def test_huge_output_is_truncated(batch):
    page = batch["out"] / "feedback" / "m_100mb_output" / f"{ASSIGNMENT}.html"
    assert page.stat().st_size < 1_000_000
    executed = batch["out"] / "autograded" / "m_100mb_output" / ASSIGNMENT
    assert all(p.stat().st_size < 5_000_000 for p in executed.glob("*.ipynb"))


@pytest.mark.skipif(os.geteuid() != 0, reason="per-submission uids need root")
def test_no_process_survives_its_submission(batch):
    # A kernel runs as uid 200000 + (pid of the grading process). The batch's grading
    # processes have exited, so any process left with their uids survived its submission.
    # Kernels of graders still alive (other tests running in parallel) are not leftovers.
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
            except FileNotFoundError:
                continue
            if uid >= 200_000 and not Path(f"/proc/{uid - 200_000}").exists():
                leftovers.append(f"pid {entry.name} (uid {uid})")
    assert not leftovers, f"processes of graded kernels still running: {leftovers}"
