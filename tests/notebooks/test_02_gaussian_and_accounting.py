"""Structure of the source notebook of assignment 02_gaussian_and_accounting (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "02_gaussian_and_accounting"
    library_modules = (
        "respai.privacy.mechanisms",
        "respai.privacy.composition",
    )
    exercises = (
        "classical_gaussian_sigma",
        "gaussian_delta",
        "analytic_gaussian_sigma",
        "advanced_composition",
        "snapping_mechanism",
    )
