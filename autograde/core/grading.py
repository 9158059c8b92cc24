"""Grade one submission: the single function every executor calls.

:func:`grade_notebook` takes a path and an :class:`AssignmentSpec` and returns
a :class:`GradeResult`; both are plain picklable data, so the same call runs
in a local process pool or on a Dask worker. It never writes anywhere but its
own scratch folder, which is deleted afterwards.

Scoring follows nbgrader: a test cell earns its points iff it runs without
error. The cell is executed as separate units (visible part, then hidden part)
so the result says which part failed. For the hidden part only "hidden test
failed" is kept: no source, no traceback, no exception value, since all of
them can reveal the hidden test.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograde import sandbox
from autograde.core.guard import SECRET_EXPRESSION, find_tampering, read_restore, read_secret
from autograde.core.kernel import CellRun, NotebookRun, execute_cells
from autograde.core.prepare import ROLE_KEY, describe_cell, prepare_notebook
from autograde.core.spec import AssignmentSpec, ManualSpec
from respai.results import RESULTS_FILE_ENV, read_results_file
from respai.testing import is_shortcut_message

__all__ = [
    "STATUSES",
    "TestResult",
    "CellError",
    "GradeResult",
    "grade_notebook",
    "HIDDEN_FAILED",
    "failed_result",
]

#: Every status a submission can end with.
STATUSES = ("graded", "timeout", "memory", "crashed", "invalid_notebook", "tampered")
#: Address-space limit of a graded kernel, MiB, unless the caller says otherwise.
DEFAULT_MEMORY_MB = 4096
#: Graded kernels run as uid BASE + the worker's pid: unique among concurrent workers.
_SANDBOX_UID_BASE = 200_000
HIDDEN_FAILED = "hidden test failed"
#: Largest submission read, MiB: a notebook with its outputs is rarely above a few.
MAX_NOTEBOOK_MB = 200
_MAX_MESSAGE = 500
_RESULTS_FILE = ".respai-results.jsonl"


@dataclass(frozen=True)
class TestResult:
    """Score of one test cell.

    ``message`` is safe to show the student: a visible assertion's
    ``Name: value``, :data:`HIDDEN_FAILED`, or why the test did not run.
    """

    grade_id: str
    points: float
    max_points: float
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class CellError:
    """An exception raised by a non-test cell (answer, narrative, parameters)."""

    index: int
    role: str
    grade_id: str | None
    ename: str
    evalue: str


@dataclass(frozen=True)
class GradeResult:
    """Everything known about one graded submission.

    Attributes
    ----------
    submission : str
        Path of the graded file.
    assignment : str
    status : str
        One of :data:`STATUSES`.
    reason : str
        Why the status is not plainly ``graded``, and what was restored.
    tests : tuple of TestResult
    manual : tuple of ManualSpec
        Manually graded cells, pending.
    errors : tuple of CellError
    seconds : float
    executed : str or None
        The executed notebook (JSON, instructor-only: it holds hidden tests).
    recorded : dict
        ``{name: value}`` of ``respai.results.record`` calls, when asked for
        (``record_results``); empty otherwise.
    """

    submission: str
    assignment: str
    status: str
    reason: str = ""
    tests: tuple[TestResult, ...] = ()
    manual: tuple[ManualSpec, ...] = ()
    errors: tuple[CellError, ...] = field(default=())
    seconds: float = 0.0
    executed: str | None = None
    recorded: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return float(sum(t.points for t in self.tests))

    @property
    def max_total(self) -> float:
        return float(sum(t.max_points for t in self.tests))

    @property
    def failed_tests(self) -> list[str]:
        return [t.grade_id for t in self.tests if not t.passed]

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("executed")
        data.pop("recorded")
        return data | {"total": self.total, "max_total": self.max_total}


def grade_notebook(
    submission_path: str | Path,
    assignment: AssignmentSpec,
    *,
    smoke: bool = True,
    seed: int = 0,
    cell_timeout: float = 60.0,
    notebook_timeout: float = 300.0,
    keep_executed: bool = False,
    memory_mb: int | None = None,
    hidden_paths: tuple[str, ...] = (),
    sandboxed: bool = True,
    record_results: bool = False,
) -> GradeResult:
    """Grade one submitted notebook against the instructor's tests.

    Parameters
    ----------
    submission_path : str or Path
    assignment : AssignmentSpec
    smoke : bool, keyword-only
        Value injected as the ``SMOKE`` parameter (grading always uses smoke mode).
    seed : int, keyword-only
        Value injected as ``SEED``.
    cell_timeout, notebook_timeout : float, keyword-only
        Seconds; see :func:`autograde.core.kernel.execute_cells`.
    keep_executed : bool, keyword-only
        Return the executed notebook in ``GradeResult.executed``.
    memory_mb : int, keyword-only
        Address-space limit of the kernel, MiB (default :data:`DEFAULT_MEMORY_MB`).
    hidden_paths : tuple of str, keyword-only
        Folders the kernel must not see (the submissions, the output folder).
        The course root, the grader's working folder and the home folder are
        always hidden; see :func:`sandbox_policy`.
    sandboxed : bool, keyword-only
        Start the kernel through :mod:`autograde.sandbox` (default). Only the
        instructor's own trusted runs may turn it off.
    record_results : bool, keyword-only
        Collect the numbers recorded with ``respai.results.record`` into
        ``GradeResult.recorded`` (through a file in the scratch folder).

    Returns
    -------
    GradeResult
        Never raises for a bad submission: an unreadable notebook is
        ``invalid_notebook``, an internal failure is ``crashed``.
    """
    path = str(submission_path)
    start = time.monotonic()
    try:
        student = _read(Path(path))
    except ValueError as exc:
        return failed_result(
            path, assignment, "invalid_notebook", str(exc), seconds=time.monotonic() - start
        )
    except Exception as exc:  # nothing a file holds may stop the class: report it here
        return failed_result(
            path,
            assignment,
            "invalid_notebook",
            f"not a readable notebook file: {type(exc).__name__}",
            seconds=time.monotonic() - start,
        )
    try:
        return _grade(
            path,
            student,
            assignment,
            start,
            smoke=smoke,
            seed=seed,
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            keep_executed=keep_executed,
            memory_mb=memory_mb or DEFAULT_MEMORY_MB,
            hidden_paths=hidden_paths,
            sandboxed=sandboxed,
            record_results=record_results,
        )
    except Exception as exc:  # a grader bug must not stop the class: report it on this student
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return failed_result(
            path,
            assignment,
            "crashed",
            f"internal grading error: {detail}",
            seconds=time.monotonic() - start,
        )


def failed_result(
    path: str, spec: AssignmentSpec, status: str, reason: str, *, seconds: float = 0.0
) -> GradeResult:
    """A result with no test run: every test scores 0 with "not run"."""
    tests = tuple(TestResult(t.grade_id, 0.0, t.points, False, "not run") for t in spec.tests)
    return GradeResult(
        path, spec.assignment_id, status, reason, tests, spec.manual, seconds=seconds
    )


def _read(path: Path) -> nbformat.NotebookNode:
    """Parse and validate; raise ValueError with a reason the student can act on.

    Accepted beyond what Jupyter writes, since nothing a student made should be
    lost: a byte-order mark (UTF-8, or UTF-16 from a Windows editor) and
    nbformat 3, upgraded to 4 as Jupyter does when it opens one.
    """
    if path.is_symlink():  # it could point at another student's notebook or a solution
        raise ValueError(f"{path.name} is a symbolic link, not a notebook file: not followed")
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO blocks its reader, /dev/zero never ends
            raise ValueError(f"{path.name} is not a regular file (a folder, FIFO or device)")
        size = info.st_size
        if size > MAX_NOTEBOOK_MB * 2**20:
            raise ValueError(
                f"the file is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_MB} MiB a notebook "
                "may have: clear the outputs (Edit > Clear Outputs of All Cells) and submit again"
            )
        raw = _decode(path.read_bytes())
        data = json.loads(raw)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a readable notebook file: {type(exc).__name__}: {exc}") from None
    except RecursionError:
        raise ValueError("not a readable notebook file: JSON nested too deeply") from None
    version = data.get("nbformat") if isinstance(data, dict) else None
    # type(): 4.0 == 4 and True == 1, but nbformat then fails with a bare AssertionError
    if type(version) is not int or version not in (3, 4):
        found = data.get("nbformat") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"not an nbformat 3 or 4 notebook (nbformat: {found!r})")
    try:
        with warnings.catch_warnings():
            # nbformat warns (and repairs) about missing or duplicate cell ids: one line per
            # submission on the grader's terminal, for nothing the grade depends on.
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw, as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for a broken structure
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = message if len(message) <= 200 else message[:200] + " ..."
        raise ValueError(f"invalid notebook structure: {message}") from None
    return nb


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16")
    return content.decode("utf-8-sig")


def _grade(
    path: str,
    student,
    spec: AssignmentSpec,
    start: float,
    *,
    smoke: bool,
    seed: int,
    cell_timeout: float,
    notebook_timeout: float,
    keep_executed: bool,
    memory_mb: int,
    hidden_paths: tuple[str, ...],
    sandboxed: bool,
    record_results: bool,
) -> GradeResult:
    prepared = prepare_notebook(student, spec, {"SMOKE": smoke, "SEED": seed})
    nb = prepared.nb
    tampering = find_tampering(
        [
            (i, cell.source)
            for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and cell.metadata[ROLE_KEY]["role"] in ("answer", "other")
        ],
        spec.guarded_modules,
    )
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        folder = Path(scratch)
        for relative, content in spec.files:
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (folder / "submission.ipynb").write_text(nbformat.writes(student), encoding="utf-8")
        results_file = folder / _RESULTS_FILE
        run = execute_cells(
            nb,
            cwd=folder,
            cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout,
            kernel_name=spec.kernel_name,
            skip=lambda i, done: _after_failed_segment(nb, i, done),
            policy=(
                sandbox.policy_for(
                    folder, memory_mb, hidden_paths, uid=_SANDBOX_UID_BASE + os.getpid()
                )
                if sandboxed
                else None
            ),
            extra_env={RESULTS_FILE_ENV: str(results_file)} if record_results else None,
        )
        recorded = read_results_file(results_file) if record_results else {}
    untrusted, undone = _guard_checks(nb, run)
    snapshot = _snapshot(nb, run)
    if run.status == "completed" and (snapshot is None or snapshot.expression is None):
        # The grader's first cell runs before any student code: its failure is ours.
        why = f"{snapshot.ename}: {snapshot.evalue}" if snapshot and snapshot.ename else "no answer"
        return failed_result(
            path, spec, "crashed",
            f"internal grading error: the grader's set-up cell failed ({why[:200]})",
            seconds=time.monotonic() - start,
        )  # fmt: skip
    tests = tuple(_score(spec, nb, run, untrusted))
    errors = tuple(
        CellError(i, meta["role"], meta.get("grade_id"), r.ename, r.evalue[:_MAX_MESSAGE])
        for i, r in sorted(run.cells.items())
        if r.status == "error" and (meta := nb.cells[i].metadata[ROLE_KEY])["role"] != "test"
    )
    out_of_memory = [e for e in errors if e.ename == "MemoryError"]
    guard_failed = [
        i
        for i, r in run.cells.items()
        if r.status == "error" and nb.cells[i].metadata[ROLE_KEY]["role"] == "guard"
    ]
    findings = [f"reaches into the grader: {finding}" for finding in tampering]
    if guard_failed:
        findings.append("the grader's restore step failed: its state was removed or replaced")
    findings += undone
    tampered = prepared.untrusted + prepared.tampered + findings
    status = {"crashed": "crashed", "timeout": "timeout"}.get(run.status, "graded")
    if status == "graded" and out_of_memory:
        status = "memory"
    if status == "graded" and tampered:
        status = "tampered"
    memory_reason = (
        f"{describe_cell(nb, out_of_memory[0].index)} ran out of memory (limit {memory_mb} MiB)"
        if out_of_memory
        else ""
    )
    run_reason = re.sub(r"\bcell (\d+)", lambda m: describe_cell(nb, int(m.group(1))), run.reason)
    reason = "; ".join(filter(None, [run_reason, memory_reason, *tampered, *prepared.notes]))
    return GradeResult(
        path,
        spec.assignment_id,
        status,
        reason,
        tests,
        spec.manual,
        errors,
        time.monotonic() - start,
        nbformat.writes(nb) if keep_executed else None,
        recorded,
    )


def _test_meta(nb, index: int) -> dict:
    meta = nb.cells[index].metadata.get(ROLE_KEY, {})
    return meta if meta.get("role") == "test" else {}


def _after_failed_segment(nb, index: int, done: dict[int, CellRun]) -> bool:
    """Skip a test segment once an earlier segment of the same test failed."""
    gid = _test_meta(nb, index).get("grade_id")
    return gid is not None and any(
        _test_meta(nb, i).get("grade_id") == gid and r.status != "ok" for i, r in done.items()
    )


def _guard_checks(nb, run: NotebookRun) -> tuple[dict[int, str], list[str]]:
    """Check the restore tokens around every test segment that passed.

    Returns the test cells whose pass cannot be trusted (index -> message for
    the student) and findings for the instructor: what a restore had to undo
    before a test (the test then ran on the pristine state, so it counts), what
    was undone while a test ran, and restores that did not answer (the test
    scores 0 in both of these cases).
    """
    snapshot = _snapshot(nb, run)
    secret = read_secret(snapshot.expression) if snapshot else None
    untrusted: dict[int, str] = {}
    silent: list[str] = []  # tests whose restore did not answer
    before: dict[str, list[str]] = {}  # what was undone -> the tests it was found before
    during: dict[str, list[str]] = {}  # what changed while the tests ran
    for index, outcome in sorted(run.cells.items()):
        meta = _test_meta(nb, index)
        if not meta or outcome.status == "not_run":
            continue
        gid = meta["grade_id"]
        restore = run.cells.get(index - 1)
        found_before = read_restore(
            restore.expression if restore else None,
            secret,
            nb.cells[index - 1].metadata.get(ROLE_KEY, {}).get("nonce", ""),
        )
        for what in found_before or ():  # reported whether the test then passed or not
            before.setdefault(what, []).append(gid)
        if outcome.status != "ok":
            continue  # no points to withhold, and ipykernel evaluates no expression after it
        found_during = read_restore(outcome.expression, secret, meta.get("nonce", ""))
        if restore is not None and restore.status == "timeout":
            # The kernel was still busy with an earlier cell that ran out of time: nothing to
            # say about the submission's honesty, but the test did not run on a clean state.
            untrusted[index] = "not graded: the kernel was still busy from an earlier time limit"
            continue
        if found_before is None:
            untrusted[index] = "not graded: the grader could not restore a clean state before it"
            silent.append(gid)
        if found_during is None or found_during:
            untrusted.setdefault(index, "not graded: the grader's state was changed while it ran")
            for what in found_during or ["the grader's check did not answer"]:
                during.setdefault(what, []).append(gid)
    findings = []
    if silent:
        findings.append(
            f"the grader's restore did not answer (removed, replaced or never ran) before "
            f"{_tests(silent)}: scored 0"
        )
    findings += [f"found undone before {_tests(gids)}: {what}" for what, gids in before.items()]
    findings += [f"while {_tests(gids)} ran: {what}: scored 0" for what, gids in during.items()]
    return untrusted, findings


def _snapshot(nb, run: NotebookRun) -> CellRun | None:
    """The outcome of the grader's snapshot cell (the one whose expression gives the secret)."""
    return next(
        (
            run.cells[i]
            for i, cell in enumerate(nb.cells)
            if i in run.cells
            and cell.metadata.get(ROLE_KEY, {}).get("expression") == SECRET_EXPRESSION
        ),
        None,
    )


def _tests(grade_ids: list[str]) -> str:
    unique = list(dict.fromkeys(grade_ids))
    names = ", ".join(repr(gid) for gid in unique)
    return f"test {names}" if len(unique) == 1 else f"tests {names}"


def _score(spec: AssignmentSpec, nb, run: NotebookRun, untrusted: dict[int, str]):
    for test in spec.tests:
        units = [
            (i, nb.cells[i].metadata[ROLE_KEY]["hidden"])
            for i in sorted(run.cells)
            if _test_meta(nb, i).get("grade_id") == test.grade_id
        ]
        message = ""
        for index, hidden in units:
            outcome = run.cells[index]
            if outcome.status == "ok" and index not in untrusted:
                continue
            message = untrusted.get(index) or _message(outcome, hidden, run)
            break
        passed = bool(units) and not message
        yield TestResult(
            test.grade_id, test.points if passed else 0.0, test.points, passed, message
        )


def _message(outcome: CellRun, hidden: bool, run: NotebookRun) -> str:
    if outcome.status == "not_run":
        return f"not run: {run.reason}" if run.reason else "not run"
    if hidden:
        if outcome.ename == "AssertionError" and is_shortcut_message(outcome.evalue):
            # The anti-shortcut check's text is fixed: safe, and the student must know why.
            return f"{HIDDEN_FAILED}: {outcome.evalue[:_MAX_MESSAGE]}"
        return HIDDEN_FAILED + (" (time limit)" if outcome.status == "timeout" else "")
    if outcome.status == "timeout":
        return "visible test exceeded the time limit"
    text = f"{outcome.ename}: {outcome.evalue}" if outcome.evalue else outcome.ename
    return text[:_MAX_MESSAGE]
