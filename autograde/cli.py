"""``autograde``: the instructor's command line. Every subcommand is registered here.

Usage::

    autograde [--root DIR] release  [--check] [ID ...]
    autograde [--root DIR] run      [--mode smoke|full] [--out DIR] [--workers N] [ID ...]
    autograde [--root DIR] validate [--workers N] [ID ...]
    autograde [--root DIR] grade    SUBMISSIONS --out DIR [--assignment ID] [--workers N]
                                    [--scheduler ADDR] [--cell-timeout S]
                                    [--notebook-timeout S] [--memory-mb M] [--resume] [--quiet]
    autograde export DIR --format canvas|moodle|plain [--out FILE]

Exit codes: 0 everything passed; 1 a check found a failure (stale release,
failed notebook or claim, a validation that fails, a submission that could not
be graded); 2 usage error (unknown assignment, missing folder, bad option,
malformed instructor file or config); ``grade`` returns 130 when interrupted
(rerun it with ``--resume``).

Each subcommand is a module in :mod:`autograde.commands` with ``HELP``,
``add_arguments(parser)`` and ``main(args, course) -> int``; the work is done
in :mod:`autograde.core`. A module with ``NEEDS_COURSE = False`` (``export``)
runs outside a course and gets ``course=None``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograde.commands import export, grade, release, run, validate
from autograde.core.course import Course, find_course_root
from autograde.core.errors import AutogradeError

__all__ = ["COMMANDS", "main", "build_parser", "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

#: The one registry of subcommands: name -> module.
COMMANDS = {
    "release": release,
    "run": run,
    "validate": validate,
    "grade": grade,
    "export": export,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autograde",
        description="Release, run, validate and grade the course notebooks.",
        epilog="exit codes: 0 ok, 1 failure found, 2 usage error",
    )
    parser.add_argument(
        "--root", type=Path, help="course repository (default: nearest folder with solutions/)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the subcommand, return its exit code."""
    args = build_parser().parse_args(argv)  # argparse exits with 2 on bad usage
    try:
        module = COMMANDS[args.command]
        course = None
        if getattr(module, "NEEDS_COURSE", True):
            course = Course(args.root.resolve() if args.root else find_course_root())
        return module.main(args, course)
    except AutogradeError as exc:
        print(f"autograde {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
