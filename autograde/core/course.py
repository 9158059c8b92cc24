"""Where a course keeps its assignments: ``solutions/``, ``notebooks/``, mutants.

One :class:`Course` object knows the layout of DESIGN.md, so no other module
builds these paths by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograde.core.errors import UsageError

__all__ = ["Course", "find_course_root", "ASSIGNMENT_ID"]

#: ``NN_topic``: two digits, an underscore, a snake_case topic.
ASSIGNMENT_ID = re.compile(r"^\d{2}_[a-z0-9_]+$")


def find_course_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` that holds ``solutions/``.

    Raises
    ------
    UsageError
        If no such folder exists; pass ``--root`` to say where the course is.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "solutions").is_dir():
            return folder
    raise UsageError(
        f"no course found: neither {here} nor any parent holds a 'solutions/' folder; "
        "run inside the course repository or pass --root."
    )


@dataclass(frozen=True)
class Course:
    """The folders of one course repository.

    Parameters
    ----------
    root : Path
        Repository root: holds ``solutions/`` (instructor sources, nbgrader
        "source"), ``notebooks/`` (released, nbgrader "release"),
        ``autograde/mutants/`` (wrong answers) and ``autograde/alternatives/``
        (other correct answers).
    """

    root: Path

    @property
    def solutions_dir(self) -> Path:
        return self.root / "solutions"

    @property
    def release_dir(self) -> Path:
        return self.root / "notebooks"

    @property
    def mutants_dir(self) -> Path:
        return self.root / "autograde" / "mutants"

    @property
    def alternatives_dir(self) -> Path:
        return self.root / "autograde" / "alternatives"

    @property
    def build_dir(self) -> Path:
        return self.root / "_build"

    def assignment_ids(self) -> list[str]:
        """Every assignment with a source folder, in teaching order."""
        if not self.solutions_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.solutions_dir.iterdir()
            if p.is_dir() and ASSIGNMENT_ID.match(p.name)
        )

    def resolve(self, ids: list[str] | None) -> list[str]:
        """Validate requested ids; no ids means all of them.

        Raises
        ------
        UsageError
            For an unknown id, or when the course has no assignment at all,
            so that a command never "succeeds" on nothing.
        """
        known = self.assignment_ids()
        if not known:
            raise UsageError(f"no assignments under {self.solutions_dir}")
        if not ids:
            return known
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UsageError(
                f"unknown assignment id(s) {', '.join(unknown)}; known: {', '.join(known)}"
            )
        return list(dict.fromkeys(ids))

    def source_notebook(self, assignment_id: str) -> Path:
        """The instructor notebook ``solutions/<id>/<id>.ipynb``."""
        return _main_notebook(self.solutions_dir / assignment_id, assignment_id)

    def released_notebook(self, assignment_id: str) -> Path:
        """The student notebook ``notebooks/<id>/<id>.ipynb`` (must have been released)."""
        folder = self.release_dir / assignment_id
        if not folder.is_dir():
            raise UsageError(
                f"{folder} does not exist; run `autograde release {assignment_id}` first."
            )
        return _main_notebook(folder, assignment_id)

    def claims_file(self, assignment_id: str) -> Path:
        return self.solutions_dir / assignment_id / "claims.toml"


def _main_notebook(folder: Path, assignment_id: str) -> Path:
    preferred = folder / f"{assignment_id}.ipynb"
    if preferred.is_file():
        return preferred
    found = sorted(folder.glob("*.ipynb"))
    if len(found) != 1:
        raise UsageError(
            f"{folder} must hold {preferred.name} (or exactly one .ipynb); found "
            f"{[p.name for p in found] or 'none'}"
        )
    return found[0]
