"""nbgrader cell roles and the text regions inside them.

nbgrader (schema 3) marks cells in ``metadata.nbgrader``:

=============================  ========  ===========  ===================
role                           grade     solution     graded by
=============================  ========  ===========  ===================
autograded answer              false     true         the test cells
autograder test                true      false        runs without error
manually graded answer / task  true      true / task  a human
=============================  ========  ===========  ===================

Test cells may hold a hidden region between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS``; answer cells hold ``### BEGIN SOLUTION`` /
``### END SOLUTION``. Both are stripped from the released notebook.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

__all__ = [
    "BEGIN_HIDDEN",
    "END_HIDDEN",
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "Segment",
    "nbgrader_meta",
    "grade_id",
    "is_test",
    "is_answer",
    "is_manual",
    "split_test_source",
    "region_lines",
    "strip_outputs",
    "PARAMETERS_TAG",
]

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
PARAMETERS_TAG = "parameters"


def nbgrader_meta(cell: dict) -> dict:
    """The cell's ``metadata.nbgrader`` dict (empty when absent or malformed)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade_id; None when absent or not a string.

    A submission's metadata is the student's: a list there made ``gid in test_ids``
    raise, an int reached ``html.escape`` in the feedback and stopped the class.
    """
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test(cell: dict) -> bool:
    """An autograder test cell: graded, not a solution, code."""
    meta = nbgrader_meta(cell)
    return (
        cell.get("cell_type") == "code"
        and bool(meta.get("grade"))
        and not meta.get("solution")
        and not meta.get("task")
    )


def is_answer(cell: dict) -> bool:
    """An autograded answer cell (student code, scored through the test cells)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution")) and not meta.get("grade")


def is_manual(cell: dict) -> bool:
    """A manually graded answer or task cell: points that a person gives."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and (bool(meta.get("solution")) or bool(meta.get("task")))


@dataclass(frozen=True)
class Segment:
    """A run of consecutive lines of a test cell, executed as one unit.

    Attributes
    ----------
    hidden : bool
        True for lines between the hidden-test markers (markers dropped).
    code : str
    """

    hidden: bool
    code: str


def split_test_source(source: str) -> tuple[Segment, ...]:
    """Split an instructor test cell into visible and hidden segments, in order.

    Executing the segments one by one tells which part of the cell failed, so
    feedback can show a visible assertion message and say only "hidden test
    failed" for the rest.

    Returns
    -------
    tuple of Segment
        Empty segments are dropped. If a segment is not valid Python on its own
        (a hidden block indented inside a function, say), a single hidden
        segment with the whole cell is returned: any failure is then reported
        without detail, which never leaks the hidden part.
    """
    segments: list[Segment] = []
    lines: list[str] = []
    hidden = False
    for line in source.splitlines():
        marker = line.strip()
        if marker in (BEGIN_HIDDEN, END_HIDDEN):
            segments.append(Segment(hidden, "\n".join(lines)))
            lines, hidden = [], marker == BEGIN_HIDDEN
            continue
        lines.append(line)
    segments.append(Segment(hidden, "\n".join(lines)))
    kept = tuple(s for s in segments if s.code.strip())
    try:
        for segment in kept:
            compile(segment.code, "<test>", "exec")
    except SyntaxError:
        body = "\n".join(
            ln for ln in source.splitlines() if ln.strip() not in (BEGIN_HIDDEN, END_HIDDEN)
        )
        return (Segment(True, body),)
    return kept


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """Non-blank lines strictly between ``begin`` and ``end`` markers (stripped)."""
    found, inside = [], False
    for line in source.splitlines():
        marker = line.strip()
        if marker == begin:
            inside = True
        elif marker == end:
            inside = False
        elif inside and marker:
            found.append(marker)
    return found


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy without outputs, execution counts and run-time metadata."""
    clean = copy.deepcopy(nb)
    for cell in clean.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for volatile in ("execution", "papermill", "ExecuteTime"):
            cell.metadata.pop(volatile, None)
    clean.metadata.pop("papermill", None)
    return clean
