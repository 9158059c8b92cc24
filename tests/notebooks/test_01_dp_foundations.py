"""Structure of the source notebook of assignment 01_dp_foundations (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "01_dp_foundations"
    library_modules = (
        "respai.privacy.mechanisms",
        "respai.privacy.sensitivity",
        "respai.privacy.composition",
    )
    exercises = (
        "randomized_response",
        "randomized_response_estimate",
        "laplace_mechanism",
        "split_budget",
        "count_sensitivity",
        "bounded_sum_sensitivity",
        "clipped_mean_sensitivity",
    )
