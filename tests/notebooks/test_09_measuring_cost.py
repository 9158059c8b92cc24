"""Structure of the source notebook of assignment 09_measuring_cost (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "09_measuring_cost"
    library_modules = ("respai.efficiency.measure",)
    exercises = ("linear_flops", "conv2d_flops", "attention_flops", "summarize_latency")
