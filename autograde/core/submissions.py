"""Find the submissions of a class in nbgrader's layout.

``SUBMISSIONS/<student>/<assignment id>/<notebook>.ipynb``: the notebook named
after the assignment is taken, else the only notebook in that folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograde.core.errors import UsageError

__all__ = ["Submission", "find_submissions"]


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one assignment.

    ``problem`` is set (and ``path`` may be a folder) when the folder holds no
    notebook or several candidates; such a submission is reported, not graded.
    """

    student: str
    assignment_id: str
    path: Path
    problem: str = ""

    @property
    def key(self) -> str:
        return f"{self.student}/{self.assignment_id}"


def find_submissions(root: Path, assignment_id: str | None = None) -> list[Submission]:
    """List submissions under ``root``, sorted by student then assignment.

    Parameters
    ----------
    root : Path
    assignment_id : str, optional
        Only this assignment's folders.

    Raises
    ------
    UsageError
        If ``root`` is not a folder or holds no submission at all.
    """
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder of submissions")
    found = []
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p)):
        for folder in sorted(p for p in student.iterdir() if p.is_dir() and not _hidden(p)):
            if assignment_id and folder.name != assignment_id:
                continue
            found.append(_pick(student.name, folder))
    if not found:
        wanted = f"{assignment_id}/" if assignment_id else "<assignment id>/"
        raise UsageError(
            f"no submissions under {root} (expected <student>/{wanted}<notebook>.ipynb)"
        )
    return found


def _hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__"


def _pick(student: str, folder: Path) -> Submission:
    preferred = folder / f"{folder.name}.ipynb"
    if preferred.is_file():
        return Submission(student, folder.name, preferred)
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) == 1:
        return Submission(student, folder.name, notebooks[0])
    names = [p.name for p in notebooks] or "none"
    return Submission(student, folder.name, folder, f"expected one notebook, found {names}")
