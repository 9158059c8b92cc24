"""``autograde grade SUBMISSIONS --out DIR``: grade a class in parallel."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograde.commands.options import add_workers, positive_float
from autograde.core.course import Course
from autograde.core.executor import GradeOptions
from autograde.core.grade import grade_class
from autograde.core.reports import summary

HELP = "grade submissions (<student>/<ID>/<notebook>.ipynb); write grades.csv and feedback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    parser.add_argument("--out", type=Path, required=True, help="folder for grades and feedback")
    parser.add_argument("--assignment", metavar="ID", help="grade only this assignment")
    add_workers(parser)
    parser.add_argument(
        "--cell-timeout",
        type=positive_float,
        default=60.0,
        metavar="S",
        help="seconds per cell (default: %(default)s)",
    )
    parser.add_argument(
        "--notebook-timeout",
        type=positive_float,
        default=300.0,
        metavar="S",
        help="seconds per notebook (default: %(default)s)",
    )


def main(args: argparse.Namespace, course: Course) -> int:
    options = GradeOptions(
        cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, keep_executed=True
    )

    def progress(student: str, result) -> None:
        print(
            f"{student:<20} {result.assignment:<22} {result.total:>5g} / {result.max_total:<5g} "
            f"{result.status}",
            file=sys.stderr,
        )

    rows = grade_class(
        course,
        args.submissions,
        args.out,
        assignment_id=args.assignment,
        workers=args.workers,
        options=options,
        progress=progress,
    )
    print(summary(rows))
    print(f"grades: {args.out / 'grades.csv'}; feedback: {args.out / 'feedback'}")
    return 0 if all(r.status == "graded" for _, r in rows) else 1
