"""Structure of the source notebook of assignment 06_fairness_metrics (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "06_fairness_metrics"
    library_modules = ("respai.fairness.metrics",)
    exercises = (
        "selection_rate",
        "false_positive_rate",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "positive_predictive_value",
    )
