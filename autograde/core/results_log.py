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
    result = GradeResult(
        submission=data["submission"],
        assignment=data["assignment"],
        status=data["status"],
        reason=data.get("reason", ""),
        tests=tuple(TestResult(**t) for t in data.get("tests", ())),
        manual=tuple(ManualSpec(**m) for m in data.get("manual", ())),
        errors=tuple(CellError(**e) for e in data.get("errors", ())),
        seconds=float(data.get("seconds", 0.0)),
    )
    return Record(
        str(data["student"]),
        result,
        data.get("submission_sha256", ""),
        data.get("spec_sha256", ""),
    )
