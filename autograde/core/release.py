"""Generate student notebooks from the instructor sources with nbgrader.

nbgrader's ``generate_assignment`` does the stripping (solutions, hidden
tests, outputs) and computes checksums. It always runs in a temporary course
root without a gradebook (nbgrader's ``--no-db``), so no database ever lands in
the repository;
the result is then either installed into ``notebooks/`` or compared with it
(``--check``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.core.cells import strip_outputs
from autograde.core.course import Course
from autograde.core.errors import SpecError

__all__ = ["NOT_RELEASED", "generate", "release", "check_release", "Staleness"]

#: Files of a source folder that students never get.
NOT_RELEASED = ["claims.toml", ".ipynb_checkpoints", "__pycache__", "*.pyc", "_build"]


@dataclass(frozen=True)
class Staleness:
    """Why a committed released folder differs from a fresh release."""

    assignment_id: str
    problems: tuple[str, ...]


def generate(course: Course, assignment_id: str, destination: Path) -> Path:
    """Release one assignment into ``destination/<id>/``; return that folder.

    Raises
    ------
    SpecError
        When nbgrader rejects the source (bad cell metadata, for instance).
    """
    from nbgrader.apps import NbGraderAPI  # slow import: only when releasing
    from traitlets.config import Config

    with tempfile.TemporaryDirectory(prefix="autograde-release-") as tmp:
        root = Path(tmp)
        shutil.copytree(course.solutions_dir / assignment_id, root / "solutions" / assignment_id)
        config = Config()
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.source_directory = "solutions"
        config.CourseDirectory.release_directory = "notebooks"
        config.CourseDirectory.ignore = NOT_RELEASED
        # --no-db: a release needs no gradebook (and nbgrader's would shell out to alembic).
        config.SaveCells.enabled = False
        config.GenerateAssignment.no_database = True
        config.Exchange.root = str(root / "exchange")
        (root / "exchange").mkdir()  # unused, but nbgrader's API warns if it is missing
        api = NbGraderAPI(config=config)
        api.log.setLevel(logging.ERROR)
        outcome = api.generate_assignment(assignment_id, force=True, create=True)
        if not outcome.get("success"):
            raise SpecError(
                f"nbgrader could not release {assignment_id}:\n"
                f"{outcome.get('error') or outcome.get('log', '')}"
            )
        target = destination / assignment_id
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(root / "notebooks" / assignment_id, target)
    for notebook in target.rglob("*.ipynb"):
        nbformat.write(strip_outputs(nbformat.read(notebook, as_version=4)), notebook)
    return target


def release(course: Course, assignment_id: str) -> Path:
    """Regenerate ``notebooks/<id>/`` from ``solutions/<id>/``."""
    course.release_dir.mkdir(exist_ok=True)
    return generate(course, assignment_id, course.release_dir)


def check_release(course: Course, assignment_id: str) -> Staleness:
    """Compare a fresh release in a temp folder with the committed ``notebooks/<id>``."""
    with tempfile.TemporaryDirectory(prefix="autograde-check-") as tmp:
        fresh = generate(course, assignment_id, Path(tmp))
        committed = course.release_dir / assignment_id
        if not committed.is_dir():
            return Staleness(assignment_id, (f"{committed} does not exist",))
        return Staleness(assignment_id, tuple(_compare_folders(fresh, committed)))


def _compare_folders(fresh: Path, committed: Path) -> list[str]:
    problems = []
    names = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    names |= {p.relative_to(committed) for p in committed.rglob("*") if p.is_file()}
    for name in sorted(names):
        new, old = fresh / name, committed / name
        if not old.exists():
            problems.append(f"{name}: missing from {committed}")
        elif not new.exists():
            problems.append(
                f"{name}: not produced by a release (delete it or add it to solutions/)"
            )
        elif name.suffix == ".ipynb":
            problems.extend(f"{name}: {p}" for p in _compare_notebooks(new, old))
        elif new.read_bytes() != old.read_bytes():
            problems.append(f"{name}: content differs")
    return problems


def _compare_notebooks(fresh: Path, committed: Path) -> list[str]:
    """Compare what students see and what grading relies on; ignore volatile bits."""
    new, old = (_essence(nbformat.read(p, as_version=4)) for p in (fresh, committed))
    if len(new) != len(old):
        return [f"{len(old)} cells committed, {len(new)} in a fresh release"]
    problems = []
    for index, (a, b) in enumerate(zip(new, old, strict=True)):
        if a != b:
            fields = [k for k in a if a[k] != b.get(k)]
            problems.append(f"cell {index} differs in {', '.join(fields)}")
    for index, cell in enumerate(nbformat.read(committed, as_version=4).cells):
        if cell.get("outputs") or cell.get("execution_count"):
            problems.append(f"cell {index} has outputs or an execution count")
    return problems


def _essence(nb: nbformat.NotebookNode) -> list[dict]:
    return [
        {
            "cell_type": cell.cell_type,
            "source": cell.source,
            "nbgrader": cell.metadata.get("nbgrader"),
            "tags": cell.metadata.get("tags", []),
        }
        for cell in nb.cells
    ]
