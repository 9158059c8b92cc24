"""``autograde validate``: solution full marks, blank zero without cascade, mutants caught."""

from __future__ import annotations

import shutil

import pytest

from autograde.cli import main
from autograde.core.errors import SpecError
from autograde.core.mutants import load_alternatives, load_mutants
from autograde.core.spec import build_spec
from autograde.core.validate import validate
from tests.autograde.course_helpers import FIXTURE_ID, REAL_COURSE, copy_course, real_ids

pytestmark = pytest.mark.xdist_group("validate")


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    """Validate a fixture copy with one mutant no test catches, a cascading cell,
    and two "alternatives": one correct, one that is not."""
    course = copy_course(tmp_path_factory.mktemp("validate") / "course")
    folder = course.mutants_dir / FIXTURE_ID
    (folder / "add_equivalent.toml").write_text(
        'cell = "add"\ndescription = "same maths, other spelling"\n'
        'code = "def add(a, b):\\n    return b + a\\n"\n'
    )
    alternatives = course.alternatives_dir / FIXTURE_ID
    alternatives.mkdir(parents=True)
    (alternatives / "add_commuted.toml").write_text(
        'cell = "add"\ndescription = "b + a"\ncode = "def add(a, b):\\n    return b + a\\n"\n'
    )
    (alternatives / "mean_truncated.toml").write_text(
        'cell = "mean"\ndescription = "integer mean, not correct"\n'
        'code = "def mean(xs):\\n    return sum(xs) // len(xs)\\n"\n'
    )
    released = course.released_notebook(FIXTURE_ID)
    # The narrative cell uses the student's `mean`: a cascade on the blank notebook.
    released.write_text(released.read_text().replace("print(five)", "print(five, mean([1]))"))
    found = validate(course, [FIXTURE_ID], workdir=course.build_dir / "validate", workers=2)
    return {c.variant: c for c in found}


def test_solution_gets_full_marks(checks):
    assert checks["solution"].passed and checks["solution"].points == 5


def test_blank_cascade_is_reported(checks):
    blank = checks["blank"]
    assert not blank.passed and blank.points == 0
    assert "cascade" in blank.detail and "NameError" in blank.detail


def test_mutants_lose_points_with_the_tests_that_catch_them(checks):
    assert checks["mutant:add_subtracts"].points_lost == 2
    assert checks["mutant:add_subtracts"].failed_tests == ("test_add",)
    assert checks["mutant:mean_singleton"].failed_tests == ("test_mean",)
    assert checks["mutant:both_integer"].points_lost == 5
    caught = checks["mutant:add_equivalent"]
    assert not caught.passed and "no test catches it" in caught.detail


def test_alternatives_must_keep_full_marks(checks):
    assert checks["alternative:add_commuted"].passed
    assert checks["alternative:add_commuted"].points == 5
    wrong = checks["alternative:mean_truncated"]
    assert not wrong.passed and wrong.failed_tests == ("test_mean",)
    assert "this correct answer (integer mean, not correct) must keep full marks" in wrong.detail


def test_solution_numbers_are_checked_against_the_claims_table(tmp_path):
    course = copy_course(tmp_path / "course")
    shutil.rmtree(course.mutants_dir / FIXTURE_ID)
    claims = course.claims_file(FIXTURE_ID)
    claims.write_text(claims.read_text().replace("smoke = [5.4, 5.6]", "smoke = [6.0, 7.0]"))
    found = validate(course, [FIXTURE_ID], workdir=course.build_dir / "validate", workers=1)
    solution = next(c for c in found if c.variant == "solution")
    assert solution.points == solution.max_points, "the tests still pass"
    assert not solution.passed
    assert "claims: fixture_total = 5.5 is outside its smoke range [6.0, 7.0]" in solution.detail


def test_mutant_files_are_checked(fixture_course, tmp_path):
    spec = build_spec(fixture_course, FIXTURE_ID)
    mutants = {m.name: m for m in load_mutants(fixture_course, spec)}
    assert [cell for cell, _ in mutants["both_integer"].replacements] == ["add", "mean"]
    course = copy_course(tmp_path / "course")
    (course.mutants_dir / FIXTURE_ID / "bad.toml").write_text('cell = "test_add"\ncode = "x"\n')
    with pytest.raises(SpecError, match="not an answer cell"):
        load_mutants(course, spec)


def test_validate_unknown_id_is_a_usage_error(fixture_course):
    assert main(["--root", str(fixture_course.root), "validate", "99_missing"]) == 2


@pytest.mark.slow
@pytest.mark.parametrize("assignment_id", real_ids())
def test_real_assignment_validates(assignment_id, capsys):
    code = main(["--root", str(REAL_COURSE.root), "validate", assignment_id])
    report = capsys.readouterr().out
    assert code == 0, report
    spec = build_spec(REAL_COURSE, assignment_id)
    assert len(load_mutants(REAL_COURSE, spec)) >= 8, "DESIGN.md: at least 8 mutants per notebook"
    assert len(load_alternatives(REAL_COURSE, spec)) >= 3, (
        "at least 3 other correct answers per notebook (autograde/alternatives/<id>/)"
    )
