"""Execute a notebook cell by cell in a fresh kernel, under time limits.

nbclient runs each cell; this module adds what grading needs on top:

* a per-cell limit (the cell is interrupted and execution goes on, so a
  student stuck in one exercise is still graded on the others);
* a per-notebook limit (the kernel is killed and the rest is not run);
* a kernel that dies (``os._exit``, a segfault) ends the run, and every cell
  already executed keeps its outcome;
* a ``skip`` callback, so a hidden test segment is not run after its visible
  segment failed (as in one nbgrader cell, where the first failure stops it).

The kernel is started by jupyter_client in its own session (process group),
in the given working folder, and killed outright at the end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

__all__ = ["CellRun", "NotebookRun", "execute_cells"]

# Environment variables a graded kernel must not inherit: a results file would
# let a submission write into the instructor's run output.
_SCRUBBED_ENV = ("RESPAI_RESULTS_FILE",)
# Name of the synthetic error nbclient reports for a cell that ran out of time.
_TIMEOUT = "AutogradeCellTimeout"


@dataclass(frozen=True)
class CellRun:
    """Outcome of one code cell.

    Attributes
    ----------
    index : int
        Position in the executed notebook.
    status : str
        ``ok``, ``error``, ``timeout`` or ``not_run``.
    ename, evalue : str
        Exception name and value for ``error`` (empty otherwise).
    seconds : float
    """

    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of a whole run: ``status`` is ``completed``, ``timeout`` or ``crashed``."""

    status: str
    reason: str
    cells: dict[int, CellRun]
    seconds: float


def execute_cells(
    nb: nbformat.NotebookNode,
    *,
    cwd: Path,
    cell_timeout: float,
    notebook_timeout: float,
    kernel_name: str = "python3",
    skip: Callable[[int, dict[int, CellRun]], bool] | None = None,
) -> NotebookRun:
    """Run every code cell of ``nb`` (in place: outputs are stored in it).

    Parameters
    ----------
    nb : NotebookNode
    cwd : Path
        Working folder of the kernel.
    cell_timeout, notebook_timeout : float
        Seconds. A cell over ``cell_timeout`` is interrupted and marked
        ``timeout``; when the whole run passes ``notebook_timeout`` the kernel
        is killed and the remaining cells are ``not_run``.
    kernel_name : str
    skip : callable, optional
        ``skip(index, outcomes_so_far)``; True leaves that cell ``not_run``.

    Returns
    -------
    NotebookRun
    """
    start = time.monotonic()
    deadline = start + notebook_timeout
    replies: dict[int, dict] = {}

    def remember_reply(cell, cell_index, execute_reply):  # nbclient hook signature
        replies[cell_index] = execute_reply.get("content", {})

    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        allow_errors=True,
        # On a timeout nbclient interrupts the kernel and carries on with this
        # synthetic reply, keeping its message polling in step with the kernel.
        interrupt_on_timeout=True,
        error_on_timeout={"ename": _TIMEOUT, "evalue": "cell time limit"},
        shutdown_kernel="immediate",
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=remember_reply,
        # Keep the kernel's start-up warnings out of the grading log.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["MPLBACKEND"] = "Agg"
    outcomes: dict[int, CellRun] = {}
    status, reason = "completed", ""
    try:
        with client.setup_kernel(env=env, cwd=str(cwd)):
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if skip is not None and skip(index, outcomes):
                    outcomes[index] = CellRun(index, "not_run")
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status, reason = "timeout", _notebook_limit(notebook_timeout, index)
                    break
                client.timeout = max(1, int(min(cell_timeout, remaining) + 0.999))
                began = time.monotonic()
                try:
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    outcomes[index] = CellRun(index, "error", "DeadKernelError", "kernel died")
                    status, reason = "crashed", f"the kernel died while running cell {index}"
                    break
                outcome = _outcome(index, cell, replies.get(index), time.monotonic() - began)
                outcomes[index] = outcome
                if outcome.status != "timeout":
                    continue
                status = "timeout"
                if cell_timeout >= remaining:
                    reason = _notebook_limit(notebook_timeout, index)
                    break  # leaving the context kills the kernel
                reason = reason or f"cell {index} exceeded the {cell_timeout:g} s cell limit"
    except (DeadKernelError, RuntimeError, TimeoutError) as exc:
        # Kernel failed to start, or died between cells.
        status = "crashed"
        reason = reason or f"kernel failure: {type(exc).__name__}: {exc}"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and index not in outcomes:
            outcomes[index] = CellRun(index, "not_run")
    return NotebookRun(status, reason, outcomes, time.monotonic() - start)


def _outcome(
    index: int, cell: nbformat.NotebookNode, reply: dict | None, seconds: float
) -> CellRun:
    """Failed iff the kernel replied ``error`` or the cell shows an error output."""
    if reply and reply.get("ename") == _TIMEOUT:
        return CellRun(index, "timeout", seconds=seconds)
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if reply and reply.get("status") == "error":
        return CellRun(
            index, "error", str(reply.get("ename", "")), str(reply.get("evalue", "")), seconds
        )
    if errors:
        return CellRun(
            index, "error", errors[0].get("ename", ""), errors[0].get("evalue", ""), seconds
        )
    return CellRun(index, "ok", seconds=seconds)


def _notebook_limit(limit: float, index: int) -> str:
    return f"the notebook exceeded its {limit:g} s limit at cell {index}; the kernel was killed"
