"""Turn a student's notebook into the notebook that is actually executed.

Grades come from the instructor's test cells, never from the student's copy:

1. every student cell carrying a test grade_id is dropped (edited, duplicated
   or converted copies included), and each instructor test cell is put back
   right after its anchor (the answer cell it follows in the instructor's
   notebook), split into visible and hidden segments;
2. a cell setting the papermill parameters is injected after the cell tagged
   ``parameters`` (as papermill does);
3. every code cell is labelled with its role in ``metadata.autograde``, so
   scoring never has to trust student metadata again.

What was changed is reported as notes; the grade is flagged as untrustworthy
(``tampered``) only when the notebook's structure is lost and a test had to be
appended at the end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from autograde.core import cells as C
from autograde.core import guard
from autograde.core.spec import AssignmentSpec, TestSpec

__all__ = ["Prepared", "prepare_notebook", "ROLE_KEY", "ORIGIN_KEY", "describe_cell"]

ROLE_KEY = "autograde"
#: Position (1-based) of a student cell in the submitted notebook.
ORIGIN_KEY = "autograde_origin"


@dataclass
class Prepared:
    """The notebook to execute, plus what preparation found.

    Attributes
    ----------
    nb : NotebookNode
        Code cells carry ``metadata.autograde = {"role": ..., "grade_id": ...,
        "hidden": ...}``; roles: ``answer``, ``test``, ``parameters``, ``other``.
    notes : list of str
        Human-readable findings (restored cells, missing parameters cell).
    untrusted : list of str
        Findings that make the grade untrustworthy.
    tampered : list of str
        Test cells that were edited, deleted or duplicated. The instructor's
        versions were run, so the points are right, but the submission is
        reported as ``tampered`` for the instructor to look at.
    """

    nb: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)
    untrusted: list[str] = field(default_factory=list)
    tampered: list[str] = field(default_factory=list)


def prepare_notebook(
    student: nbformat.NotebookNode, spec: AssignmentSpec, parameters: dict[str, object]
) -> Prepared:
    """Build the executable notebook for one submission (``student`` is not modified)."""
    prepared = Prepared(nbformat.v4.new_notebook(metadata=copy.deepcopy(student.metadata)))
    test_ids = {t.grade_id for t in spec.tests}
    kept: list[nbformat.NotebookNode] = []
    seen_tests: dict[str, list[int]] = {}
    posing: list[int] = []  # student cells labelled as the grader's test or guard cells
    for position, cell in enumerate(student.cells):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue  # a papermill-executed submission: parameters are ours to set
        gid = C.grade_id(cell)
        if gid in test_ids:
            seen_tests.setdefault(gid, []).append(len(kept))
            _check_test_copy(cell, spec.test(gid), prepared)
            kept.append(_placeholder(gid))
            continue
        kept.append(copy.deepcopy(cell))
        # A role is the grader's to give: a student cell posing as a guard or test cell
        # would escape the tamper scan or count as a test.
        carried = kept[-1].metadata.pop(ROLE_KEY, None)
        if isinstance(carried, dict) and (
            carried.get("role") in ("test", "guard") or {"expression", "nonce"} & set(carried)
        ):
            posing.append(position + 1)
        kept[-1].metadata[ORIGIN_KEY] = position + 1  # 1-based, as a student counts cells
    if posing:  # once, not per cell: a resubmitted executed notebook carries it everywhere
        cells = ", ".join(map(str, posing[:5])) + (" ..." if len(posing) > 5 else "")
        prepared.tampered.append(f"cells {cells} carried the grader's test or guard metadata")
    for test in spec.tests:
        count = len(seen_tests.get(test.grade_id, []))
        if count == 0:
            prepared.tampered.append(f"test cell {test.grade_id!r} was deleted; it was restored")
        elif count > 1:
            prepared.tampered.append(
                f"test cell {test.grade_id!r} appears {count} times; the instructor's ran once"
            )

    cells = _place_tests(kept, spec, seen_tests, prepared)
    cells = _inject_parameters(cells, parameters, prepared)
    snapshot = _guard_cell(guard.snapshot_source(spec.guarded_modules, spec.guarded_names))
    snapshot.metadata[ROLE_KEY]["expression"] = guard.SECRET_EXPRESSION
    prepared.nb.cells = [snapshot, *cells]
    for cell in prepared.nb.cells:
        if cell.cell_type == "code" and ROLE_KEY not in cell.metadata:
            role = "answer" if C.is_answer(cell) else "other"
            cell.metadata[ROLE_KEY] = {"role": role, "grade_id": C.grade_id(cell)}
    return prepared


def _check_test_copy(cell: dict, test: TestSpec, prepared: Prepared) -> None:
    if cell.get("cell_type") != "code" or _norm(cell.get("source", "")) != _norm(
        test.released_source
    ):
        prepared.tampered.append(
            f"test cell {test.grade_id!r} was modified; the instructor's version was used"
        )


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _placeholder(gid: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(metadata={ROLE_KEY: {"placeholder": gid}})


def _place_tests(
    kept: list, spec: AssignmentSpec, seen: dict[str, list[int]], prepared: Prepared
) -> list:
    """Insert each instructor test after its anchor, else where the student had it, else last."""
    positions = {C.grade_id(c): i for i, c in enumerate(kept) if C.grade_id(c)}
    after: dict[int, list[TestSpec]] = {}
    at_end: list[TestSpec] = []
    for test in spec.tests:
        if test.anchor in positions:
            after.setdefault(positions[test.anchor], []).append(test)
        elif seen.get(test.grade_id):
            after.setdefault(seen[test.grade_id][0], []).append(test)
        else:
            at_end.append(test)
            prepared.untrusted.append(
                f"neither test cell {test.grade_id!r} nor the cell before it "
                f"({test.anchor!r}) is in the notebook; the test ran at the end"
            )
    cells: list = []
    for i, cell in enumerate(kept):
        if ROLE_KEY not in cell.metadata or "placeholder" not in cell.metadata[ROLE_KEY]:
            cells.append(cell)
        for test in after.get(i, []):
            cells.extend(_test_cells(test))
    for test in at_end:
        cells.extend(_test_cells(test))
    return cells


def _test_cells(test: TestSpec) -> list:
    """Each test segment, between a restore of the pristine state and its undo.

    The restore is a user expression (see :mod:`autograde.core.guard`) on the
    cell before the segment and on the segment itself, which checks after it
    that nothing was undone while it ran; each carries its own nonce.
    """
    cells = []
    for segment in test.segments:
        restore = _guard_cell(guard.RESTORE_SOURCE)
        restore.metadata[ROLE_KEY].update(_restore_meta())
        cells.append(restore)
        meta = {"role": "test", "grade_id": test.grade_id, "hidden": segment.hidden}
        cells.append(
            nbformat.v4.new_code_cell(segment.code, metadata={ROLE_KEY: meta | _restore_meta()})
        )
        cells.append(_guard_cell(guard.UNSHADOW_SOURCE))
    return cells


def _restore_meta() -> dict[str, str]:
    nonce, expression = guard.restore_expression()
    return {"nonce": nonce, "expression": expression}


def _guard_cell(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, metadata={ROLE_KEY: {"role": "guard"}})


def _inject_parameters(cells: list, parameters: dict[str, object], prepared: Prepared) -> list:
    source = "# Parameters injected by autograde\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items()
    )
    injected = nbformat.v4.new_code_cell(
        source,
        metadata={"tags": ["injected-parameters"], ROLE_KEY: {"role": "parameters"}},
    )
    for i, cell in enumerate(cells):
        if C.PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return [*cells[: i + 1], injected, *cells[i + 1 :]]
    prepared.notes.append("no cell is tagged 'parameters'; parameters were set first")
    return [injected, *cells]


def describe_cell(nb: nbformat.NotebookNode, index: int) -> str:
    """Name cell ``index`` of a prepared notebook the way the student sees it."""
    cell = nb.cells[index]
    meta = cell.metadata.get(ROLE_KEY, {})
    if meta.get("role") == "test":
        part = "hidden part of" if meta.get("hidden") else "visible part of"
        return f"the {part} test {meta['grade_id']!r}"
    if meta.get("role") in ("guard", "parameters"):
        return "a cell added by the grader"
    where = f"cell {cell.metadata[ORIGIN_KEY]}" if ORIGIN_KEY in cell.metadata else "a cell"
    return f"{where} (answer {meta['grade_id']!r})" if meta.get("grade_id") else where
