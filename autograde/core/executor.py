"""Run many gradings in parallel, each in its own worker process.

The coordinator (this module's caller) owns all output files; workers only
compute :class:`~autograde.core.grading.GradeResult` records and send them
back. One submission that takes its worker process down (rather than just its
kernel) breaks the pool: the unfinished tasks are then retried in a fresh pool,
and a task that breaks the pool twice is reported ``crashed`` so the batch
always finishes.

The task function is :func:`~autograde.core.grading.grade_notebook` with
picklable arguments, so a Dask ``Client.map`` can replace the pool unchanged
(issue 4, ``--scheduler``).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from autograde.core.grading import GradeResult, failed_result, grade_notebook
from autograde.core.spec import AssignmentSpec

__all__ = [
    "GradeTask",
    "GradeOptions",
    "DEFAULT_OPTIONS",
    "pool_context",
    "grade_many",
    "default_workers",
]

_MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade; ``key`` identifies it in the results (e.g. the student)."""

    key: str
    path: str
    spec: AssignmentSpec


@dataclass(frozen=True)
class GradeOptions:
    """Keyword arguments of :func:`grade_notebook` shared by every task."""

    smoke: bool = True
    seed: int = 0
    cell_timeout: float = 60.0
    notebook_timeout: float = 300.0
    keep_executed: bool = False


#: Grading options when none are given (smoke mode, default limits).
DEFAULT_OPTIONS = GradeOptions()


def default_workers() -> int:
    """One worker per core: each grading is one kernel busy on one core."""
    return max(1, os.cpu_count() or 1)


def grade_many(
    tasks: Iterable[GradeTask],
    *,
    workers: int | None = None,
    options: GradeOptions = DEFAULT_OPTIONS,
    on_result: Callable[[GradeTask, GradeResult], None] | None = None,
) -> dict[str, GradeResult]:
    """Grade every task in a process pool; return results by task key.

    Parameters
    ----------
    tasks : iterable of GradeTask
        Keys must be unique.
    workers : int, optional
        Pool size (default: :func:`default_workers`).
    options : GradeOptions
    on_result : callable, optional
        Called in the coordinator as each result arrives (progress, writing files).

    Returns
    -------
    dict
        ``{task.key: GradeResult}`` for every task, in completion order.
    """
    pending = list(tasks)
    keys = [t.key for t in pending]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    results: dict[str, GradeResult] = {}
    attempts = dict.fromkeys(keys, 0)
    workers = workers or default_workers()
    context = pool_context()
    while pending:
        for task in pending:
            attempts[task.key] += 1
        with ProcessPoolExecutor(
            max_workers=min(workers, len(pending)), mp_context=context
        ) as pool:
            futures = {pool.submit(_run, task, options): task for task in pending}
            broken: list[GradeTask] = []
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
                    results[task.key] = result
                    if on_result:
                        on_result(task, result)
        pending = []
        for task in broken:
            if attempts[task.key] < _MAX_ATTEMPTS:
                pending.append(task)
                continue
            result = failed_result(
                task.path,
                task.spec,
                "crashed",
                "the grading worker process died twice on this submission",
            )
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


def _run(task: GradeTask, options: GradeOptions) -> GradeResult:
    return grade_notebook(
        task.path,
        task.spec,
        smoke=options.smoke,
        seed=options.seed,
        cell_timeout=options.cell_timeout,
        notebook_timeout=options.notebook_timeout,
        keep_executed=options.keep_executed,
    )
