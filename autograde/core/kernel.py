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
in the given working folder, and killed outright at the end. Its own stdout
and stderr (what C code or ``os.write(1, ...)`` writes past IPython's
capture) go to a pipe that the grader drains, keeping only the end: they
never reach the grader's terminal, and the end says why a kernel that failed
to start died.
"""

from __future__ import annotations

import dataclasses
import os
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets import default

from autograde import sandbox

__all__ = ["CellRun", "NotebookRun", "execute_cells"]

# Environment variables a graded kernel must not inherit: a results file would
# let a submission write into the instructor's run output.
_SCRUBBED_ENV = ("RESPAI_RESULTS_FILE", sandbox.ENV_VAR)
#: Tries to start a kernel before a submission is reported ``crashed`` (or a
#: notebook run ``failed``, :mod:`autograde.core.run`): a start can lose a race
#: for its ZMQ ports with another kernel starting at the same moment.
KERNEL_START_ATTEMPTS = 3
#: How often the drain of a kernel's output checks that the grader has closed it, s.
_DRAIN_POLL_S = 0.2
_GUARD_CELL_TIMEOUT = 60.0
_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# Name of the synthetic error nbclient reports for a cell that ran out of time.
_TIMEOUT = "AutogradeCellTimeout"
#: Roles (``metadata.autograde.role``) of the cells run without entering IPython's history.
_UNRECORDED = ("test", "guard")
#: Key of the one user expression a cell may carry (``metadata.autograde.expression``).
_EXPRESSION_KEY = "autograde"
#: Longest Unix socket prefix used, bytes (the system's limit is 107, and "-<n>" is added).
_MAX_SOCKET_PATH = 100
_CONNECTION_FILE = sandbox.CONNECTION_FILE  # in the scratch folder: the sandbox hides ~
#: Bytes of the kernel process's own stdout/stderr kept for the reason of a failed start.
_KERNEL_OUTPUT_TAIL = 2000


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
    expression : str or None
        For a cell whose ``metadata.autograde.expression`` names a Python
        expression: the plain-text value of that expression, evaluated in the
        kernel right after the cell ran without error (None otherwise).
    """

    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    expression: str | None = None


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
    policy: sandbox.SandboxPolicy | None = None,
    output_limit: int = 1_000_000,
    extra_env: dict[str, str] | None = None,
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
    policy : SandboxPolicy, optional
        Start the kernel through :mod:`autograde.sandbox` with these limits;
        every process left by its uid is killed at the end.
    output_limit : int
        Bytes of output kept per cell; the rest is dropped (a submission that
        prints 100 MB must not fill the grader's memory or the feedback).
    extra_env : dict, optional
        Environment variables for the kernel, set after the grader's own
        (e.g. where ``respai.results.record`` writes).

    Returns
    -------
    NotebookRun
    """
    start = time.monotonic()
    deadline = start + notebook_timeout
    replies: dict[int, dict] = {}

    def remember_reply(cell, cell_index, execute_reply):  # nbclient hook signature
        replies[cell_index] = _bounded_error(execute_reply.get("content", {}), output_limit)

    def new_client() -> _BoundedClient:
        return _BoundedClient(
            nb,
            output_limit=output_limit,
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
    # Graders run several kernels at once: one BLAS/OpenMP thread each, or
    # they oversubscribe the cores (15x slower sklearn fits were measured).
    env.update({name: "1" for name in _THREAD_VARIABLES})
    sockets = str(Path(cwd) / ".kernel")  # Unix socket prefix of a kernel without network
    if policy is not None and not policy.network and len(os.fsencode(sockets)) >= _MAX_SOCKET_PATH:
        # A Unix socket path has at most 107 bytes ("-<n>" is added): with a long TMPDIR
        # the kernel keeps the network and is reached over TCP instead.
        policy = dataclasses.replace(policy, network=True)
    if policy is not None:
        env[sandbox.ENV_VAR] = policy.to_env()
        env["HOME"] = str(cwd)
        env["MPLCONFIGDIR"] = str(Path(cwd) / ".matplotlib")
        env["IPYTHONDIR"] = str(Path(cwd) / ".ipython")
    env.update(extra_env or {})
    outcomes: dict[int, CellRun] = {}
    status, reason = "completed", ""
    kernel_output = _OutputTail(_KERNEL_OUTPUT_TAIL)
    try:
        # A kernel that fails to start has run no student code yet, so starting it again is
        # fair; seen: two kernels started at once picking the same free TCP port.
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            client = new_client()
            if policy is not None:
                client.kernel_manager_class = _sandboxed_manager(
                    Path(cwd), socket_prefix=None if policy.network else sockets
                )
            started = False
            try:
                with client.setup_kernel(
                    env=env, cwd=str(cwd), stdout=kernel_output.fd, stderr=kernel_output.fd
                ):
                    started = True
                    status, reason = _run_cells(
                        client, nb, outcomes, replies.get, skip, cell_timeout, notebook_timeout,
                        deadline,
                    )  # fmt: skip
            except (DeadKernelError, RuntimeError, TimeoutError) as exc:
                if not started and attempt < KERNEL_START_ATTEMPTS:
                    continue
                # Kernel failed to start, or died between cells.
                status = "crashed"
                said = kernel_output.text()
                reason = reason or f"kernel failure: {type(exc).__name__}: {exc}" + (
                    f"; the kernel printed: {said}" if said and not started else ""
                )
            finally:
                if policy is not None and policy.uid is not None and os.geteuid() == 0:
                    sandbox.kill_uid(policy.uid)  # children that left the kernel's process group
            break
    finally:
        kernel_output.close()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and index not in outcomes:
            outcomes[index] = CellRun(index, "not_run")
    return NotebookRun(status, reason, outcomes, time.monotonic() - start)


def _run_cells(
    client: NotebookClient,
    nb: nbformat.NotebookNode,
    outcomes: dict[int, CellRun],
    reply_of: Callable[[int], dict | None],
    skip: Callable[[int, dict[int, CellRun]], bool] | None,
    cell_timeout: float,
    notebook_timeout: float,
    deadline: float,
) -> tuple[str, str]:
    """Run the code cells in a started kernel, filling ``outcomes``; return (status, reason)."""
    status, reason = "completed", ""
    expression: list[str | None] = [None]
    send = client.kc.execute

    def execute(code, **kwargs):
        # A user expression is evaluated by ipykernel after the cell, by a plain eval():
        # no input or AST transformer a submission installed touches it.
        if expression[0]:
            kwargs["user_expressions"] = {_EXPRESSION_KEY: expression[0]}
        return send(code, **kwargs)

    client.kc.execute = execute
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if skip is not None and skip(index, outcomes):
            outcomes[index] = CellRun(index, "not_run")
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", _notebook_limit(notebook_timeout, index)
        meta = cell.metadata.get("autograde", {})
        limit = cell_timeout
        if meta.get("role") == "guard":
            # The grader's own cells (importing numpy, scipy, pandas for the
            # snapshot) must not eat the student's per-cell allowance.
            limit = max(cell_timeout, _GUARD_CELL_TIMEOUT)
        client.timeout = max(1, int(min(limit, remaining) + 0.999))
        expression[0] = meta.get("expression")
        began = time.monotonic()
        try:
            # Neither the instructor's tests nor the grader's cells enter IPython's history
            # (In, _ih, _i<n>), where a later answer cell could read the hidden tests.
            client.execute_cell(cell, index, store_history=meta.get("role") not in _UNRECORDED)
        except DeadKernelError:
            outcomes[index] = CellRun(index, "error", "DeadKernelError", "kernel died")
            return "crashed", f"the kernel died while running cell {index}"
        outcome = _outcome(index, cell, reply_of(index), time.monotonic() - began)
        outcomes[index] = outcome
        if outcome.status != "timeout":
            continue
        if limit >= remaining:
            return "timeout", _notebook_limit(notebook_timeout, index)  # the kernel is killed
        status = "timeout"
        reason = reason or f"cell {index} exceeded the {cell_timeout:g} s cell limit"
    return status, reason


class _OutputTail:
    """A pipe for a kernel's stdout and stderr, drained by a thread that keeps the last bytes.

    Draining means a kernel that floods its file descriptors never blocks and never
    fills a disk or the grader's terminal; the tail is kept for error reasons.
    """

    def __init__(self, limit: int) -> None:
        self._reader, self.fd = os.pipe()
        self._limit = limit
        self._tail = b""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        # Stops at close(), though a child that left the kernel's process group (not killed
        # where the kernel has no uid of its own) may still hold the pipe: its writes then
        # fail, and neither this thread nor the pipe outlives the notebook.
        with open(self._reader, "rb", buffering=0) as pipe:
            while not self._closed.is_set():
                if select.select([pipe], [], [], _DRAIN_POLL_S)[0]:
                    chunk = pipe.read(65536)
                    if not chunk:  # every writer is gone
                        return
                    self._tail = (self._tail + chunk)[-self._limit :]

    def text(self) -> str:
        return self._tail.decode("utf-8", "replace").strip()

    def close(self) -> None:
        """Close the grader's end and stop the drain (read :meth:`text` before)."""
        os.close(self.fd)
        self._closed.set()


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel through :mod:`autograde.sandbox`."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return sandbox.wrap_command(super().format_kernel_cmd(extra_arguments))


def _sandboxed_manager(
    scratch: Path, *, socket_prefix: str | None
) -> type[_SandboxedKernelManager]:
    """A sandboxed manager whose connection file lives in the kernel's scratch folder.

    The sandbox gives the kernel an empty /tmp (where nbclient writes connection
    files) and hides the home folder (Jupyter's runtime folder): the scratch
    folder is the one place both sides see. With ``socket_prefix`` (a kernel
    without network) the kernel is reached over Unix sockets
    ``<socket_prefix>-<n>`` instead of TCP.
    """

    class _ScratchKernelManager(_SandboxedKernelManager):
        @default("connection_file")
        def _default_connection_file(self) -> str:
            return str(scratch / _CONNECTION_FILE)

        if socket_prefix is not None:

            @default("transport")
            def _default_transport(self) -> str:
                return "ipc"

            @default("ip")
            def _default_ip(self) -> str:
                return socket_prefix

    return _ScratchKernelManager


class _BoundedClient(NotebookClient):
    """An nbclient that keeps at most ``output_limit`` bytes of output per cell."""

    def __init__(self, nb, *, output_limit: int, **kwargs) -> None:
        super().__init__(nb, **kwargs)
        self._output_limit = output_limit
        self._output_bytes: dict[int, int] = {}

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "error":
            # Errors are always kept (they decide the grade), but bounded: an exception
            # whose message is 300 MB would otherwise be copied into the reply, the
            # executed notebook and the feedback.
            msg = {**msg, "content": _bounded_error(msg.get("content", {}), self._output_limit)}
        size = len(str(msg.get("content", "")))
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if msg["msg_type"] != "error" and used + size > self._output_limit:
            if used <= self._output_limit:
                notice = nbformat.v4.new_output(
                    "stream",
                    name="stderr",
                    text=f"[autograde: output beyond {self._output_limit:,} bytes dropped]\n",
                )
                outs.append(notice)
            return None
        return super().output(outs, msg, display_id, cell_index)


#: Characters kept of an exception's name.
_MAX_ENAME = 200


def _bounded_error(content: dict, limit: int) -> dict:
    """``content`` of an error message or reply with ``ename``, ``evalue`` and ``traceback``
    cut to about ``limit`` characters together (the rest is dropped, and says so)."""
    if not any(key in content for key in ("ename", "evalue", "traceback")):
        return content
    bounded = dict(content)
    ename = str(content.get("ename", ""))
    if len(ename) > _MAX_ENAME:
        bounded["ename"] = ename[:_MAX_ENAME] + "..."
    budget = max(limit // 2, 1)
    evalue = str(content.get("evalue", ""))
    if len(evalue) > budget:
        bounded["evalue"] = (
            evalue[:budget] + f" [autograde: {len(evalue) - budget:,} characters dropped]"
        )
    lines, used = [], 0
    traceback = content.get("traceback") or []
    for line in traceback if isinstance(traceback, list) else [str(traceback)]:
        line = str(line)
        if used + len(line) > budget:
            lines.append(line[: max(budget - used, 0)] + "\n[autograde: traceback cut]")
            break
        lines.append(line)
        used += len(line)
    if "traceback" in content:
        bounded["traceback"] = lines
    return bounded


def _outcome(
    index: int, cell: nbformat.NotebookNode, reply: dict | None, seconds: float
) -> CellRun:
    """Failed iff the kernel replied ``error`` or the cell shows an error output."""
    if reply and reply.get("ename") == _TIMEOUT:
        return CellRun(index, "timeout", seconds=seconds)
    evaluated = (reply or {}).get("user_expressions", {}).get(_EXPRESSION_KEY, {})
    expression = (
        evaluated.get("data", {}).get("text/plain") if evaluated.get("status") == "ok" else None
    )
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if reply and reply.get("status") == "error":
        return CellRun(
            index, "error", str(reply.get("ename", "")), str(reply.get("evalue", "")), seconds
        )
    if errors:
        return CellRun(
            index, "error", errors[0].get("ename", ""), errors[0].get("evalue", ""), seconds
        )
    return CellRun(index, "ok", seconds=seconds, expression=expression)


def _notebook_limit(limit: float, index: int) -> str:
    return f"the notebook exceeded its {limit:g} s limit at cell {index}; the kernel was killed"
