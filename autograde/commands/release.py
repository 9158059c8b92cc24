"""``autograde release [--check] [ID ...]``: regenerate notebooks/ from solutions/."""

from __future__ import annotations

import argparse

from autograde.core.course import Course
from autograde.core.release import check_release, release

HELP = "regenerate the student notebooks in notebooks/ from solutions/ (nbgrader)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if notebooks/ is stale"
    )
    parser.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")


def main(args: argparse.Namespace, course: Course) -> int:
    ids = course.resolve(args.ids)
    if not args.check:
        for assignment_id in ids:
            print(f"released {release(course, assignment_id).relative_to(course.root)}")
        return 0
    stale = [s for s in (check_release(course, a) for a in ids) if s.problems]
    for s in stale:
        print(f"stale: notebooks/{s.assignment_id} (run `autograde release {s.assignment_id}`)")
        for problem in s.problems:
            print(f"  {problem}")
    if not stale:
        print(f"up to date: {', '.join(ids)}")
    return 1 if stale else 0
