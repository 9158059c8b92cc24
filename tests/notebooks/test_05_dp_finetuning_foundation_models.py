"""Structure of the source notebook of assignment 05_dp_finetuning_foundation_models (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "05_dp_finetuning_foundation_models"
    library_modules = (
        "respai.privacy.dpsgd.ghost_clipping",
        "respai.adapters",
        "respai.privacy.attacks",
    )
    exercises = (
        "ghost_norm_sq",
        "freeze_all_but",
        "lora_linear",
        "best_membership_advantage",
    )
