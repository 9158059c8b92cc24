"""``autograde grade`` at class scale: flat layout, config, resume, gradebook, summary.

One batch of three notebook executions (module fixture, through the CLI);
every other test reuses its output or replaces the grading with a stub.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograde.cli import EXIT_FAILURE, EXIT_USAGE, main
from autograde.core import executor
from autograde.core import grade as grade_module
from autograde.core.config import grade_settings, load_config
from autograde.core.errors import UsageError
from autograde.core.executor import GradeOptions
from autograde.core.grade import RESULTS_LOG, grade_class
from autograde.core.grading import STATUSES
from autograde.core.mutants import fill_answers, solution_answers
from autograde.core.progress import Progress
from autograde.core.reports import summary
from autograde.core.results_log import read_records
from autograde.core.spec import build_spec
from autograde.core.submissions import find_submissions
from tests.autograde.course_helpers import FIXTURE_ID, released

EXPECTED = {  # student (sanitised file stem): (total, status)
    "alice": (5.0, "graded"),
    "bob": (2.0, "graded"),
    "carol": (0.0, "graded"),
    "Dave_Jones": (0.0, "invalid_notebook"),
}


def write_flat_class(course, folder: Path) -> None:
    """An LMS download: <student>.ipynb files in one folder."""
    folder.mkdir(parents=True)
    blank = released(course)
    full = fill_answers(
        blank, solution_answers(nbformat.read(course.source_notebook(FIXTURE_ID), 4))
    )
    nbformat.write(full, folder / "alice.ipynb")
    nbformat.write(
        fill_answers(full, {"mean": "def mean(xs):\n    return 0"}), folder / "bob.ipynb"
    )
    nbformat.write(blank, folder / "carol.ipynb")
    (folder / "Dave Jones.ipynb").write_text("{ not json", encoding="utf-8")


def read_csv(path: Path) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def without_timing(rows: dict[str, dict]) -> dict[str, dict]:
    return {s: {k: v for k, v in row.items() if k != "seconds"} for s, row in rows.items()}


@pytest.fixture(scope="module")
def graded(fixture_course, tmp_path_factory):
    root = tmp_path_factory.mktemp("flat")
    write_flat_class(fixture_course, root / "download")
    out = root / "out"
    code = main(
        ["--root", str(fixture_course.root), "grade", str(root / "download"), "--out", str(out)]
        + ["--assignment", FIXTURE_ID, "--workers", "2", "--quiet", "--memory-mb", "2048"]
    )
    return code, root / "download", out


def test_flat_download_is_graded_by_file_name(graded):
    code, _, out = graded
    assert code == EXIT_FAILURE, "one submission is not a notebook"
    rows = read_csv(out / "grades.csv")
    got = {s: (float(r["total"]), r["status"]) for s, r in rows.items()}
    assert got == EXPECTED
    assert float(rows["alice"]["seconds"]) > 0
    assert (out / "feedback" / "Dave_Jones" / f"{FIXTURE_ID}.html").is_file()


def test_gradebook_holds_the_autograded_scores(graded):
    from nbgrader.api import Gradebook

    _, _, out = graded
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gradebook:
        assert sorted(s.id for s in gradebook.students) == sorted(EXPECTED)
        bob = gradebook.find_submission(FIXTURE_ID, "bob")
        assert bob.score == 2.0 and bob.max_score == 6.0, "manual points count in the maximum"
        grades = {g.name: g for n in bob.notebooks for g in n.grades}
        assert (grades["test_add"].auto_score, grades["test_mean"].auto_score) == (2.0, 0.0)
        assert grades["explain"].auto_score is None and grades["explain"].needs_manual_grade
        assert gradebook.find_grade("test_mean", FIXTURE_ID, FIXTURE_ID, "alice").score == 3.0


def test_summary_counts_every_status(graded):
    _, _, out = graded
    records, broken = read_records(out / RESULTS_LOG)
    assert broken == 0 and len(records) == len(EXPECTED)
    text = summary([(r.student, r.result) for r in records.values()])
    assert "4 submission(s): graded 3, invalid_notebook 1" in text
    assert "mean 35%, median 20%" in text and "slowest: " in text
    assert list(STATUSES[:1]) == ["graded"]


def test_resume_grades_only_what_is_missing_or_changed(
    graded, fixture_course, tmp_path, monkeypatch
):
    """An interrupted run: bob never logged, carol's line cut short, alice resubmitted."""
    _, download, out = graded
    subs, resumed = tmp_path / "download", tmp_path / "out"
    shutil.copytree(download, subs)
    shutil.copytree(out, resumed)
    (subs / "alice.ipynb").write_text((subs / "alice.ipynb").read_text() + "\n")
    lines = (out / RESULTS_LOG).read_text().splitlines()
    kept = [json.loads(line) for line in lines if json.loads(line)["student"] != "bob"]
    text = "".join(json.dumps(r) + "\n" for r in kept if r["student"] != "carol")
    carol = json.dumps(next(r for r in kept if r["student"] == "carol"))
    (resumed / RESULTS_LOG).write_text(text + carol[: len(carol) // 2])
    (resumed / "grades.csv").unlink()

    originals = {r.student: r.result for r in read_records(out / RESULTS_LOG)[0].values()}
    sent = []

    def stub(tasks, **kwargs):  # instead of executing: hand back the first run's result
        for task in tasks:
            sent.append(task.key.split("/")[0])
            yield task, originals[task.key.split("/")[0]]

    monkeypatch.setattr(grade_module, "iter_results", stub)
    rows = grade_class(fixture_course, subs, resumed, assignment_id=FIXTURE_ID, resume=True)
    assert sorted(sent) == ["alice", "bob", "carol"]
    assert [s for s, _ in rows] == sorted(EXPECTED)
    assert without_timing(read_csv(resumed / "grades.csv")) == without_timing(
        read_csv(out / "grades.csv")
    )
    assert sorted(read_records(resumed / RESULTS_LOG)[0]) == sorted(
        f"{s}/{FIXTURE_ID}" for s in EXPECTED
    )
    sent.clear()  # everything is logged now: nothing left to grade
    grade_class(fixture_course, subs, resumed, assignment_id=FIXTURE_ID, resume=True)
    assert sent == []
    grade_class(fixture_course, subs, resumed, assignment_id=FIXTURE_ID)  # no --resume: all
    assert sorted(sent) == sorted(EXPECTED)


def test_flat_layout_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match="no submissions"):
        find_submissions(empty, FIXTURE_ID)
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ("Ann Lee.ipynb", "Ann_Lee.ipynb"):
        (flat / name).write_text("{}")
    with pytest.raises(UsageError, match="pass --assignment"):
        find_submissions(flat)
    with pytest.raises(UsageError, match="same student name"):
        find_submissions(flat, FIXTURE_ID)
    (flat / "Ann Lee.ipynb").unlink()
    (flat / "zed" / FIXTURE_ID).mkdir(parents=True)
    with pytest.raises(UsageError, match="mixes"):
        find_submissions(flat, FIXTURE_ID)


def test_config_defaults_and_overrides(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.autograde]\nworkers = 3\ncell_timeout = 5\n'
        'scheduler = "tcp://sched:8786"\n'
    )
    settings = grade_settings(tmp_path, {"cell_timeout": 7.0, "memory_mb": None})
    assert (settings.workers, settings.cell_timeout, settings.notebook_timeout) == (3, 7.0, 300.0)
    assert settings.scheduler == "tcp://sched:8786" and settings.memory_mb is None
    (tmp_path / "autograde.toml").write_text("workers = 2\n")
    with pytest.raises(UsageError, match="both"):
        load_config(tmp_path)
    (tmp_path / "pyproject.toml").unlink()
    assert load_config(tmp_path)[0] == {"workers": 2}
    for text, match in [
        ("worker = 2\n", "'worker' is unknown"),
        ("memory_mb = 0\n", "integer >= 1"),
        ("cell_timeout = 'long'\n", "seconds > 0"),
        ("workers = [\n", "cannot read"),
    ]:
        (tmp_path / "autograde.toml").write_text(text)
        with pytest.raises(UsageError, match=match):
            load_config(tmp_path)


def test_cli_merges_config_and_flags(tmp_path, monkeypatch, capsys):
    from autograde.commands import grade as command

    (tmp_path / "solutions").mkdir()
    (tmp_path / "autograde.toml").write_text("memory_mb = 1024\nnotebook_timeout = 99\n")
    seen = {}

    def fake_grade_class(course, submissions, out, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(command, "grade_class", fake_grade_class)
    args = ["--root", str(tmp_path), "grade", "subs", "--out", "o", "--quiet"]
    assert main([*args, "--cell-timeout", "4", "--workers", "1"]) == 0
    options = seen["options"]
    assert (options.memory_mb, options.notebook_timeout, options.cell_timeout) == (1024, 99, 4)
    assert seen["workers"] == 1 and seen["scheduler"] is None and not seen["resume"]
    assert main([*args, "--memory-mb", "512", "--resume"]) == 0
    assert seen["options"].memory_mb == 512 and seen["resume"]
    (tmp_path / "autograde.toml").write_text("cell_timout = 4\n")
    assert main(args) == EXIT_USAGE
    assert "'cell_timout' is unknown" in capsys.readouterr().err


def test_memory_limit_reaches_grade_notebook(fixture_course, monkeypatch):
    calls = []
    monkeypatch.setattr(executor, "grade_notebook", lambda *a, **kw: calls.append(kw))
    spec = build_spec(fixture_course, FIXTURE_ID)
    executor._run("x.ipynb", spec, GradeOptions(memory_mb=123, hidden_paths=("/h",)))
    assert calls[0]["memory_mb"] == 123 and calls[0]["hidden_paths"] == ("/h",)


def test_progress_bar_lines_and_quiet(graded):
    _, _, out = graded
    results = [(r.student, r.result) for r in read_records(out / RESULTS_LOG)[0].values()]
    for bar, quiet, expect in [
        (True, False, "4/4"),
        (False, False, "invalid_notebook"),
        (None, True, ""),
    ]:
        stream = io.StringIO()
        with Progress(quiet=quiet, stream=stream, bar=bar) as progress:
            progress.start(len(results), resumed=1)
            for student, result in results:
                progress.update(student, result)
        text = stream.getvalue()
        assert (expect in text) if expect else text == ""
        assert progress.counts["graded"] == 3


def test_symbolic_links_are_reported_not_followed(tmp_path):
    # From an unpacked archive a link could point at another student's work or a solution.
    nested = tmp_path / "nested"
    target = nested / "alice" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb"
    target.parent.mkdir(parents=True)
    target.write_text("{}")
    (nested / "bob" / FIXTURE_ID).mkdir(parents=True)
    (nested / "bob" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb").symlink_to(target)
    (nested / "carol").symlink_to(nested / "alice")
    (nested / "dave").mkdir()
    (nested / "dave" / FIXTURE_ID).symlink_to(target.parent)
    problems = {s.student: s.problem for s in find_submissions(nested, FIXTURE_ID)}
    assert problems["alice"] == ""
    for student in ("bob", "carol", "dave"):
        assert "symbolic link" in problems[student], (student, problems[student])
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "erin.ipynb").write_text("{}")
    (flat / "frank.ipynb").symlink_to(flat / "erin.ipynb")
    problems = {s.student: s.problem for s in find_submissions(flat, FIXTURE_ID)}
    assert problems == {"erin": "", "frank": problems["frank"]}
    assert "symbolic link" in problems["frank"]


def test_fifos_devices_and_folders_are_reported_never_opened(fixture_course, tmp_path, monkeypatch):
    # Read, a FIFO blocks the coordinator forever and /dev/zero fills its memory.
    import os
    import signal

    subs = tmp_path / "subs"
    for student in ("fifo", "zero", "folder"):
        (subs / student / FIXTURE_ID).mkdir(parents=True)
    os.mkfifo(subs / "fifo" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb")
    (subs / "zero" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb").symlink_to("/dev/zero")
    (subs / "folder" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb").mkdir()
    problems = {s.student: s.problem for s in find_submissions(subs, FIXTURE_ID)}
    assert "a FIFO, socket or device, not a notebook file" in problems["fifo"]
    assert "symbolic link" in problems["zero"]
    assert "is a folder, not a notebook file" in problems["folder"]
    monkeypatch.setattr(grade_module, "iter_results", lambda tasks, **kwargs: iter(()))
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("reading a submission blocked"))
    signal.alarm(20)
    try:
        rows = dict(grade_class(fixture_course, subs, tmp_path / "out", assignment_id=FIXTURE_ID))
    finally:
        signal.alarm(0)
    assert {s: r.status for s, r in rows.items()} == dict.fromkeys(problems, "invalid_notebook")
    from autograde.core.grading import _read

    with pytest.raises(ValueError, match="not a regular file"):
        _read(subs / "fifo" / FIXTURE_ID / f"{FIXTURE_ID}.ipynb")


def test_a_flat_download_reports_every_notebook_name(tmp_path):
    # A folder or FIFO named <student>.ipynb was skipped: no row, no status, exit code 0.
    import os

    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "erin.ipynb").write_text("{}")
    (flat / "frank.ipynb").mkdir()
    os.mkfifo(flat / "gina.ipynb")
    problems = {s.student: s.problem for s in find_submissions(flat, FIXTURE_ID)}
    assert sorted(problems) == ["erin", "frank", "gina"]
    assert problems["erin"] == ""
    assert "is a folder, not a notebook file" in problems["frank"]
    assert "a FIFO, socket or device, not a notebook file" in problems["gina"]


def test_a_log_line_with_fields_of_the_wrong_type_is_graded_again(graded, tmp_path):
    # Points as strings (a hand edit) were reused, and summing them crashed the whole --resume.
    _, _, out = graded
    lines = (out / RESULTS_LOG).read_text().splitlines()
    good = json.loads(lines[0])
    key = f"{good['student']}/{good['assignment']}"
    assert key in read_records(out / RESULTS_LOG)[0]
    log = tmp_path / RESULTS_LOG
    for field, value in [("points", "3"), ("passed", "yes"), ("max_points", None)]:
        bad = json.loads(lines[0])
        bad["tests"][0][field] = value
        log.write_text(json.dumps(bad) + "\n")
        assert read_records(log) == ({}, 1), field
    for field, value in [("tests", {"a": 1}), ("student", 7), ("seconds", "1"), ("status", [])]:
        bad = json.loads(lines[0]) | {field: value}
        log.write_text(json.dumps(bad) + "\n" + "[1, 2]\nnull\n")
        assert read_records(log) == ({}, 3), field
    log.write_text(lines[0] + "\n")
    assert list(read_records(log)[0]) == [key]
