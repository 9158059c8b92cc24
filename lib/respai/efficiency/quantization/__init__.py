"""Quantization: store and compute with 8-bit integers instead of 32-bit floats.

* :mod:`~respai.efficiency.quantization.int8`: symmetric / asymmetric,
  per-tensor / per-channel quantize and dequantize, with the error bound
  :math:`|x - \\hat x| \\le s/2` (equal to PyTorch's fake-quantization ops).
* :mod:`~respai.efficiency.quantization.dynamic`: dynamic int8 quantization of
  a model's linear layers with PyTorch's API, and a float simulation of it.
"""

from respai.efficiency.quantization.dynamic import (
    FakeQuantLinear,
    preferred_quantized_engine,
    quantize_dynamic_int8,
    quantized_engines,
    simulate_dynamic_int8,
)
from respai.efficiency.quantization.int8 import (
    QMAX,
    QMIN,
    asymmetric_qparams,
    dequantize,
    fake_quantize,
    quantize,
    symmetric_qparams,
)

__all__ = [
    "QMIN",
    "QMAX",
    "symmetric_qparams",
    "asymmetric_qparams",
    "quantize",
    "dequantize",
    "fake_quantize",
    "quantize_dynamic_int8",
    "quantized_engines",
    "preferred_quantized_engine",
    "FakeQuantLinear",
    "simulate_dynamic_int8",
]
