"""Class-scale grading: sequential stock ``nbgrader autograde`` vs ``autograde grade --workers W``.

Generates N submissions of notebook 01 from its released copy (full
solutions, partial ones with a mutant and a blank answer, blank ones, and one
whose answer cell is ``while True: pass``), then grades the same files twice
in one run and compares wall-clock times and total scores per student:

(a) stock nbgrader in a temporary course (source = a copy of the solution,
    ``nbgrader generate_assignment``, then one ``nbgrader autograde`` for the
    whole class, sequential), scores read from its gradebook;
(b) ``autograde grade SUBMISSIONS --out DIR --workers W``, scores read from
    ``DIR/grades.csv``.

Both graders get the same per-cell time limit, and every submission has
``SMOKE = True`` written into its parameters cell (nbgrader has no papermill
parameters), so both do identical work. Usage::

    .venv/bin/python benchmarks/grading.py [--n 20] [--workers 2] [--cell-timeout 20] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograde.core.course import Course
from autograde.core.mutants import fill_answers, load_mutants, solution_answers
from autograde.core.spec import build_spec

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_dp_foundations"
BIN = Path(sys.executable).parent
KINDS = ("correct", "partial", "blank")


def make_submissions(n: int, folder: Path) -> dict[str, str]:
    """Write ``n`` submissions as ``folder/<student>/<id>/<id>.ipynb``; return {student: kind}.

    The first student's notebook times out (the second answer cell is
    ``while True: pass``, the rest is the solution); the others cycle through
    correct, partial (one mutant, taken in turn, plus the last answer left
    blank) and blank. Every copy has ``SMOKE = True`` in its parameters cell.
    """
    course = Course(ROOT)
    spec = build_spec(course, ASSIGNMENT)
    released = nbformat.read(course.released_notebook(ASSIGNMENT), as_version=4)
    answers = solution_answers(nbformat.read(course.source_notebook(ASSIGNMENT), as_version=4))
    mutants = load_mutants(course, spec)
    kinds: dict[str, str] = {}
    for i in range(n):
        kind = "timeout" if i == 0 else KINDS[(i - 1) % len(KINDS)]
        if kind == "timeout":
            nb = fill_answers(released, answers | {spec.answers[1]: "while True:\n    pass"})
        elif kind == "correct":
            nb = fill_answers(released, answers)
        elif kind == "partial":
            mutant = mutants[(i // len(KINDS)) % len(mutants)]
            partial = {k: v for k, v in answers.items() if k != spec.answers[-1]}
            nb = fill_answers(released, partial | dict(mutant.replacements))
        else:
            nb = released
        student = f"s{i:03d}_{kind}"
        kinds[student] = kind
        path = folder / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(set_smoke(nb), path)
    return kinds


def set_smoke(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Copy of ``nb`` whose ``parameters``-tagged cell says ``SMOKE = True``."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1 or "SMOKE = False" not in cells[0].source:
        raise SystemExit(f"{ASSIGNMENT}: expected one parameters cell with `SMOKE = False`")
    cells[0].source = cells[0].source.replace("SMOKE = False", "SMOKE = True")
    return nb


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command`` in ``cwd``; return (wall, CPU) seconds of it and its children, or exit.

    CPU seconds (user + system, kernels included) are the load-independent
    part: other jobs on a shared machine stretch the wall time, not this.
    """
    env = os.environ | {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # alembic
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if done.returncode not in (0, 1):  # autograde: 1 = some submission not plainly graded
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, cpu


def nbgrader_course(work: Path, submissions: Path, cell_timeout: int) -> Path:
    """Temporary nbgrader course: assignment generated, class submitted; return its root."""
    root = work / "nbgrader"
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gradebook.db'}'\n"
        f"c.ExecutePreprocessor.timeout = {cell_timeout}\n"
        f"c.Exchange.root = {str(root / 'exchange')!r}\n",
        encoding="utf-8",
    )
    (root / "exchange").mkdir()
    run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], root)
    if not (root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file():
        sys.exit("nbgrader generate_assignment failed (run it in a course folder to see why)")
    shutil.copytree(submissions, root / "submitted")
    return root


def nbgrader_scores(root: Path, students: list[str]) -> dict[str, float]:
    """Total autograded score per student from the nbgrader gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        return {s: float(gradebook.find_submission(ASSIGNMENT, s).score) for s in students}


def autograde_scores(out: Path) -> tuple[dict[str, float], dict[str, str]]:
    """Total score and status per student from ``out/grades.csv``."""
    with (out / "grades.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {r["student"]: float(r["total"]) for r in rows}, {
        r["student"]: r["status"] for r in rows
    }


def benchmark(n: int, workers: int, cell_timeout: int, repeat: int = 1) -> dict:
    """Generate the class, grade it ``repeat`` times with both tools, return the comparison.

    The order of the two graders alternates between repeats, so a burst of
    load from other jobs does not always hit the same one; times are medians.
    """
    load = [os.getloadavg()[0]]
    times: dict[str, list[tuple[float, float]]] = {"nbgrader": [], "autograde": []}
    disagree: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        kinds = make_submissions(n, work / "submissions")
        students = sorted(kinds)
        root = nbgrader_course(work, work / "submissions", cell_timeout)
        out = work / "autograde-out"
        command = [str(BIN / "autograde"), "grade", str(work / "submissions"), "--out", str(out)]
        command += ["--workers", str(workers), "--cell-timeout", str(cell_timeout)]
        for i in range(repeat):
            for tool in ("nbgrader", "autograde")[:: 1 if i % 2 == 0 else -1]:
                if tool == "nbgrader":
                    nbgrader = [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force"]
                    times[tool].append(run(nbgrader, root))
                else:
                    shutil.rmtree(out, ignore_errors=True)
                    times[tool].append(run(command, ROOT))
                load.append(os.getloadavg()[0])
            theirs = nbgrader_scores(root, students)
            ours, statuses = autograde_scores(out)
            disagree |= {s: [theirs[s], ours.get(s)] for s in students if theirs[s] != ours.get(s)}
    wall = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
    timeout_student = next(s for s, k in kinds.items() if k == "timeout")
    return {
        "submissions": n,
        "workers": workers,
        "nbgrader_s": round(wall["nbgrader"], 1),
        "autograde_s": round(wall["autograde"], 1),
        "speedup": round(wall["nbgrader"] / wall["autograde"], 2),
        "scores_agree": not disagree,
        "disagreements": disagree,
        "timeout_points": {
            "nbgrader": theirs[timeout_student],
            "autograde": ours.get(timeout_student),
            "autograde_status": statuses.get(timeout_student),
        },
        "cell_timeout_s": cell_timeout,
        "kinds": {k: sum(v == k for v in kinds.values()) for k in ("timeout", *KINDS)},
        "repeats": repeat,
        "runs_s": {k: [round(t, 1) for t, _ in v] for k, v in times.items()},
        "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
        "load_avg_1min": [round(x, 1) for x in load],
        "cores": os.cpu_count(),
    }


def print_table(result: dict) -> None:
    """Readable summary of :func:`benchmark`'s record."""
    n, limit = result["submissions"], result["cell_timeout_s"]
    print(f"{n} submissions of {ASSIGNMENT} {result['kinds']}, cell limit {limit} s")
    rows = [
        ("nbgrader autograde (sequential)", result["nbgrader_s"]),
        (f"autograde grade --workers {result['workers']}", result["autograde_s"]),
    ]
    print(f"{'grader':38s} {'seconds':>8s} {'s/submission':>13s} {'CPU s':>8s}")
    for (label, seconds), cpu in zip(rows, result["cpu_s"].values(), strict=True):
        print(f"{label:38s} {seconds:8.1f} {seconds / n:13.2f} {cpu:8.1f}")
    print(f"runs (s): {result['runs_s']}")
    print(f"speedup {result['speedup']:.2f}x; scores agree: {result['scores_agree']}")
    for student, (theirs, ours) in result["disagreements"].items():
        print(f"  {student}: nbgrader {theirs}, autograde {ours}")
    print(f"timeout submission: {result['timeout_points']}")
    load, cores = result["load_avg_1min"], result["cores"]
    print(f"load average (1 min) before/after: {load} on {cores} cores")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print a table or one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="autograde workers")
    parser.add_argument(
        "--cell-timeout", type=int, default=20, help="seconds per cell, both graders"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each grader (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.n < 2 or min(args.workers, args.cell_timeout, args.repeat) < 1:
        parser.error("need --n >= 2 and --workers, --cell-timeout, --repeat >= 1")
    result = benchmark(args.n, args.workers, args.cell_timeout, args.repeat)
    if args.json:
        print(json.dumps(result))
    else:
        print_table(result)


if __name__ == "__main__":
    main()
