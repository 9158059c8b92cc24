"""Structure of the source notebook of 04_privacy_attacks_and_auditing (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "04_privacy_attacks_and_auditing"
    library_modules = ("respai.privacy.attacks",)
    exercises = (
        "loss_threshold_attack",
        "tpr_at_fpr",
        "gaussian_log_likelihood_ratio",
        "clopper_pearson_lower",
        "clopper_pearson_upper",
        "epsilon_lower_bound",
    )
