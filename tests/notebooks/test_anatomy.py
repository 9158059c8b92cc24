"""Anatomy every notebook shares (DESIGN.md "Notebook anatomy"), checked on all of them."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograde.core.colab import colab_badge, setup_cell_source

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
COMMITTED = sorted(
    [
        *SOURCES,
        *(ROOT / "notebooks").glob("*/*.ipynb"),
        *(ROOT / "autograde/examples").rglob("*.ipynb"),
    ]
)


def test_there_are_notebooks():
    assert SOURCES, "no solution notebooks found"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_colab_badge_and_setup_cell_come_from_the_one_template(path):
    nb = nbformat.read(path, as_version=4)
    assert colab_badge(path.parent.name) in nb.cells[0].source, "title cell lacks the Colab badge"
    setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    assert len(setup) == 1, "exactly one cell tagged 'setup'"
    assert setup[0].source == setup_cell_source(), (
        "the setup cell differs from autograde.core.colab.setup_cell_source()"
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_parameters_cell_and_claims_table(path):
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert "SMOKE = False" in params[0].source and "SEED = 0" in params[0].source
    assert (path.parent / "claims.toml").is_file(), "every assignment has a claims table"


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {index} has outputs: strip them before committing"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_every_assignment_has_its_structure_tests(path):
    tests = Path(__file__).with_name(f"test_{path.parent.name}.py")
    assert tests.is_file(), f"add {tests.name}: a NotebookStructure subclass (see structure.py)"
    assert "NotebookStructure" in tests.read_text()
