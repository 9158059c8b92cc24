"""``autograde run [--mode smoke|full] [--out DIR] [ID ...]``: execute solution notebooks."""

from __future__ import annotations

import argparse
from pathlib import Path

from autograde.commands.options import add_workers
from autograde.core.course import Course
from autograde.core.run import MODES, format_runs, run_notebooks, write_results

HELP = "execute solution notebooks with papermill and check their headline numbers"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default="smoke", help="default: %(default)s")
    parser.add_argument("--out", type=Path, help="output folder (default: <root>/_build/run)")
    add_workers(parser)
    parser.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")


def main(args: argparse.Namespace, course: Course) -> int:
    ids = course.resolve(args.ids)
    out = args.out or course.build_dir / "run"
    results = run_notebooks(course, ids, mode=args.mode, out=out, workers=args.workers)
    write_results(out / "results.json", args.mode, results)
    print(format_runs(results))
    print(f"executed copies and results.json in {out}")
    return 0 if all(r.status == "ok" for r in results) else 1
