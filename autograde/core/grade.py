"""Grade a class: find submissions, grade them in parallel, write every report.

The coordinator (this function, in the instructor's process) is the only
writer of ``--out``: workers return results and each one is written as it
arrives (feedback, executed copy, a line of ``results.jsonl``), so a crash of
the coordinator loses no finished work and ``resume=True`` continues where it
stopped. ``grades.csv`` and the nbgrader gradebook are written at the end,
from every result of the run (resumed and new).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

from autograde.core.course import Course
from autograde.core.errors import UsageError
from autograde.core.executor import DEFAULT_OPTIONS, GradeOptions, GradeTask, iter_results
from autograde.core.gradebook import GRADEBOOK, write_gradebook
from autograde.core.grading import GradeResult, failed_result
from autograde.core.reports import write_feedback, write_grades_csv
from autograde.core.results_log import (
    Record,
    append_record,
    file_digest,
    read_records,
    rewrite,
    spec_digest,
)
from autograde.core.spec import AssignmentSpec, build_spec
from autograde.core.submissions import Submission, find_submissions

__all__ = ["grade_class", "ProgressSink", "RESULTS_LOG"]

#: The coordinator's journal inside the output folder.
RESULTS_LOG = "results.jsonl"


class ProgressSink(Protocol):
    """What :func:`grade_class` reports to (see :class:`autograde.core.progress.Progress`)."""

    def start(self, total: int, resumed: int) -> None: ...

    def update(self, student: str, result: GradeResult) -> None: ...


def grade_class(
    course: Course,
    submissions: Path,
    out: Path,
    *,
    assignment_id: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
    resume: bool = False,
    progress: ProgressSink | None = None,
) -> list[tuple[str, GradeResult]]:
    """Grade every submission under ``submissions``; write reports under ``out``.

    Writes ``out/grades.csv``, ``out/gradebook.db`` (nbgrader),
    ``out/feedback/<student>/<id>.html``, ``out/autograded/<student>/<id>/<id>.ipynb``
    (instructor-only: holds hidden tests) and ``out/results.jsonl``.

    Parameters
    ----------
    course : Course
    submissions : Path
        nbgrader layout, or a flat folder of ``<student>.ipynb`` with ``assignment_id``.
    out : Path
    assignment_id : str, optional
        Grade only this assignment.
    workers : int, optional
        Local process pool size (default: one per core).
    scheduler : str, optional
        Dask scheduler address: grade on that cluster instead of locally.
    options : GradeOptions
        Limits; ``submissions`` and ``out`` are added to its hidden paths.
    resume : bool
        Reuse the results in ``out/results.jsonl`` of submissions whose file and
        assignment spec are unchanged; grade only the others.
    progress : ProgressSink, optional

    Returns
    -------
    list of (student, GradeResult)
        Every submission found, sorted by student and assignment.

    Raises
    ------
    UsageError
        Unknown assignment, no submissions, or ``out`` inside ``submissions``.
    """
    if assignment_id:
        course.resolve([assignment_id])
    if out.resolve().is_relative_to(submissions.resolve()):
        raise UsageError(f"--out {out} must not be inside the submissions folder {submissions}")
    found = find_submissions(submissions, assignment_id)
    unknown = sorted({s.assignment_id for s in found} - set(course.assignment_ids()))
    if unknown:
        raise UsageError(
            f"submissions for unknown assignment(s) {', '.join(unknown)}; "
            f"pass --assignment to grade one of {', '.join(course.assignment_ids())}"
        )
    specs: dict[str, AssignmentSpec] = {
        a: build_spec(course, a) for a in sorted({s.assignment_id for s in found})
    }
    options = dataclasses.replace(
        options,
        hidden_paths=(*options.hidden_paths, str(submissions.resolve()), str(out.resolve())),
    )
    out.mkdir(parents=True, exist_ok=True)
    log = out / RESULTS_LOG
    digests = {a: spec_digest(spec) for a, spec in specs.items()}
    fresh = {s.key: (file_digest(s.path), digests[s.assignment_id]) for s in found}
    reused = _reusable(log, fresh) if resume else {}
    rewrite(log, list(reused.values()))
    rows: list[tuple[str, GradeResult]] = []
    for record in reused.values():
        rows.append((record.student, record.result))
        write_feedback(out, record.student, record.result)

    def record(sub: Submission, result: GradeResult) -> None:
        rows.append((sub.student, result))
        write_feedback(out, sub.student, result)
        if result.executed:
            executed = (
                out / "autograded" / sub.student / result.assignment / f"{result.assignment}.ipynb"
            )
            executed.parent.mkdir(parents=True, exist_ok=True)
            executed.write_text(result.executed, encoding="utf-8")
        append_record(log, Record(sub.student, result, *fresh[sub.key]))
        if progress:
            progress.update(sub.student, result)

    todo = [s for s in found if s.key not in reused]
    if progress:
        progress.start(len(todo), len(reused))
    for sub in todo:
        if sub.problem:
            spec = specs[sub.assignment_id]
            record(sub, failed_result(str(sub.path), spec, "invalid_notebook", sub.problem))
    by_key = {s.key: s for s in todo}
    tasks = [GradeTask(s.key, str(s.path), specs[s.assignment_id]) for s in todo if not s.problem]
    for task, result in iter_results(tasks, workers=workers, scheduler=scheduler, options=options):
        record(by_key[task.key], result)
    write_grades_csv(out / "grades.csv", rows, specs)
    write_gradebook(out / GRADEBOOK, course, specs, rows)
    return sorted(rows, key=lambda r: (r[0], r[1].assignment))


def _reusable(log: Path, fresh: dict[str, tuple[str, str]]) -> dict[str, Record]:
    """Logged records of this run's submissions whose file and spec digests are unchanged."""
    logged, _ = read_records(log)
    return {
        key: old
        for key, old in logged.items()
        if fresh.get(key) == (old.submission_sha256, old.spec_sha256)
    }
