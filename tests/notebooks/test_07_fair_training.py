"""Structure of the source notebook of assignment 07_fair_training (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "07_fair_training"
    library_modules = (
        "respai.fairness.mitigation.reweighing",
        "respai.fairness.mitigation.lagrangian",
        "respai.fairness.mitigation.exponentiated_gradient",
        "respai.fairness.mitigation.threshold",
    )
    exercises = (
        "reweighing_weights",
        "dual_update",
        "exponentiated_multipliers",
        "group_thresholds_for_selection_rate",
    )
