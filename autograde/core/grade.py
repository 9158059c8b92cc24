"""Grade a class: find submissions, grade them in parallel, write every report.

The coordinator (this function, in the instructor's process) is the only
writer of ``--out``: workers return results and each one is written as it
arrives (feedback, executed copy, a line of ``results.jsonl``), so a crash of
the coordinator loses no finished work; ``grades.csv`` is written at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from autograde.core.course import Course
from autograde.core.errors import UsageError
from autograde.core.executor import DEFAULT_OPTIONS, GradeOptions, GradeTask, grade_many
from autograde.core.grading import GradeResult, failed_result
from autograde.core.reports import write_feedback, write_grades_csv
from autograde.core.spec import AssignmentSpec, build_spec
from autograde.core.submissions import find_submissions

__all__ = ["grade_class"]


def grade_class(
    course: Course,
    submissions: Path,
    out: Path,
    *,
    assignment_id: str | None = None,
    workers: int | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
    progress: Callable[[str, GradeResult], None] | None = None,
) -> list[tuple[str, GradeResult]]:
    """Grade every submission under ``submissions``; write reports under ``out``.

    Writes ``out/grades.csv``, ``out/feedback/<student>/<id>.html``,
    ``out/autograded/<student>/<id>/<id>.ipynb`` (instructor-only: holds hidden
    tests) and ``out/results.jsonl``.

    Returns
    -------
    list of (student, GradeResult)

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
    out.mkdir(parents=True, exist_ok=True)
    log = out / "results.jsonl"
    log.write_text("", encoding="utf-8")
    students = {s.key: s.student for s in found}
    rows: list[tuple[str, GradeResult]] = []

    def record(key: str, result: GradeResult) -> None:
        student = students[key]
        rows.append((student, result))
        write_feedback(out, student, result)
        if result.executed:
            executed = (
                out / "autograded" / student / result.assignment / f"{result.assignment}.ipynb"
            )
            executed.parent.mkdir(parents=True, exist_ok=True)
            executed.write_text(result.executed, encoding="utf-8")
        with log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"student": student, **result.to_dict()}) + "\n")
        if progress:
            progress(student, result)

    for sub in found:
        if sub.problem:
            record(
                sub.key,
                failed_result(
                    str(sub.path), specs[sub.assignment_id], "invalid_notebook", sub.problem
                ),
            )
    tasks = [GradeTask(s.key, str(s.path), specs[s.assignment_id]) for s in found if not s.problem]
    grade_many(
        tasks,
        workers=workers,
        options=options,
        on_result=lambda task, result: record(task.key, result),
    )
    write_grades_csv(out / "grades.csv", rows, specs)
    return sorted(rows, key=lambda r: (r[0], r[1].assignment))
