"""Find the submissions of a class, in nbgrader's layout or as a flat LMS download.

* nbgrader layout: ``SUBMISSIONS/<student>/<assignment id>/<notebook>.ipynb``;
  the notebook named after the assignment is taken, else the only notebook in
  that folder.
* flat layout (needs the assignment id): ``SUBMISSIONS/<student>.ipynb``, as
  an LMS download gives them. The student name is the file stem with every
  character outside ``A-Z a-z 0-9 . _ @ -`` replaced by ``_`` (so e-mail
  addresses survive); two files that give the same name are an error.

A folder with no submission is an error, never an empty success. A student
folder, assignment folder or notebook that is a symbolic link is reported,
not followed: from an unpacked archive it could point at another student's
notebook or the instructor's solution.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

from autograde.core.errors import UsageError

__all__ = ["Submission", "find_submissions", "student_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


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
        A folder in either layout: ``*.ipynb`` files directly in it make it flat.
    assignment_id : str, optional
        Only this assignment's folders; required for the flat layout.

    Raises
    ------
    UsageError
        If ``root`` is not a folder, holds no submission, mixes both layouts,
        is flat without ``assignment_id``, or two file names give one student.
    """
    if not root.is_dir():
        raise UsageError(f"{root} is not a folder of submissions")
    entries = sorted(p for p in root.glob("*.ipynb") if not _hidden(p))
    if any(p.is_file() for p in entries):
        # Every *.ipynb entry is a submission: a folder or FIFO of that name is reported.
        return _flat(root, entries, assignment_id)
    found = []
    for student in sorted(p for p in root.iterdir() if p.is_dir() and not _hidden(p)):
        for folder in sorted(p for p in student.iterdir() if p.is_dir() and not _hidden(p)):
            if assignment_id and folder.name != assignment_id:
                continue
            link = next((p for p in (student, folder) if p.is_symlink()), None)
            if link is not None:
                found.append(Submission(student.name, folder.name, folder, _linked(link)))
                continue
            found.append(_pick(student.name, folder))
    if not found:
        wanted = f"{assignment_id}/" if assignment_id else "<assignment id>/"
        raise UsageError(
            f"no submissions under {root} (expected <student>/{wanted}<notebook>.ipynb, "
            "or <student>.ipynb files with --assignment)"
        )
    return found


def student_name(stem: str) -> str:
    """A file stem as a student name that is safe as a folder name.

    >>> student_name("Jane Doe (late)")
    'Jane_Doe_late'
    >>> student_name("jane.doe@uni.edu")
    'jane.doe@uni.edu'
    """
    return _UNSAFE.sub("_", stem).strip("._") or "student"


def _flat(root: Path, notebooks: list[Path], assignment_id: str | None) -> list[Submission]:
    if not assignment_id:
        raise UsageError(
            f"{root} holds <student>.ipynb files (flat layout): pass --assignment ID "
            "to say which assignment they are"
        )
    nested = [p.name for p in root.iterdir() if (p / assignment_id).is_dir()]
    if nested:
        raise UsageError(
            f"{root} mixes <student>.ipynb files with <student>/{assignment_id}/ folders "
            f"({', '.join(sorted(nested)[:3])}); put each layout in its own folder"
        )
    by_name: dict[str, list[Path]] = {}
    for path in notebooks:
        by_name.setdefault(student_name(path.stem), []).append(path)
    clashes = {n: ps for n, ps in by_name.items() if len(ps) > 1}
    if clashes:
        text = "; ".join(f"{[p.name for p in ps]} -> {n!r}" for n, ps in sorted(clashes.items()))
        raise UsageError(f"file names that give the same student name: {text}; rename them")
    return [
        Submission(name, assignment_id, paths[0], _not_a_file(paths[0]))
        for name, paths in sorted(by_name.items())
    ]


def _hidden(path: Path) -> bool:
    return path.name.startswith(".") or path.name == "__pycache__"


def _linked(path: Path) -> str:
    return (
        f"{path.name} is a symbolic link, not a file or folder: not followed (if you built "
        "this folder from links, copy the files instead, e.g. cp -rL)"
    )


def _not_a_file(path: Path) -> str:
    """Why ``path`` is no notebook file ("" for a regular file): a FIFO would block its reader
    forever, a device (``/dev/zero``) fill its memory."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"{path.name} cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return _linked(path)
    kind = "a folder" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
    return f"{path.name} is {kind}, not a notebook file: not read"


def _pick(student: str, folder: Path) -> Submission:
    preferred = folder / f"{folder.name}.ipynb"
    notebooks = sorted(folder.glob("*.ipynb"))
    chosen = preferred if preferred.is_file() else notebooks[0] if len(notebooks) == 1 else None
    if chosen is not None:
        return Submission(student, folder.name, chosen, _not_a_file(chosen))
    names = [p.name for p in notebooks] or "none"
    return Submission(student, folder.name, folder, f"expected one notebook, found {names}")
