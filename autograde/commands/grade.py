"""``autograde grade SUBMISSIONS --out DIR``: grade a class in parallel, locally or on Dask.

Exit codes: 0 every submission graded; 1 some submission ended with another
status (timeout, memory, crashed, invalid_notebook, tampered); 2 usage error
(bad option, unknown assignment, no submissions, bad config, unreachable
scheduler); 130 interrupted (finished results are kept: rerun with
``--resume``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograde import sandbox
from autograde.commands.options import add_workers, positive_float, positive_int
from autograde.core.config import grade_settings
from autograde.core.course import Course
from autograde.core.executor import GradeOptions
from autograde.core.grade import RESULTS_LOG, grade_class
from autograde.core.progress import Progress
from autograde.core.reports import summary

HELP = (
    "grade submissions (<student>/<ID>/<notebook>.ipynb, or <student>.ipynb with --assignment); "
    "write grades.csv, feedback and the nbgrader gradebook"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    parser.add_argument("--out", type=Path, required=True, help="folder for grades and feedback")
    parser.add_argument(
        "--assignment",
        metavar="ID",
        help="grade only this assignment (required for a flat folder of <student>.ipynb)",
    )
    add_workers(parser, from_config=True)
    parser.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="grade on a Dask cluster at this scheduler address (tcp://HOST:PORT)",
    )
    parser.add_argument(
        "--cell-timeout", type=positive_float, metavar="S", help="seconds per cell (default: 60)"
    )
    parser.add_argument(
        "--notebook-timeout",
        type=positive_float,
        metavar="S",
        help="seconds per notebook (default: 300)",
    )
    parser.add_argument(
        "--memory-mb", type=positive_int, metavar="M", help="memory cap per kernel, MiB"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"keep the results already in DIR/{RESULTS_LOG}; grade only the rest",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.epilog = (
        "Defaults come from [tool.autograde] in the course's pyproject.toml or from "
        "autograde.toml (keys: workers, cell_timeout, notebook_timeout, memory_mb, "
        "scheduler); flags override them. Exit codes: 0 all graded, 1 some submission "
        "not graded, 2 usage error, 130 interrupted."
    )


def main(args: argparse.Namespace, course: Course) -> int:
    settings = grade_settings(
        course.root,
        {
            "workers": args.workers,
            "cell_timeout": args.cell_timeout,
            "notebook_timeout": args.notebook_timeout,
            "memory_mb": args.memory_mb,
            "scheduler": args.scheduler,
        },
    )
    options = GradeOptions(
        cell_timeout=settings.cell_timeout,
        notebook_timeout=settings.notebook_timeout,
        memory_mb=settings.memory_mb,
        keep_executed=True,
    )
    if not args.quiet:
        where = (
            f"Dask cluster {settings.scheduler}"
            if settings.scheduler
            else f"sandbox: {sandbox.isolation_level()}"
        )
        print(f"grading on {where}", file=sys.stderr)
        if not settings.scheduler and sys.platform == "linux" and not sandbox.namespaces_work():
            # Say why kernels get no private view, so an instructor can fix the machine.
            print(f"  no private view: {sandbox.probe_failure()}", file=sys.stderr)
    try:
        with Progress(quiet=args.quiet) as progress:
            rows = grade_class(
                course,
                args.submissions,
                args.out,
                assignment_id=args.assignment,
                workers=settings.workers,
                scheduler=settings.scheduler,
                options=options,
                resume=args.resume,
                progress=progress,
            )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished results are in {args.out / RESULTS_LOG}; "
            "rerun the same command with --resume",
            file=sys.stderr,
        )
        return 130
    print(summary(rows))
    print(
        f"grades: {args.out / 'grades.csv'}; feedback: {args.out / 'feedback'}; "
        f"gradebook: {args.out / 'gradebook.db'}"
    )
    return 0 if all(r.status == "graded" for _, r in rows) else 1
