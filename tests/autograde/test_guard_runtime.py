"""The runtime guard covers every module and imported name the tests use, not a fixed list.

A fixture course whose tests call ``operator.eq`` and an imported reference
(``from statistics import fmean as mean_reference``). Submissions patch them
in ways the static scan cannot see (computed names): the restore before each
test must undo both, so wrong answers get no points.
"""

from __future__ import annotations

import nbformat
import pytest

from autograde.core import cells as C
from autograde.core import guard
from autograde.core.grade import grade_class
from autograde.core.mutants import fill_answers, solution_answers
from autograde.core.release import release
from autograde.core.spec import build_spec
from tests.autograde.course_helpers import FIXTURE_ID, copy_course, released, write_submission

pytestmark = pytest.mark.xdist_group("grade")

IMPORTS = "import operator\nfrom statistics import fmean as mean_reference\n\nimport respai.results"
TEST_ADD = 'assert operator.eq(add(1, 2), 3), "add(1, 2) should be 3"'
TEST_MEAN = 'assert mean([1, 2, 6]) == mean_reference([1, 2, 6]), "mean([1, 2, 6]) is 3"'


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("guarded") / "course")
    path = course.source_notebook(FIXTURE_ID)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "import respai.results" in cell.source:
            cell.source = IMPORTS
        elif C.grade_id(cell) == "test_add":
            cell.source = TEST_ADD
        elif C.grade_id(cell) == "test_mean":
            cell.source = TEST_MEAN
    nbformat.write(nb, path)
    release(course, FIXTURE_ID)
    return course


def test_the_spec_guards_what_the_tests_use(course):
    spec = build_spec(course, FIXTURE_ID)
    assert "operator" in spec.guarded_modules
    assert ("mean_reference", "statistics", "fmean") in spec.guarded_names


def test_tested_modules_follow_aliases_and_test_imports():
    modules, names = guard.tested_modules(
        ["import torch\nfrom torch import nn\nfrom torch.nn.utils import prune as tp\nimport os"],
        ["from scipy import stats as _s\nassert torch.equal(nn.Linear(1, 1).weight, tp.x)"],
    )
    assert {"scipy", "scipy.stats", "torch", "torch.nn", "torch.nn.utils.prune"} <= set(modules)
    assert "os" not in modules  # imported, but no test uses it: not imported by the guard
    assert ("tp", "torch.nn.utils", "prune") in names and ("nn", "torch", "nn") in names
    _, names = guard.tested_modules(
        ["from statistics import fmean as reference", "reference = max"], ["reference([1])"]
    )
    assert names == (), "a name the instructor's own cells rebind is theirs to change"


HONEST = {
    "add": "def add(a, b):\n    return a + b",
    "mean": "def mean(xs):\n    return sum(xs) / len(xs)",
}
PATCHED = {
    # Computed names: nothing for the static scan to see.
    "add": "def add(a, b):\n    return 0\n\n"
    "setattr(__import__('oper' + 'ator'), 'e' + 'q', lambda *args: True)",
    "mean": "def mean(xs):\n    return 0\n\nmean_reference = lambda xs: 0",
}


@pytest.fixture(scope="module")
def rows(course, tmp_path_factory):
    root = tmp_path_factory.mktemp("guarded-class")
    base = released(course)
    write_submission(root / "subs", "honest", FIXTURE_ID, fill_answers(base, HONEST))
    write_submission(root / "subs", "patched", FIXTURE_ID, fill_answers(base, PATCHED))
    answers = solution_answers(nbformat.read(course.source_notebook(FIXTURE_ID), 4))
    assert set(HONEST) < set(answers)  # the two autograded answers (and a written one)
    return dict(grade_class(course, root / "subs", root / "out", workers=2))


def test_an_honest_submission_keeps_full_marks(rows):
    assert rows["honest"].status == "graded", rows["honest"].reason
    assert [t.points for t in rows["honest"].tests] == [t.max_points for t in rows["honest"].tests]


def test_patching_a_tested_module_or_rebinding_a_reference_earns_nothing(rows):
    patched = rows["patched"]
    assert [t.points for t in patched.tests] == [0, 0], [t.message for t in patched.tests]
    assert patched.status == "tampered", patched.reason
    assert "operator.eq was replaced" in patched.reason
