"""Structure of the source notebook of assignment 10_pruning_and_quantization (see structure.py)."""

from tests.notebooks.structure import NotebookStructure


class TestStructure(NotebookStructure):
    assignment = "10_pruning_and_quantization"
    library_modules = (
        "respai.efficiency.pruning.magnitude",
        "respai.efficiency.pruning.structured",
        "respai.efficiency.quantization.int8",
    )
    exercises = (
        "magnitude_mask",
        "global_magnitude_masks",
        "channel_importance",
        "select_channels",
        "quantize",
        "dequantize",
        "symmetric_qparams",
        "asymmetric_qparams",
    )
