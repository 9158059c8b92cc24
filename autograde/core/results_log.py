"""``results.jsonl``: one line per graded submission, appended as results arrive.

It is the coordinator's journal: an interrupted run loses no finished work,
and ``--resume`` reads it back to skip students already graded. Each line is
``GradeResult.to_dict()`` plus ``student``, ``submission_sha256`` (the graded
file) and ``spec_sha256`` (the instructor's tests and released files): a
record is reused only while both still match, so a resubmission or a changed
test is regraded.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from autograde.core.grading import CellError, GradeResult, TestResult
from autograde.core.spec import AssignmentSpec, ManualSpec

__all__ = ["Record", "spec_digest", "file_digest", "append_record", "read_records", "rewrite"]


@dataclass(frozen=True)
class Record:
    """One line of the log."""

    student: str
    result: GradeResult
    submission_sha256: str = ""
    spec_sha256: str = ""

    @property
    def key(self) -> str:
        return f"{self.student}/{self.result.assignment}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "student": self.student,
                "submission_sha256": self.submission_sha256,
                "spec_sha256": self.spec_sha256,
                **self.result.to_dict(),
            }
        )


def spec_digest(spec: AssignmentSpec) -> str:
    """SHA-256 of everything in the spec (tests, points, released files)."""
    return hashlib.sha256(repr(spec).encode("utf-8")).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file, or of its path when it is not a regular file or is unreadable.

    A symbolic link is not followed and a FIFO or device is never opened: reading one
    would block the coordinator forever (a FIFO) or fill its memory (``/dev/zero``).
    """
    try:
        if stat.S_ISREG(path.lstat().st_mode):
            return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        pass
    return hashlib.sha256(f"unreadable:{path}".encode()).hexdigest()


def append_record(log: Path, record: Record) -> None:
    """Append one line and flush it to disk before returning."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(record.to_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_records(log: Path) -> tuple[dict[str, Record], int]:
    """Records by ``student/assignment`` (the last line wins) and the number of unreadable lines.

    A line cut short by an interrupted write is skipped: that student is graded again.
    """
    records: dict[str, Record] = {}
    broken = 0
    if not log.is_file():
        return records, broken
    for line in log.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            record = _from_dict(json.loads(line))
        except (ValueError, KeyError, TypeError):
            broken += 1
            continue
        records[record.key] = record
    return records, broken


def rewrite(log: Path, records: list[Record]) -> None:
    """Replace the log with ``records`` atomically (drops broken and stale lines)."""
    tmp = log.with_name(log.name + ".tmp")
    tmp.write_text("".join(r.to_json() + "\n" for r in records), encoding="utf-8")
    os.replace(tmp, log)


def _from_dict(data: dict) -> Record:
    """Raise TypeError for a field of the wrong type: a hand-edited line (points "3") made
    the reused result crash the whole run when its total was summed."""
    result = GradeResult(
        submission=_typed(data["submission"], str),
        assignment=_typed(data["assignment"], str),
        status=_typed(data["status"], str),
        reason=_typed(data.get("reason", ""), str),
        tests=tuple(
            TestResult(
                _typed(t["grade_id"], str),
                float(_typed(t["points"], int, float)),
                float(_typed(t["max_points"], int, float)),
                _typed(t["passed"], bool),
                _typed(t.get("message", ""), str),
            )
            for t in _typed(data.get("tests", []), list)
        ),
        manual=tuple(
            ManualSpec(_typed(m["grade_id"], str), float(_typed(m["points"], int, float)))
            for m in _typed(data.get("manual", []), list)
        ),
        errors=tuple(
            CellError(
                _typed(e["index"], int),
                _typed(e["role"], str),
                _typed(e.get("grade_id"), str, type(None)),
                _typed(e["ename"], str),
                _typed(e["evalue"], str),
            )
            for e in _typed(data.get("errors", []), list)
        ),
        seconds=float(_typed(data.get("seconds", 0.0), int, float)),
    )
    return Record(
        _typed(data["student"], str),
        result,
        _typed(data.get("submission_sha256", ""), str),
        _typed(data.get("spec_sha256", ""), str),
    )


def _typed(value, *types):
    """``value`` if it is one of ``types`` (a bool is no number here), else TypeError."""
    if isinstance(value, bool) and bool not in types:
        raise TypeError(f"unexpected bool {value!r}")
    if not isinstance(value, types):
        raise TypeError(f"{value!r} is not {' or '.join(t.__name__ for t in types)}")
    return value
