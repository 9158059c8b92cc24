"""Check that an assignment's tests grade what they claim to grade.

Three kinds of submission are built from the released notebook and graded
through the same executor as ``autograde grade`` (smoke mode, in parallel):

* **solution** (every answer from the instructor notebook) must get full
  autograded marks, and the numbers it records with ``respai.results.record``
  must lie in their ranges of the claims table (``solutions/<id>/claims.toml``,
  smoke mode);
* **blank** (the released notebook as is) must get zero and still run to the
  end: only answer and test cells may raise ("no cascade");
* each **alternative** (solution with one answer written another correct
  way, ``autograde/alternatives/<id>/``) must get full marks too;
* each **mutant** (solution with one plausible mistake) must lose points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.core.course import Course
from autograde.core.executor import DEFAULT_OPTIONS, GradeOptions, GradeTask, grade_many
from autograde.core.grading import GradeResult
from autograde.core.mutants import (
    fill_answers,
    load_alternatives,
    load_mutants,
    solution_answers,
)
from autograde.core.spec import build_spec
from respai.results import check_claims

__all__ = ["Check", "validate", "format_checks"]


@dataclass(frozen=True)
class Check:
    """One validation verdict.

    Attributes
    ----------
    assignment_id : str
    variant : str
        ``solution``, ``blank``, ``alternative:<name>`` or ``mutant:<name>``.
    passed : bool
    points : float
        Points the variant earned.
    max_points : float
    failed_tests : tuple of str
    detail : str
        What went wrong (or the mutant's description), and where the executed
        notebook was written.
    seconds : float
    """

    assignment_id: str
    variant: str
    passed: bool
    points: float
    max_points: float
    failed_tests: tuple[str, ...]
    detail: str
    seconds: float

    @property
    def points_lost(self) -> float:
        return self.max_points - self.points


def validate(
    course: Course,
    assignment_ids: list[str],
    *,
    workdir: Path,
    workers: int | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
) -> list[Check]:
    """Grade solution, blank, alternatives and mutants of each assignment; one check per variant.

    Submissions and their executed copies are written under
    ``workdir/<id>/`` for inspection.
    """
    tasks, descriptions = [], {}
    for assignment_id in assignment_ids:
        spec = build_spec(course, assignment_id)
        released = nbformat.read(course.released_notebook(assignment_id), as_version=4)
        answers = solution_answers(nbformat.read(course.source_notebook(assignment_id), 4))
        variants = {"solution": fill_answers(released, answers), "blank": released}
        for kind, loaded in (
            ("alternative", load_alternatives(course, spec)),
            ("mutant", load_mutants(course, spec)),
        ):
            for answer in loaded:
                variant = f"{kind}:{answer.name}"
                variants[variant] = fill_answers(released, answers | dict(answer.replacements))
                descriptions[(assignment_id, variant)] = answer.description
        folder = workdir / assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        for variant, nb in variants.items():
            path = folder / f"{variant.replace(':', '-')}.ipynb"
            nbformat.write(nb, path)
            tasks.append(GradeTask(f"{assignment_id}/{variant}", str(path), spec))
    options = GradeOptions(
        smoke=options.smoke,
        seed=options.seed,
        cell_timeout=options.cell_timeout,
        notebook_timeout=options.notebook_timeout,
        keep_executed=True,
        record_results=True,
    )
    mode = "smoke" if options.smoke else "full"
    results = grade_many(tasks, workers=workers, options=options)
    checks = []
    for task in tasks:
        assignment_id, variant = task.key.split("/", 1)
        result = results[task.key]
        executed = Path(task.path).with_suffix(".executed.ipynb")
        if result.executed:
            executed.write_text(result.executed, encoding="utf-8")
        description = descriptions.get((assignment_id, variant), "")
        claims = course.claims_file(assignment_id)
        claim_problems = (
            check_claims(result.recorded, claims, mode)
            if variant == "solution" and claims.is_file()
            else []
        )
        checks.append(_judge(assignment_id, variant, result, description, executed, claim_problems))
    return checks


def _judge(
    assignment_id: str,
    variant: str,
    result: GradeResult,
    description: str,
    executed: Path,
    claim_problems: list[str],
) -> Check:
    problems: list[str] = []
    if variant == "solution":
        if not _full_marks(result):
            problems.append(f"expected full marks, got {_summary(result)}")
        problems.extend(f"claims: {p}" for p in claim_problems)
    elif variant.startswith("alternative:"):
        if not _full_marks(result):
            problems.append(
                f"this correct answer ({description}) must keep full marks, got {_summary(result)}"
            )
    elif variant == "blank":
        if result.status != "graded":
            problems.append(f"did not run to the end: {result.status}: {result.reason}")
        if result.total != 0:
            passed = [t.grade_id for t in result.tests if t.passed]
            problems.append(f"expected 0 points; these tests pass on a blank notebook: {passed}")
        cascade = [e for e in result.errors if e.role != "answer"]
        problems.extend(
            f"cascade: cell {e.index} ({e.role}) raised {e.ename}: {e.evalue}" for e in cascade
        )
    elif result.total >= result.max_total:
        problems.append("the mutant keeps full marks: no test catches it")
    if problems:
        problems.append(f"see {executed}")
    detail = "; ".join(problems) or description
    return Check(
        assignment_id,
        variant,
        not problems,
        result.total,
        result.max_total,
        tuple(result.failed_tests),
        detail,
        result.seconds,
    )


def _full_marks(result: GradeResult) -> bool:
    return result.status == "graded" and result.total == result.max_total


def _summary(result: GradeResult) -> str:
    failing = "; ".join(f"{t.grade_id}: {t.message}" for t in result.tests if not t.passed)
    text = f"{result.total:g}/{result.max_total:g} ({result.status})"
    if result.reason:
        text += f" [{result.reason}]"
    errors = "; ".join(f"cell {e.index} {e.ename}: {e.evalue}" for e in result.errors)
    return " ".join(filter(None, [text, failing, errors and f"errors: {errors}"]))


def format_checks(checks: list[Check]) -> str:
    """A plain-text table: one line per variant, failures explained below it."""
    rows = [("assignment", "variant", "verdict", "points", "lost", "failed tests", "seconds")]
    for c in checks:
        rows.append(
            (
                c.assignment_id,
                c.variant,
                "ok" if c.passed else "FAIL",
                f"{c.points:g}/{c.max_points:g}",
                f"{c.points_lost:g}",
                ",".join(c.failed_tests) or "-",
                f"{c.seconds:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    failures = [f"FAIL {c.assignment_id} {c.variant}: {c.detail}" for c in checks if not c.passed]
    return "\n".join(lines + ([""] + failures if failures else []))
