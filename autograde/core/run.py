"""Execute solution notebooks with papermill and check their headline numbers.

Each notebook runs in a worker process of its own (so each gets its own
``RESPAI_RESULTS_FILE``), in its folder, with ``SMOKE`` and ``SEED`` injected
into the ``parameters`` cell. The numbers it records with
``respai.results.record`` are checked against ``solutions/<id>/claims.toml``.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import papermill
from papermill.exceptions import PapermillExecutionError

from autograde.core.course import Course
from autograde.core.executor import pool_context
from autograde.core.kernel import KERNEL_START_ATTEMPTS

__all__ = ["MODES", "RunResult", "run_notebooks", "write_results", "format_runs"]

MODES = ("smoke", "full")


@dataclass(frozen=True)
class RunResult:
    """Outcome of one solution notebook.

    Attributes
    ----------
    assignment_id : str
    status : str
        ``ok``, ``failed`` (a cell raised, or the kernel died) or
        ``claims_failed`` (ran, but a number is missing or out of range).
    seconds : float
    recorded : dict
        Headline numbers recorded by the notebook.
    problems : list of str
    cell_index : int or None
        Failing cell (papermill's index), with ``ename`` and ``evalue``.
    output : str
        Path of the executed copy.
    """

    assignment_id: str
    status: str
    seconds: float
    recorded: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    cell_index: int | None = None
    ename: str = ""
    evalue: str = ""
    output: str = ""


def run_notebooks(
    course: Course, assignment_ids: list[str], *, mode: str, out: Path, workers: int | None = None
) -> list[RunResult]:
    """Run each notebook in parallel; results in the order of ``assignment_ids``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (
            str(course.source_notebook(a)),
            str(out / f"{a}.ipynb"),
            str(out / f"{a}.results.jsonl"),
            str(course.claims_file(a)),
            a,
            mode,
        )
        for a in assignment_ids
    ]
    context = pool_context()  # workers inherit papermill, already imported here
    size = min(workers or os.cpu_count() or 1, len(jobs))
    with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
        return list(pool.map(_run_one, *zip(*jobs, strict=True)))


def _run_one(
    source: str, output: str, results_file: str, claims: str, assignment_id: str, mode: str
) -> RunResult:
    from respai.results import RESULTS_FILE_ENV, check_claims, read_results_file

    Path(results_file).unlink(missing_ok=True)
    os.environ[RESULTS_FILE_ENV] = results_file  # inherited by the kernel this process starts
    start = time.monotonic()
    # A kernel that fails to start has run no cell yet, so starting it again is fair
    # (seen: two kernels started at once picking the same free TCP port).
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        failure: dict = {}
        try:
            papermill.execute_notebook(
                source,
                output,
                parameters={"SMOKE": mode == "smoke", "SEED": 0},
                kernel_name="python3",
                cwd=str(Path(source).parent),
                progress_bar=False,
                # Forwarded to the kernel: keep its start-up warnings out of the summary.
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except PapermillExecutionError as exc:
            failure = {"cell_index": exc.cell_index, "ename": exc.ename, "evalue": exc.evalue}
        except Exception as exc:  # kernel death, bad notebook: report, don't stop the other runs
            failure = {"ename": type(exc).__name__, "evalue": str(exc)}
            if attempt < KERNEL_START_ATTEMPTS and not _any_cell_started(output):
                continue
        break
    seconds = time.monotonic() - start
    recorded = read_results_file(results_file)
    if failure:
        where = f"cell {failure['cell_index']}: " if failure.get("cell_index") is not None else ""
        problem = f"{where}{failure['ename']}: {failure['evalue']}"
        return RunResult(
            assignment_id, "failed", seconds, recorded, [problem], output=output, **failure
        )
    if Path(claims).is_file():
        problems = check_claims(recorded, claims, mode)
    else:
        problems = [f"no claims table {claims}"] if recorded else []
    status = "claims_failed" if problems else "ok"
    return RunResult(assignment_id, status, seconds, recorded, problems, output=output)


def _any_cell_started(output: str) -> bool:
    """Whether papermill began a cell of ``output``.

    Papermill saves the copy with every cell ``pending`` before it starts the
    kernel, and sets a cell's ``start_time`` when it sends it.
    """
    try:
        nb = json.loads(Path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any(
        cell.get("metadata", {}).get("papermill", {}).get("start_time")
        for cell in nb.get("cells", [])
    )


def write_results(path: Path, mode: str, results: list[RunResult]) -> None:
    """``results.json``: ``{"mode": ..., "notebooks": {id: RunResult fields}}``."""
    data = {"mode": mode, "notebooks": {r.assignment_id: asdict(r) for r in results}}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def format_runs(results: list[RunResult]) -> str:
    """Summary table: notebook, status, seconds, headline numbers; problems below."""
    rows = [("notebook", "status", "seconds", "headline numbers")]
    for r in results:
        numbers = ", ".join(f"{k}={v:.4g}" for k, v in r.recorded.items()) or "-"
        rows.append((r.assignment_id, r.status, f"{r.seconds:.1f}", numbers))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)), row[3]])
        for row in rows
    ]
    lines += [f"  {r.assignment_id}: {p}" for r in results for p in r.problems]
    return "\n".join(lines)
