"""A class of hostile, broken and ordinary submissions of notebook 01, built from its released copy.

Each :class:`Case` is one student: how the submission is made, and the status
and points grading must give. Expected points follow from the construction
(which answer cells hold the solution and which tests can still run), never
from a grading run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograde.core.cells import grade_id
from autograde.core.mutants import fill_answers, load_mutants, solution_answers
from autograde.core.spec import AssignmentSpec, build_spec
from tests.autograde.course_helpers import REAL_COURSE

ASSIGNMENT = "01_dp_foundations"
#: Limits the batch is graded with: small, so the slow cases stay cheap.
CELL_TIMEOUT = 15
NOTEBOOK_TIMEOUT = 38
MEMORY_MB = 3072

# Answer cells in notebook order and the test that checks each (points).
RR, EST, SENS, LAP, SPLIT = (
    "ex_randomized_response",
    "ex_randomized_response_estimate",
    "ex_sensitivity",
    "ex_laplace_mechanism",
    "ex_split_budget",
)
POINTS = {RR: 3, EST: 2, SENS: 3, LAP: 4, SPLIT: 2}
FULL = sum(POINTS.values())


def points_without(*broken: str) -> int:
    """Full marks minus the tests whose answer cell is broken or never ran."""
    return FULL - sum(POINTS[cell] for cell in broken)


@dataclass(frozen=True)
class Case:
    student: str
    build: Callable[[Corpus], nbformat.NotebookNode | str]
    status: str | tuple[str, ...]
    points: int | tuple[int, ...]
    why: str


class Corpus:
    """Makes submissions: the released notebook with some answer cells replaced."""

    def __init__(self, out_dir: Path, submissions_dir: Path) -> None:
        self.spec: AssignmentSpec = build_spec(REAL_COURSE, ASSIGNMENT)
        self.released = nbformat.read(REAL_COURSE.released_notebook(ASSIGNMENT), as_version=4)
        source = nbformat.read(REAL_COURSE.source_notebook(ASSIGNMENT), as_version=4)
        self.solution = solution_answers(source)
        self.mutants = {m.name: m for m in load_mutants(REAL_COURSE, self.spec)}
        self.out_dir = out_dir
        self.submissions_dir = submissions_dir
        self.course_root = REAL_COURSE.root

    def full(self, **overrides: str) -> nbformat.NotebookNode:
        return fill_answers(self.released, {**self.solution, **overrides})

    def prefixed(self, cell: str, code: str) -> nbformat.NotebookNode:
        """The full solution with ``code`` run first in answer cell ``cell``."""
        return self.full(**{cell: code + "\n" + self.solution[cell]})

    def mutant(self, name: str, **overrides: str) -> nbformat.NotebookNode:
        (cell, code), *_ = self.mutants[name].replacements
        return self.full(**{cell: code, **overrides})

    def without_tests(self, nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
        test_ids = {t.grade_id for t in self.spec.tests}
        nb.cells = [c for c in nb.cells if grade_id(c) not in test_ids]
        return nb

    def tests_replaced(self, nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
        test_ids = {t.grade_id for t in self.spec.tests}
        for cell in nb.cells:
            if grade_id(cell) in test_ids:
                cell.source = source
        return nb

    def blank(self) -> nbformat.NotebookNode:
        return nbformat.from_dict(json.loads(nbformat.writes(self.released)))


def _invalid_structure(corpus: Corpus) -> str:
    data = json.loads(nbformat.writes(corpus.full()))
    data["cells"][3]["cell_type"] = "spreadsheet"
    del data["cells"][4]["source"]
    return json.dumps(data)


def _writes_everywhere(corpus: Corpus) -> nbformat.NotebookNode:
    targets = [
        corpus.out_dir / "grades.csv",
        corpus.out_dir / "gradebook.db",
        corpus.out_dir / "results.jsonl",
        corpus.submissions_dir / "a_full" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        corpus.course_root / "lib" / "respai" / "__init__.py",
        corpus.course_root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        corpus.course_root / "HACKED.txt",
    ]
    code = "blocked = []\n"
    for target in targets:
        code += (
            "try:\n"
            f"    open({str(target)!r}, 'w').write('student,total\\nmallory,9999\\n')\n"
            "except OSError as error:\n"
            "    blocked.append(type(error).__name__)\n"
        )
    code += "print('blocked', len(blocked))\n"
    return corpus.prefixed(SPLIT, code)


def _poses_as_grader_cell(corpus: Corpus) -> nbformat.NotebookNode:
    """np.isclose patched in a cell labelled as the grader's, to escape the tamper scan."""
    nb = corpus.full(**{RR: "np.isclose = lambda *a, **k: True\n" + corpus.solution[RR]})
    for cell in nb.cells:
        if grade_id(cell) == RR:
            cell.metadata["autograde"] = {"role": "guard"}
    return nb


def _reads_hidden_tests(corpus: Corpus) -> nbformat.NotebookNode:
    path = REAL_COURSE.source_notebook(ASSIGNMENT)
    code = (
        "try:\n"
        f"    leaked = open({str(path)!r}).read()\n"
        "    print('LEAKED', len(leaked))\n"
        "except OSError as error:\n"
        "    print('blocked', type(error).__name__)\n"
    )
    return corpus.prefixed(RR, code)


FORK_BOMB = """\
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

# Obfuscated past the static scan; the runtime restore still undoes and reports them.
HIDDEN_TRANSFORMER = """\
_shell = get_ipython()
getattr(_shell, "input_transformers_" + "cleanup").append(lambda lines: ["pass\\n"])
"""
RESTORE_REPLACED = (
    """\
import sys as _sys
_sys.modules["_auto" + "grade_guard"].restore = lambda *args: ""
"""
    + HIDDEN_TRANSFORMER
)
PATCHES_WHEN_CALLED = """\
def split_budget(total_epsilon, n_queries):
    import numpy
    vars(numpy)["is" + "close"] = lambda *args, **kwargs: True
    vars(numpy)["all" + "close"] = lambda *args, **kwargs: True
    return numpy.zeros(n_queries)
"""
READS_HISTORY = """\
_sources = [s for s in list(In) + list(_ih) if "BEGIN HIDDEN" in s or "_reference" in s]
raise ValueError("the hidden tests, from the history: " + " ".join(_sources)[:400])
"""
PATCHES_THE_SHELL_CLASS = """\
_cls = type(get_ipython())
_original = _cls.transform_cell
_cls.transform_cell = lambda self, raw: "pass\\n" if "assert" in raw else _original(self, raw)
"""
SWAPS_NUMPY_CODE = """\
def _always(a, b, rtol=1.e-5, atol=1.e-8, equal_nan=False):
    return True
_impl = np.isclose._implementation
_impl.__code__, _impl.__defaults__ = _always.__code__, _always.__defaults__
def split_budget(total_epsilon, n_queries):
    return np.zeros(n_queries)
"""
BLINDS_THE_CALL_WATCH = """\
import sys
from respai.privacy.mechanisms import laplace_mechanism as _library
def laplace_mechanism(value, sensitivity, epsilon, *, rng=None):
    getattr(sys, "setpro" + "file")(None)
    return _library(value, sensitivity, epsilon, rng=rng)
"""
FAKES_THE_SHORTCUT_MESSAGE = """\
import sys as _sys, linecache as _lines
def split_budget(total_epsilon, n_queries):
    _caller = getattr(_sys, "_get" + "frame")(1)
    _source = "".join(_lines.cache.get(_caller.f_code.co_filename, (0, 0, [""]))[2])
    if "_reference" in _source:  # called from the hidden test: send its source out
        raise AssertionError("No points for this exercise: " + _source[:460])
    return np.full(n_queries, total_epsilon / n_queries)
"""
FD_FLOOD = """\
import os
for _ in range(20):
    os.write(1, b"y" * 1_000_000)
    os.write(2, b"z" * 1_000_000)
"""

HELPER_WITH_LOOP = """\
with open("slow_helper.py", "w") as handle:
    handle.write("while True:\\n    pass\\n")
import slow_helper
"""


def cases() -> list[Case]:
    """The whole class, ordinary students first."""
    loop_body = "def split_budget(total_epsilon, n_queries):\n    while True:\n        pass\n"
    sleepy = f"import time\ntime.sleep({CELL_TIMEOUT - 2})\n"
    return [
        Case("a_full", lambda c: c.full(), "graded", FULL, "the solution"),
        Case(
            "b_partial",
            lambda c: c.mutant("sensitivity_mean_forgets_n", **{LAP: c.blank_answer(LAP)}),
            "graded",
            points_without(SENS, LAP),
            "one wrong, one blank",
        ),
        Case("c_blank", lambda c: c.blank(), "graded", 0, "the released notebook"),
        Case(
            "d_wrong_but_running",
            lambda c: c.mutant("laplace_gaussian_noise"),
            "graded",
            points_without(LAP),
            "Gaussian noise instead of Laplace",
        ),
        Case(
            "e_calls_reference",
            lambda c: c.mutant("laplace_calls_reference"),
            "graded",
            points_without(LAP),
            "delegates to respai: no points, and the feedback says why",
        ),
        Case(
            "f_infinite_loop",
            lambda c: c.full(**{SPLIT: loop_body}),
            "timeout",
            points_without(SPLIT),
            "the test of split_budget hangs and is interrupted; the rest is graded",
        ),
        Case(
            "g_helper_import_loops",
            lambda c: c.prefixed(SENS, HELPER_WITH_LOOP),
            "timeout",
            points_without(SENS),
            "importing a helper never returns; the sensitivity functions are never defined",
        ),
        Case(
            "h_os_exit",
            lambda c: c.prefixed(LAP, "import os\nos._exit(0)"),
            "crashed",
            points_without(LAP, SPLIT),
            "the kernel exits in the Laplace cell: earlier tests count, later ones never ran",
        ),
        Case(
            "i_sigkill",
            lambda c: c.prefixed(SPLIT, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
            "crashed",
            points_without(SPLIT),
            "the kernel kills itself in the last answer cell",
        ),
        Case(
            "j_segfault",
            lambda c: c.prefixed(LAP, "import ctypes\nctypes.string_at(0)"),
            "crashed",
            points_without(LAP, SPLIT),
            "a segmentation fault in the Laplace cell",
        ),
        Case(
            "k_50gb",
            lambda c: c.prefixed(SPLIT, "huge = np.ones(50 * 1024**3 // 8)"),
            "memory",
            points_without(SPLIT),
            "a 50 GB allocation fails under the memory cap; split_budget is never defined",
        ),
        Case(
            "l_fork_bomb",
            lambda c: c.prefixed(SPLIT, FORK_BOMB),
            ("timeout", "crashed"),
            points_without(SPLIT),
            "a fork bomb, bounded by the process limit and killed with its uid",
        ),
        Case(
            "m_100mb_output",
            lambda c: c.prefixed(SPLIT, "for _ in range(100):\n    print('x' * 1_000_000)"),
            "graded",
            FULL,
            "100 MB printed: output is truncated, grading is unaffected",
        ),
        Case("n_not_json", lambda c: '{"cells": [ this is not json', "invalid_notebook", 0, ""),
        Case(
            "o_truncated",
            lambda c: nbformat.writes(c.full())[:5000],
            "invalid_notebook",
            0,
            "the file was cut off mid-way",
        ),
        Case("p_nbformat_invalid", _invalid_structure, "invalid_notebook", 0, "bad cell schema"),
        Case(
            "q_deleted_tests",
            lambda c: c.without_tests(c.full()),
            "tampered",
            FULL,
            "test cells deleted: restored, points from the instructor's tests",
        ),
        Case(
            "r_tests_assert_true",
            lambda c: c.tests_replaced(c.blank(), "assert True"),
            "tampered",
            0,
            "blank answers with every test replaced by `assert True`",
        ),
        Case(
            "s_patches_numpy_testing",
            lambda c: c.mutant(
                "rr_estimate_raw_mean",
                **{
                    RR: "np.isclose = lambda *a, **k: True\n"
                    "np.testing.assert_allclose = lambda *a, **k: None\n" + c.solution[RR]
                },
            ),
            "tampered",
            points_without(EST),
            "a wrong estimator hidden behind an always-true np.isclose",
        ),
        Case(
            "t_overrides_builtins",
            lambda c: c.mutant(
                "laplace_one_draw_for_array",
                **{
                    RR: "import builtins\nbuiltins.print = lambda *a, **k: None\n"
                    "len = lambda obj: 1_000  # shadows the builtin for the tests\n"
                    + c.solution[RR]
                },
            ),
            "tampered",
            points_without(LAP),
            "builtins replaced and shadowed so that the shape check passes",
        ),
        Case(
            "u_writes_everywhere",
            _writes_everywhere,
            "graded",
            FULL,
            "writes to grades, the gradebook, another student and the course are blocked",
        ),
        Case(
            "v_reads_hidden_tests",
            _reads_hidden_tests,
            "graded",
            FULL,
            "the instructor's source notebook is not visible to the kernel",
        ),
        Case(
            "x_hidden_input_transformer",
            lambda c: c.first_answered_behind(HIDDEN_TRANSFORMER),
            "tampered",
            points_without(EST, SENS, LAP, SPLIT),
            "blank answers behind a transformer that turns every later cell into `pass`",
        ),
        Case(
            "y_restore_replaced",
            lambda c: c.first_answered_behind(RESTORE_REPLACED),
            "tampered",
            0,
            "the grader's restore replaced too: no test can be trusted, all score 0",
        ),
        Case(
            "z_patches_numpy_when_called",
            lambda c: c.full(**{SPLIT: PATCHES_WHEN_CALLED}),
            "tampered",
            points_without(SPLIT),
            "a wrong split_budget that makes np.isclose always true while its test runs",
        ),
        Case(
            "za_floods_its_file_descriptors",
            lambda c: c.prefixed(SPLIT, FD_FLOOD),
            "graded",
            FULL,
            "40 MB written to fd 1 and 2: drained by the grader, never shown, grading unaffected",
        ),
        Case(
            "zb_json_nested_too_deeply",
            lambda c: "[" * 200_000 + "]" * 200_000,
            "invalid_notebook",
            0,
            "a file that makes the JSON parser recurse until it fails",
        ),
        Case(
            "zc_poses_as_a_grader_cell",
            _poses_as_grader_cell,
            "tampered",
            FULL,
            "a cell carrying the grader's metadata: stripped, scanned like any other",
        ),
        Case(
            "zd_reads_the_history",
            lambda c: c.prefixed(SPLIT, READS_HISTORY),
            "graded",
            points_without(SPLIT),
            "the hidden tests looked up in IPython's history (In, _ih) and raised into the "
            "feedback: tests never enter the history",
        ),
        Case(
            "ze_patches_the_shell_class",
            lambda c: c.first_answered_behind(PATCHES_THE_SHELL_CLASS),
            "tampered",
            points_without(EST, SENS, LAP, SPLIT),
            "blank answers behind a class-level transform_cell that turns tests into `pass`",
        ),
        Case(
            "zf_swaps_numpy_code",
            lambda c: c.full(**{SPLIT: SWAPS_NUMPY_CODE}),
            "tampered",
            points_without(SPLIT),
            "a wrong split_budget behind np.isclose's code swapped in place (same function object)",
        ),
        Case(
            "zg_blinds_the_call_watch",
            lambda c: c.full(**{LAP: BLINDS_THE_CALL_WATCH}),
            "graded",
            points_without(LAP),
            "the reference called with the profiling watch switched off: still no points",
        ),
        Case(
            "zh_fakes_the_shortcut_message",
            lambda c: c.full(**{SPLIT: FAKES_THE_SHORTCUT_MESSAGE}),
            "graded",
            points_without(SPLIT),
            "the hidden test's source raised behind the shortcut prefix: not shown to the student",
        ),
        Case(
            "w_sleeps_under_the_cell_limit",
            lambda c: c.full(**{cell: sleepy + c.solution[cell] for cell in POINTS}),
            "timeout",
            # Where the 38 s notebook limit falls depends on the machine's load; what
            # must hold is that the tests before it count and none after it does.
            tuple(FULL - points_without(*list(POINTS)[:k]) for k in range(len(POINTS))),
            "every answer cell sleeps 13 s (limit 15 s): no cell times out, the notebook does",
        ),
    ]


def _blank_answer(self: Corpus, cell: str) -> str:
    for released in self.released.cells:
        if grade_id(released) == cell:
            return released.source
    raise KeyError(cell)


def _first_answered_behind(self: Corpus, code: str) -> nbformat.NotebookNode:
    """Only the first answer (randomized response) solved, with ``code`` run before it; the
    other answer cells as released, so whatever ``code`` does to the tests is all they have."""
    blanks = {cell: _blank_answer(self, cell) for cell in (EST, SENS, LAP, SPLIT)}
    return self.full(**{RR: code + self.solution[RR], **blanks})


Corpus.blank_answer = _blank_answer  # type: ignore[attr-defined]
Corpus.first_answered_behind = _first_answered_behind  # type: ignore[attr-defined]


def write_corpus(submissions_dir: Path, out_dir: Path) -> dict[str, Case]:
    """Write every case as ``<student>/01_dp_foundations/01_dp_foundations.ipynb``."""
    corpus = Corpus(out_dir, submissions_dir)
    written = {}
    for case in cases():
        content = case.build(corpus)
        path = submissions_dir / case.student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else nbformat.writes(content)
        path.write_text(text, encoding="utf-8")
        written[case.student] = case
    return written
