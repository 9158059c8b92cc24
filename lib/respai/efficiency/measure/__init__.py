r"""Measure what a model costs: size, arithmetic, time, memory, energy and carbon.

Each number answers a different question, and none predicts the others well:

* :func:`count_parameters`, :func:`count_nonzero_parameters`,
  :func:`model_size_bytes`, :func:`serialized_size_bytes`: how big is it, in
  memory and on disk (zeroed weights take the same bytes until the format
  changes)?
* :func:`count_flops` (PyTorch's ``FlopCounterMode``) and the analytic
  :func:`linear_flops`, :func:`conv2d_flops`, :func:`attention_flops`: how much
  arithmetic does one forward pass do (2 FLOPs per multiply-accumulate)?
* :func:`measure_latency` (:class:`LatencyStats`): how long does a call take,
  with warm-up, repeats, percentiles and device synchronisation?
  :func:`reuse_freed_cpu_memory` keeps the C library from handing freed
  memory back to the kernel, so that CPU timings measure compute rather than
  page faults.
* :func:`peak_memory_mb`: how much extra memory does a call need at its peak?
* :func:`measure_energy` (:class:`EnergyReport`): how much energy and CO2, with
  CodeCarbon, labelled as measured or estimated, with its assumptions;
  :func:`carbon_intensity` gives a country's grid intensity.

Examples
--------
>>> import torch
>>> layer = torch.nn.Linear(384, 384)
>>> count_parameters(layer), model_size_bytes(layer)
(147840, 591360)
>>> count_flops(layer, torch.zeros(8, 384)) == linear_flops(8, 384, 384, bias=False)
True
"""

from respai.efficiency.measure._allocator import reuse_freed_cpu_memory
from respai.efficiency.measure._energy import (
    ESTIMATE_UNCERTAINTY_FACTOR,
    EnergyReport,
    carbon_intensity,
    measure_energy,
)
from respai.efficiency.measure._flops import (
    attention_flops,
    conv2d_flops,
    count_flops,
    linear_flops,
)
from respai.efficiency.measure._latency import (
    LatencyStats,
    measure_latency,
    summarize_latency,
    synchronize,
)
from respai.efficiency.measure._memory import peak_memory_mb
from respai.efficiency.measure._size import (
    count_nonzero_parameters,
    count_parameters,
    model_size_bytes,
    serialized_size_bytes,
)

__all__ = [
    "count_parameters",
    "count_nonzero_parameters",
    "model_size_bytes",
    "serialized_size_bytes",
    "count_flops",
    "linear_flops",
    "conv2d_flops",
    "attention_flops",
    "LatencyStats",
    "summarize_latency",
    "measure_latency",
    "synchronize",
    "reuse_freed_cpu_memory",
    "peak_memory_mb",
    "EnergyReport",
    "measure_energy",
    "carbon_intensity",
    "ESTIMATE_UNCERTAINTY_FACTOR",
]
