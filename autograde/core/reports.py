"""What the coordinator writes: ``grades.csv`` and per-student feedback HTML.

Feedback is built only from the student-safe fields of a
:class:`~autograde.core.grading.GradeResult` (points, visible-test messages,
"hidden test failed", errors raised by the student's own cells); it never
receives a test's source, so it cannot show a hidden test.
"""

from __future__ import annotations

import csv
import html
import statistics
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from autograde.core.grading import STATUSES, GradeResult
from autograde.core.spec import AssignmentSpec

__all__ = ["write_grades_csv", "feedback_html", "write_feedback", "summary", "spreadsheet_safe"]

#: First characters that make a spreadsheet (Excel, LibreOffice, Sheets) read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula.

    Student names are folder names, which the instructor does not choose: a folder
    named ``=cmd|' /C calc'!A0`` must reach grades.csv and the LMS exports as text.

    >>> spreadsheet_safe("=1+1")
    "'=1+1"
    >>> spreadsheet_safe("alice")
    'alice'
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_grades_csv(
    path: Path, rows: Iterable[tuple[str, GradeResult]], specs: dict[str, AssignmentSpec]
) -> None:
    """One row per (student, assignment); one column per test and manual cell.

    Manual cells are left empty (pending); ``total`` and ``max_total`` count
    autograded points only; ``seconds`` is the grading time (the only column
    that differs between two gradings of the same submissions).
    """
    columns: list[str] = []
    for spec in specs.values():
        for gid in [t.grade_id for t in spec.tests] + [m.grade_id for m in spec.manual]:
            if gid not in columns:
                columns.append(gid)
    header = [
        "student",
        "assignment",
        *columns,
        "total",
        "max_total",
        "status",
        "reason",
        "seconds",
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for student, result in sorted(rows, key=lambda r: (r[0], r[1].assignment)):
            points = {t.grade_id: f"{t.points:g}" for t in result.tests}
            writer.writerow(
                [
                    spreadsheet_safe(student),
                    result.assignment,
                    *(points.get(c, "") for c in columns),
                    f"{result.total:g}",
                    f"{result.max_total:g}",
                    result.status,
                    spreadsheet_safe(result.reason),
                    f"{result.seconds:.1f}",
                ]
            )


def write_feedback(out: Path, student: str, result: GradeResult) -> Path:
    """Write ``out/feedback/<student>/<assignment>.html``; return its path."""
    path = out / "feedback" / student / f"{result.assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(student, result), encoding="utf-8")
    return path


def feedback_html(student: str, result: GradeResult) -> str:
    """A self-contained HTML page for one student and assignment."""
    e = html.escape
    rows = []
    for test in result.tests:
        verdict = "passed" if test.passed else f"failed: {test.message or 'error'}"
        rows.append(
            f"<tr class={'pass' if test.passed else 'fail'}><td>{e(test.grade_id)}</td>"
            f"<td>{test.points:g} / {test.max_points:g}</td><td>{e(verdict)}</td></tr>"
        )
    for manual in result.manual:
        rows.append(
            f"<tr class=pending><td>{e(manual.grade_id)}</td><td>pending / {manual.points:g}</td>"
            "<td>needs manual grading</td></tr>"
        )
    errors = "".join(
        f"<li>cell {err.index} ({e(err.role)}{' ' + e(err.grade_id) if err.grade_id else ''}) "
        f"raised <code>{e(err.ename)}: {e(err.evalue)}</code></li>"
        for err in result.errors
    )
    status = e(result.status) + (f" &mdash; {e(result.reason)}" if result.reason else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(result.assignment)} feedback for {e(student)}</title>
<style>
body {{ font-family: sans-serif; max-width: 50em; margin: 2em auto; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; }}
.pass td:last-child {{ color: #1a7f37; }} .fail td:last-child {{ color: #b35806; }}
</style></head><body>
<h1>{e(result.assignment)}: {e(student)}</h1>
<p><strong>Autograded score: {result.total:g} / {result.max_total:g}</strong>
(status: {status})</p>
<table><tr><th>exercise test</th><th>points</th><th>result</th></tr>
{"".join(rows)}
</table>
<p>Hidden tests are reported as passed or failed only.</p>
{f"<h2>Errors raised by your notebook</h2><ul>{errors}</ul>" if errors else ""}
</body></html>
"""


def summary(results: Iterable[tuple[str, GradeResult]], *, slowest: int = 3) -> str:
    """Count per status, mean and median score, the slowest submissions.

    Scores are fractions of each assignment's autograded points. Statuses are
    listed in the order of :data:`~autograde.core.grading.STATUSES` (then any
    other, e.g. from an older results log).
    """
    rows = list(results)
    if not rows:
        return "no submissions graded"
    counts = Counter(r.status for _, r in rows)
    order = [*STATUSES, *sorted(set(counts) - set(STATUSES))]
    fractions = [r.total / r.max_total if r.max_total else 0.0 for _, r in rows]
    timed = sorted((r for r in rows if r[1].seconds > 0), key=lambda r: -r[1].seconds)
    lines = [
        f"{len(rows)} submission(s): " + ", ".join(f"{s} {counts[s]}" for s in order if counts[s]),
        f"score: mean {statistics.mean(fractions):.0%}, median {statistics.median(fractions):.0%}",
    ]
    if timed:
        lines.append(
            "slowest: "
            + ", ".join(f"{s}/{r.assignment} {r.seconds:.1f}s" for s, r in timed[:slowest])
        )
    return "\n".join(lines)
