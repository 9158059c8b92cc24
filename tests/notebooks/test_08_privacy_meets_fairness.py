"""Structure of the source notebook of assignment 08_privacy_meets_fairness (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "08_privacy_meets_fairness"
    library_modules = ("respai.fairness.privacy",)
    exercises = (
        "accuracy_by_group",
        "clipped_fraction_by_group",
        "private_score_histogram",
        "thresholds_for_selection_rate",
    )
