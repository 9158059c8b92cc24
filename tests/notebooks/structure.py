"""Structure checks every source notebook shares, as a base class.

Each ``tests/notebooks/test_NN_topic.py`` subclasses :class:`NotebookStructure`
and names its assignment, the library modules its exercises mirror and the
exercise functions it must define. The checks read the notebook without
executing it (executing, grading and mutant validation are ``autograde run`` /
``autograde validate``): the anatomy of DESIGN.md, that nothing executed is
committed, that the released copy still defines every exercise function, that
exercises mirror the library's signatures (so the narrative can swap in the
reference: no cascade), and that the claims table and the recorded numbers
agree.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

import nbformat
import pytest

from respai.results import MODES, load_claims

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
MUTANTS_ROOT = ROOT / "autograde" / "mutants"
INSTALL = '%pip install -q "respai @ git+https://github.com/responsible-foundation-models/course"'
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
MIN_MUTANTS = 8


def colab_url(assignment: str) -> str:
    return (
        "https://colab.research.google.com/github/responsible-foundation-models/course/"
        f"blob/main/notebooks/{assignment}/{assignment}.ipynb"
    )


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _is_answer(cell) -> bool:
    return cell.cell_type == "code" and _meta(cell).get("solution") and not _meta(cell).get("grade")


def _is_test(cell) -> bool:
    m = _meta(cell)
    return cell.cell_type == "code" and m.get("grade") and not m.get("solution")


def _is_manual(cell) -> bool:
    m = _meta(cell)
    return bool(m.get("grade")) and bool(m.get("solution"))


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _python(source: str) -> str:
    """Cell source with IPython magics (``%pip ...``) replaced by ``pass``."""
    return "\n".join(
        line[: len(line) - len(line.lstrip())] + "pass"
        if line.lstrip().startswith(("%", "!"))
        else line
        for line in source.splitlines()
    )


def _released(source: str) -> str:
    """What nbgrader leaves of an answer cell: the solution region becomes a stub."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_SOLUTION:
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"]
            inside = True
        elif line.strip() == END_SOLUTION:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _defined_functions(source: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(source)
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _exercise_functions(nb) -> dict[str, ast.FunctionDef]:
    functions = {}
    for cell in nb.cells:
        if _is_answer(cell):
            functions.update(_defined_functions(cell.source))
    return functions


def _recorded_names(nb) -> list[str]:
    names = []
    for cell in _code_cells(nb):
        for node in ast.walk(ast.parse(_python(cell.source))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "record":
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    "record() needs a literal name, so the claims table can be checked statically"
                )
                names.append(first.value)
    return names


class NotebookStructure:
    """Subclass as ``TestStructure`` and set the three attributes below."""

    #: Assignment id, ``NN_topic``.
    assignment: str = ""
    #: Modules where each exercise function's reference implementation lives.
    library_modules: tuple[str, ...] = ()
    #: Exercise functions the notebook must define (answer cells).
    exercises: tuple[str, ...] = ()

    @classmethod
    def folder(cls) -> Path:
        return ROOT / "solutions" / cls.assignment

    @classmethod
    def notebook_path(cls) -> Path:
        return cls.folder() / f"{cls.assignment}.ipynb"

    @pytest.fixture(scope="class")
    @classmethod
    def nb(cls) -> nbformat.NotebookNode:
        notebook = nbformat.read(cls.notebook_path(), as_version=4)
        nbformat.validate(notebook)
        return notebook

    def test_front_matter(self, nb):
        first = nb.cells[0]
        assert first.cell_type == "markdown"
        text = first.source
        assert text.startswith("# "), "the notebook starts with a level-1 title"
        for heading in ("Learning goals", "Prerequisites", "Estimated time"):
            assert heading in text, f"front matter must state {heading!r}"
        assert (
            f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(self.assignment)})"
            in text
        )

    def test_setup_cell_then_parameters_cell(self, nb):
        code = _code_cells(nb)
        setup, parameters = code[0], code[1]
        assert "setup" in setup.metadata.get("tags", []), "the first code cell is tagged `setup`"
        assert '"google.colab" in sys.modules' in setup.source
        assert INSTALL in setup.source
        assert "parameters" in parameters.metadata.get("tags", []), (
            "the second code cell is tagged `parameters`"
        )
        assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
        namespace: dict = {}
        exec(compile(parameters.source, "parameters", "exec"), namespace)
        assert namespace["SMOKE"] is False and namespace["SEED"] == 0

    def test_everything_is_seeded_from_seed(self, nb):
        source = "\n".join(c.source for c in _code_cells(nb) if not _meta(c))
        assert "np.random.default_rng(SEED)" in source
        assert "seed_everything(SEED)" in source
        # Narrative code draws from the seeded generator, never from the global NumPy state.
        assert not re.search(r"np\.random\.(?!default_rng)[a-z_]+\(", source)

    def test_at_least_four_autograded_exercises_each_followed_by_its_test(self, nb):
        cells = nb.cells
        answers = [i for i, c in enumerate(cells) if _is_answer(c)]
        assert len(answers) >= 4
        grade_ids = [_meta(c).get("grade_id") for c in cells if _meta(c)]
        assert len(grade_ids) == len(set(grade_ids)), "grade_ids must be unique"
        for i in answers:
            answer = cells[i]
            assert _meta(answer)["grade_id"].startswith("ex_")
            assert not _meta(answer).get("locked")
            assert BEGIN_SOLUTION in answer.source and END_SOLUTION in answer.source
            test = cells[i + 1]
            assert _is_test(test), f"{_meta(answer)['grade_id']} must be followed by its test cell"
            m = _meta(test)
            assert m["grade_id"].startswith("test_") and m.get("locked") is True
            assert m.get("points", 0) > 0
            assert BEGIN_HIDDEN in test.source and END_HIDDEN in test.source
            visible = test.source.split(BEGIN_HIDDEN)[0]
            assert re.search(r"assert .+, ", visible), "visible asserts carry a helpful message"

    def test_hidden_tests_are_standalone_and_refuse_the_reference(self, nb):
        for test in filter(_is_test, nb.cells):
            hidden = test.source.split(BEGIN_HIDDEN)[1].split(END_HIDDEN)[0]
            compile(hidden, _meta(test)["grade_id"], "exec")  # valid on its own, at top level
            assert "assert_not_reference(" in hidden, (
                f"{_meta(test)['grade_id']}: anti-shortcut check"
            )
            if "stats." in hidden or "_rng" in hidden:
                assert "default_rng(12345)" in hidden, "statistical hidden tests use a fixed seed"

    def test_released_answer_cells_still_define_the_functions(self, nb):
        for answer in filter(_is_answer, nb.cells):
            released = _released(answer.source)
            assert "raise NotImplementedError()" in released
            assert _defined_functions(released).keys() == _defined_functions(answer.source).keys()

    def test_exercises_mirror_the_library_signatures(self, nb):
        functions = _exercise_functions(nb)
        assert set(self.exercises) <= functions.keys(), (
            f"exercise functions missing: {sorted(set(self.exercises) - functions.keys())}"
        )
        namespace: dict = {}
        for answer in filter(_is_answer, nb.cells):
            exec(compile(_released(answer.source), "answer", "exec"), namespace)
        for name in functions:
            library = next(
                getattr(importlib.import_module(m), name)
                for m in self.library_modules
                if hasattr(importlib.import_module(m), name)
            )
            want = [(p.name, p.kind) for p in inspect.signature(library).parameters.values()]
            got = [(p.name, p.kind) for p in inspect.signature(namespace[name]).parameters.values()]
            assert got == want, (
                f"{name}: exercise signature {got} differs from the library's {want}"
            )

    def test_no_cascade_narrative_never_calls_student_functions(self, nb):
        exercise_names = set(_exercise_functions(nb))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or _meta(cell):
                continue
            tree = ast.parse(_python(cell.source))
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            assert not used & exercise_names, (
                f"cell {index} uses {used & exercise_names}: narrative cells must use the reference"
            )

    def test_manually_graded_written_answer(self, nb):
        manual = [c for c in nb.cells if _is_manual(c)]
        assert manual, "at least one manually graded answer"
        for cell in manual:
            assert cell.cell_type == "markdown"
            assert 2 <= _meta(cell)["points"] <= 3
            assert BEGIN_SOLUTION in cell.source, "the source carries a model answer for graders"

    def test_closing_summary(self, nb):
        last = nb.cells[-1]
        assert last.cell_type == "markdown"
        assert "Summary" in last.source and "Further reading" in last.source

    def test_no_outputs_committed(self):
        raw = nbformat.read(self.notebook_path(), as_version=4)
        for cell in raw.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            assert "execution" not in cell.metadata and "papermill" not in cell.metadata
        assert "papermill" not in raw.metadata

    # --------------------------------------------------------------------------- claims

    def test_claims_table_matches_recorded_names(self, nb):
        names = _recorded_names(nb)
        assert len(names) == len(set(names)), "each headline number is recorded once"
        claims = load_claims(self.folder() / "claims.toml")
        assert set(names) == set(claims), (
            f"recorded but not claimed: {sorted(set(names) - set(claims))}; "
            f"claimed but never recorded: {sorted(set(claims) - set(names))}"
        )
        for name, claim in claims.items():
            assert claim.get("description"), f"{name} needs a description"
            for mode in MODES:
                low, high = claim[mode]
                assert low <= high

    # --------------------------------------------------------------------------- mutants

    def test_mutants_target_answer_cells_and_compile(self, nb):
        answers = {_meta(c)["grade_id"]: c for c in nb.cells if _is_answer(c)}
        files = sorted((MUTANTS_ROOT / self.assignment).glob("*.toml"))
        assert len(files) >= 8
        for path in files:
            mutant = tomllib.loads(path.read_text(encoding="utf-8"))
            assert mutant["cell"] in answers, f"{path.name}: {mutant['cell']} is not an answer cell"
            assert mutant.get("description")
            defined = _defined_functions(mutant["code"])
            assert defined.keys() == _defined_functions(answers[mutant["cell"]].source).keys(), (
                path.name
            )
