"""Structure of the source notebook of assignment 03_dp_sgd (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "03_dp_sgd"
    library_modules = (
        "respai.privacy.dpsgd.grad_sample",
        "respai.privacy.dpsgd.clipping",
        "respai.privacy.dpsgd.data_loader",
    )
    exercises = (
        "per_sample_gradients",
        "clip_and_sum",
        "noisy_average",
        "poisson_sample",
    )
