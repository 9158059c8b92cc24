"""``autograde validate [--workers N] [ID ...]``: do the tests grade what they should?"""

from __future__ import annotations

import argparse

from autograde.commands.options import add_workers, positive_float
from autograde.core.course import Course
from autograde.core.executor import GradeOptions
from autograde.core.validate import format_checks, validate

HELP = (
    "solution and alternatives get full marks, blank gets zero and runs to the end, "
    "every mutant loses points"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workers(parser)
    parser.add_argument("--cell-timeout", type=positive_float, default=60.0, metavar="S")
    parser.add_argument("--notebook-timeout", type=positive_float, default=300.0, metavar="S")
    parser.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")


def main(args: argparse.Namespace, course: Course) -> int:
    ids = course.resolve(args.ids)
    options = GradeOptions(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout)
    checks = validate(
        course, ids, workdir=course.build_dir / "validate", workers=args.workers, options=options
    )
    print(format_checks(checks))
    return 0 if all(c.passed for c in checks) else 1
