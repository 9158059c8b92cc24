"""Turn ``grades.csv`` into a CSV that a learning-management system imports.

Formats (one row per student unless said otherwise; autograded points only,
manual cells are not included until graded in the gradebook):

``canvas``
    Canvas gradebook import: ``Student, ID, SIS User ID, SIS Login ID,
    Section`` then one column per assignment, named by its id; the second row
    is ``Points Possible`` with each assignment's maximum. Canvas matches a
    row by ``ID``, ``SIS User ID`` or ``SIS Login ID``: the student name of
    the submissions goes into ``Student`` and ``SIS Login ID`` (``ID`` and
    ``SIS User ID`` stay empty), so name submissions by Canvas login. A new
    column creates an assignment with the points of the second row.
``moodle``
    Moodle "Import grades from CSV": ``Identifier`` then one column per
    assignment. In Moodle's import mapping choose *Map from* ``Identifier``
    *to* ``username`` (or ``email address`` when the submissions are named by
    e-mail), and map each assignment column to the grade item of that name.
``plain``
    One row per (student, assignment): ``student, assignment, total, max,
    status``.

A submission that could not be graded has its (partial or zero) total in
every format; ``plain`` also says its status. A cell that starts with ``= + -
@`` (or a tab) gets a leading ``'`` so that a spreadsheet shows it as text
instead of running it as a formula (as in ``grades.csv``).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from autograde.core.errors import UsageError
from autograde.core.grading import STATUSES
from autograde.core.reports import spreadsheet_safe

__all__ = ["FORMATS", "GradeRow", "read_grades", "export_grades", "status_counts"]

FORMATS = ("canvas", "moodle", "plain")
CANVAS_IDS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
_REQUIRED = ("student", "assignment", "total", "max_total", "status")


@dataclass(frozen=True)
class GradeRow:
    """One (student, assignment) line of ``grades.csv``."""

    student: str
    assignment: str
    total: float
    max_total: float
    status: str


def read_grades(path: Path) -> list[GradeRow]:
    """Read ``grades.csv`` (written by ``autograde grade``).

    Raises
    ------
    UsageError
        Missing file, missing columns, a non-numeric score or a repeated
        (student, assignment).
    """
    if not path.is_file():
        raise UsageError(f"{path} does not exist; run `autograde grade ... --out DIR` first")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path} is not a grades.csv of autograde: no column(s) {missing}")
        rows, seen = [], set()
        for line, raw in enumerate(reader, start=2):
            try:
                row = GradeRow(
                    raw["student"],
                    raw["assignment"],
                    float(raw["total"]),
                    float(raw["max_total"]),
                    raw["status"],
                )
            except (TypeError, ValueError):
                raise UsageError(f"{path}:{line}: total and max_total must be numbers") from None
            if (row.student, row.assignment) in seen:
                raise UsageError(f"{path}:{line}: {row.student}/{row.assignment} appears twice")
            seen.add((row.student, row.assignment))
            rows.append(row)
    if not rows:
        raise UsageError(f"{path} has no grades")
    return rows


def export_grades(rows: list[GradeRow], fmt: str) -> str:
    """The CSV text of ``rows`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}; got {fmt!r}")
    buffer = io.StringIO()
    writer = _SafeWriter(csv.writer(buffer, lineterminator="\n"))
    if fmt == "plain":
        writer.writerow(["student", "assignment", "total", "max", "status"])
        for r in sorted(rows, key=lambda r: (r.student, r.assignment)):
            writer.writerow([r.student, r.assignment, f"{r.total:g}", f"{r.max_total:g}", r.status])
        return buffer.getvalue()
    assignments = sorted({r.assignment for r in rows})
    maxima = {a: max(r.max_total for r in rows if r.assignment == a) for a in assignments}
    scores = {(r.student, r.assignment): f"{r.total:g}" for r in rows}
    students = sorted({r.student for r in rows})
    if fmt == "canvas":
        writer.writerow([*CANVAS_IDS, *assignments])
        writer.writerow(
            ["Points Possible", "", "", "", "", *(f"{maxima[a]:g}" for a in assignments)]
        )
        for s in students:
            writer.writerow([s, "", "", s, "", *(scores.get((s, a), "") for a in assignments)])
    else:
        writer.writerow(["Identifier", *assignments])
        for s in students:
            writer.writerow([s, *(scores.get((s, a), "") for a in assignments)])
    return buffer.getvalue()


class _SafeWriter:
    """A csv writer whose text cells cannot start a spreadsheet formula (see spreadsheet_safe)."""

    def __init__(self, writer) -> None:
        self._writer = writer

    def writerow(self, row: list[str]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])


def status_counts(rows: list[GradeRow]) -> str:
    """``"graded 10, timeout 1"``: rows per status in the order of STATUSES."""
    counts = Counter(r.status for r in rows)
    order = [*STATUSES, *sorted(set(counts) - set(STATUSES))]
    return ", ".join(f"{s} {counts[s]}" for s in order if counts[s])
