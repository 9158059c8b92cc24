"""``autograde export DIR --format canvas|moodle|plain [--out FILE]``: grades for an LMS."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograde.core.course import Course
from autograde.core.export import FORMATS, export_grades, read_grades, status_counts

NEEDS_COURSE = False
HELP = "convert DIR/grades.csv (from `autograde grade`) into a Canvas, Moodle or plain CSV"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "grades", type=Path, metavar="DIR", help="output folder of `grade` (or a grades.csv)"
    )
    parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
    parser.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")


def main(args: argparse.Namespace, course: Course | None = None) -> int:
    path = args.grades if args.grades.suffix == ".csv" else args.grades / "grades.csv"
    rows = read_grades(path)
    text = export_grades(rows, args.fmt)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out} ({args.fmt}): {len(rows)} grade(s), {status_counts(rows)}")
    else:
        sys.stdout.write(text)
    not_graded = [r for r in rows if r.status != "graded"]
    if not_graded:
        print(
            f"note: {len(not_graded)} submission(s) not plainly graded "
            f"(see the status column of {path})",
            file=sys.stderr,
        )
    return 0
