"""Run many gradings in parallel: a local process pool or a Dask cluster.

The coordinator (this module's caller) owns all output files; workers only
compute :class:`~autograde.core.grading.GradeResult` records and send them
back. :func:`iter_results` is the one entry point: it yields each result as
it completes, from one of two backends that run the same task,
:func:`~autograde.core.grading.grade_notebook`:

* **local** (default): a process pool. One submission that takes its worker
  process down (rather than just its kernel) breaks the pool: the unfinished
  tasks are then retried in a fresh pool, and a task that breaks the pool
  twice is reported ``crashed`` so the batch always finishes.
* **dask** (``scheduler="tcp://HOST:PORT"``): ``Client.map`` on a Dask
  distributed cluster. Each task carries the notebook's bytes and the
  assignment spec (instructor tests and released files, scattered once), so a
  worker needs only the course's locked environment, no shared file system.
  A task that kills its Dask worker more often than the scheduler allows
  (``KilledWorker``) is reported ``crashed``; losing the cluster itself is an
  error, and ``--resume`` continues from the results already written. A
  scheduler with no worker for :data:`DASK_WORKER_WAIT_S` seconds is a usage
  error, not a wait without end.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from autograde.core.errors import AutogradeError, UsageError
from autograde.core.grading import GradeResult, failed_result, grade_notebook
from autograde.core.spec import AssignmentSpec

__all__ = [
    "GradeTask",
    "GradeOptions",
    "DEFAULT_OPTIONS",
    "pool_context",
    "iter_results",
    "grade_many",
    "default_workers",
]

_MAX_ATTEMPTS = 2
#: Seconds to wait for a Dask scheduler to have at least one worker.
DASK_WORKER_WAIT_S = 300.0  # queued clusters (dask-jobqueue) take minutes


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade; ``key`` identifies it in the results (e.g. the student)."""

    key: str
    path: str
    spec: AssignmentSpec


@dataclass(frozen=True)
class GradeOptions:
    """Keyword arguments of :func:`grade_notebook` shared by every task.

    ``memory_mb=None`` keeps grade_notebook's default; ``hidden_paths`` are
    folders the graded kernels must not see (the submissions, the output);
    ``record_results`` collects the numbers the notebook records with
    ``respai.results.record`` (``autograde validate`` checks the solution's
    against the claims table).
    """

    smoke: bool = True
    seed: int = 0
    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    keep_executed: bool = False
    memory_mb: int | None = None
    hidden_paths: tuple[str, ...] = ()
    record_results: bool = False


#: Grading options when none are given (smoke mode, default limits).
DEFAULT_OPTIONS = GradeOptions()


def default_workers() -> int:
    """One worker per core: each grading is one kernel busy on one core."""
    return max(1, os.cpu_count() or 1)


def iter_results(
    tasks: Iterable[GradeTask],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
) -> Iterator[tuple[GradeTask, GradeResult]]:
    """Grade every task; yield ``(task, result)`` in completion order.

    Parameters
    ----------
    tasks : iterable of GradeTask
        Keys must be unique.
    workers : int, optional
        Local pool size (default: :func:`default_workers`); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://HOST:PORT``): grade there instead.
    options : GradeOptions

    Raises
    ------
    ValueError
        Repeated task keys.
    UsageError
        ``scheduler`` given but Dask is not installed or the scheduler is unreachable.
    AutogradeError
        The Dask cluster went away during the run (results so far were yielded).
    """
    pending = list(tasks)
    keys = [t.key for t in pending]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    if not pending:
        return
    if scheduler:
        yield from _dask_results(pending, scheduler, options)
    else:
        yield from _pool_results(pending, workers or default_workers(), options)


def grade_many(
    tasks: Iterable[GradeTask],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
    on_result: Callable[[GradeTask, GradeResult], None] | None = None,
) -> dict[str, GradeResult]:
    """Grade every task; return ``{task.key: GradeResult}`` in completion order.

    ``on_result`` is called in the coordinator as each result arrives
    (progress, writing files). See :func:`iter_results` for the rest.
    """
    results: dict[str, GradeResult] = {}
    for task, result in iter_results(tasks, workers=workers, scheduler=scheduler, options=options):
        results[task.key] = result
        if on_result:
            on_result(task, result)
    return results


def pool_context() -> multiprocessing.context.BaseContext:
    """Fork where available: workers inherit the coordinator's imports.

    Importing nbformat costs seconds (its JSON-schema validator), which spawn
    would pay again in every worker. The coordinator starts no threads before
    the pool, so forking it is safe; submissions never run in these processes
    anyway, only in the kernels they start.
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


# --- local process pool -------------------------------------------------------


def _pool_results(
    pending: list[GradeTask], workers: int, options: GradeOptions
) -> Iterator[tuple[GradeTask, GradeResult]]:
    attempts = {t.key: 0 for t in pending}
    context = pool_context()
    while pending:
        for task in pending:
            attempts[task.key] += 1
        broken: list[GradeTask] = []
        with ProcessPoolExecutor(
            max_workers=min(workers, len(pending)), mp_context=context
        ) as pool:
            futures = {pool.submit(_run, task.path, task.spec, options): task for task in pending}
            waiting = set(futures)
            while waiting:
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                for future in done:
                    task = futures[future]
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken.append(task)
                        continue
                    except Exception as exc:  # grade_notebook should not raise; if it does,
                        # that submission is reported and the class goes on.
                        result = failed_result(
                            task.path,
                            task.spec,
                            "crashed",
                            f"internal grading error: {type(exc).__name__}: {str(exc)[:200]}",
                        )
                    yield task, result
        pending = []
        for task in broken:
            if attempts[task.key] < _MAX_ATTEMPTS:
                pending.append(task)
                continue
            yield (
                task,
                failed_result(
                    task.path,
                    task.spec,
                    "crashed",
                    "the grading worker process died twice on this submission",
                ),
            )


def _run(path: str, spec: AssignmentSpec, options: GradeOptions) -> GradeResult:
    return grade_notebook(
        path,
        spec,
        smoke=options.smoke,
        seed=options.seed,
        cell_timeout=options.cell_timeout,
        notebook_timeout=options.notebook_timeout,
        keep_executed=options.keep_executed,
        memory_mb=options.memory_mb,
        hidden_paths=options.hidden_paths,
        record_results=options.record_results,
    )


# --- Dask distributed -----------------------------------------------------------


@dataclass(frozen=True)
class _Shipped:
    """A submission sent to a Dask worker: its bytes, or None if unreadable here."""

    path: str
    content: bytes | None


def _run_shipped(shipped: _Shipped, spec: AssignmentSpec, options: GradeOptions) -> GradeResult:
    """On a Dask worker: write the notebook into a private folder, grade it there."""
    if shipped.content is None:  # let grade_notebook report why it cannot be read
        return _run(shipped.path, spec, options)
    with tempfile.TemporaryDirectory(prefix="autograde-submission-") as folder:
        local = Path(folder) / "submission.ipynb"
        local.write_bytes(shipped.content)
        extra = dataclasses.replace(options, hidden_paths=(*options.hidden_paths, folder))
        result = _run(str(local), spec, extra)
    return dataclasses.replace(result, submission=shipped.path)


def _ship(task: GradeTask) -> _Shipped:
    try:
        return _Shipped(task.path, Path(task.path).read_bytes())
    except OSError:
        return _Shipped(task.path, None)


def _dask_results(
    pending: list[GradeTask], scheduler: str, options: GradeOptions
) -> Iterator[tuple[GradeTask, GradeResult]]:
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise UsageError(
            "--scheduler needs Dask: pip install 'dask[distributed]' (or respai[grading])"
        ) from None
    try:
        client = Client(scheduler)  # connect timeout: distributed.comm.timeouts.connect
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=DASK_WORKER_WAIT_S)
        except TimeoutError:
            raise UsageError(
                f"the Dask scheduler at {scheduler} has no workers (waited "
                f"{DASK_WORKER_WAIT_S:g} s): start them on the grading machines with "
                f"`dask worker {scheduler}`, in the course's environment"
            ) from None
        specs = {}
        for task in pending:
            if task.spec.assignment_id not in specs:
                specs[task.spec.assignment_id] = client.scatter(task.spec, broadcast=True)
        futures = {
            client.submit(
                _run_shipped, _ship(task), specs[task.spec.assignment_id], options, pure=False
            ): task
            for task in pending
        }
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except KilledWorker as exc:
                result = failed_result(
                    task.path,
                    task.spec,
                    "crashed",
                    f"the submission killed its Dask workers: {exc}",
                )
            except Exception as exc:  # grade_notebook never raises: the cluster failed
                raise AutogradeError(
                    f"the Dask cluster at {scheduler} failed ({type(exc).__name__}: {exc}); "
                    "rerun with --resume to grade the rest"
                ) from exc
            yield task, result
