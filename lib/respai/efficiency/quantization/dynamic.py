r"""Dynamic int8 quantization of linear layers: int8 weights, activations quantized on the fly.

*Dynamic* quantization [1]_ stores each ``nn.Linear`` weight as int8 once
(symmetric, per tensor or per output channel) and, at every call, computes
the input's scale and zero-point from its actual range, quantizes it,
multiplies in int8 with int32 accumulation and rescales to float:

.. math:: y = s_x s_W \big((q_x - z_x)\, q_W^\top\big) + b .

No calibration data is needed, and on CPUs with int8 instructions (x86
VNNI/AVX2 via FBGEMM or oneDNN, ARM via QNNPACK) the matrix products of a
transformer run faster (1.9x and 2.8x faster than float32 on two 2-core build
machines, ``benchmarks/README.md``) and the weights take 4x less memory.

Which API, in torch 2.13: ``torch.ao.quantization.quantize_dynamic`` still
exists and works (it is used here), but since torch 2.10 it emits a
``DeprecationWarning`` pointing to ``torchao``'s
``quantize_(model, Int8DynamicActivationInt8WeightConfig())``. ``torchao`` is
not a dependency of the course, so :func:`quantize_dynamic_int8` calls the
``torch.ao`` API and silences exactly those deprecation warnings (nothing
else). It runs on CPU only: move the model to the CPU first.

Which kernels: each weight is packed once, at quantization, for one of
PyTorch's quantized engines (``torch.backends.quantized.supported_engines``:
``x86``, the default on x86 CPUs, FBGEMM's kernels for linear layers;
``fbgemm``; ``onednn``; ``qnnpack`` for ARM), and a call runs the kernels of
the engine it was packed for, whatever the global engine is then. Which is
fastest depends on the CPU (``benchmarks/efficiency.py --engine`` measures
it; ``benchmarks/README.md`` has figures). Choose with ``engine=``; the
default, ``"auto"`` (:func:`preferred_quantized_engine`), takes ``onednn`` on
CPUs with AMX int8 tile instructions (Intel Xeon 4th generation and later),
whose kernels oneDNN uses and FBGEMM does not (on one such 2-core machine the
int8 MiniLM was 1.1-1.2x faster with ``onednn`` than with ``x86`` timed in one
process, and 2.3-2.7x faster than float32 against 1.7-1.9x in separate
benchmark runs), and torch's current engine elsewhere.

:func:`simulate_dynamic_int8` computes the same rounding in floating point
("fake quantization", with :mod:`respai.efficiency.quantization.int8`): its
accuracy shows what int8 costs, and that all the speed comes from the
integer kernels, not from the rounding.

References
----------
.. [1] PyTorch, "Dynamic Quantization" tutorial (BERT),
   https://pytorch.org/tutorials/intermediate/dynamic_quantization_bert_tutorial.html
.. [2] B. Jacob et al., "Quantization and Training of Neural Networks for
   Efficient Integer-Arithmetic-Only Inference", CVPR 2018, Section 2.
.. [3] O. Zafrir, G. Boudoukh, P. Izsak and M. Wasserblat, "Q8BERT:
   Quantized 8Bit BERT", EMC2 Workshop at NeurIPS 2019.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from respai.efficiency.quantization.int8 import asymmetric_qparams, fake_quantize, quantize
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "quantize_dynamic_int8",
    "quantized_engines",
    "preferred_quantized_engine",
    "FakeQuantLinear",
    "simulate_dynamic_int8",
]

# The warnings torch 2.13 emits for this (deprecated but working) API; only these are silenced.
_DEPRECATIONS = (
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized"),
)


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def quantized_engines() -> list[str]:
    """The quantized engines this torch build can pack int8 weights for (e.g. ``"x86"``)."""
    return [e for e in torch.backends.quantized.supported_engines if e != "none"]


def _cpu_has_amx_int8() -> bool:
    # torch's own CPU-feature probe (cpuinfo); absent in builds without it.
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(probe and probe())


def preferred_quantized_engine() -> str:
    """The quantized engine :func:`quantize_dynamic_int8` packs for by default.

    ``"onednn"`` when this CPU has AMX tiles (oneDNN's int8 GEMM uses them,
    FBGEMM's does not) and the build has that engine; otherwise torch's
    current ``torch.backends.quantized.engine`` (``"x86"`` on x86 CPUs).
    """
    if _cpu_has_amx_int8() and "onednn" in quantized_engines():
        return "onednn"
    return torch.backends.quantized.engine


def quantize_dynamic_int8(
    model: nn.Module,
    *,
    per_channel: bool = False,
    inplace: bool = False,
    engine: str | None = "auto",
) -> nn.Module:
    """Replace every ``nn.Linear`` of ``model`` by PyTorch's dynamic int8 linear layer.

    Parameters
    ----------
    model : nn.Module
        A float model on the CPU (e.g. a Hugging Face BERT classifier).
    per_channel : bool, default False
        Per-output-channel weight scales (more accurate) instead of one per
        layer (PyTorch's default).
    inplace : bool, default False
        Modify ``model`` instead of a deep copy.
    engine : str or None, default "auto"
        The quantized engine to pack the weights for, one of
        :func:`quantized_engines` (e.g. ``"x86"``, ``"onednn"``, ``"fbgemm"``,
        ``"qnnpack"``); ``"auto"``: :func:`preferred_quantized_engine`;
        ``None``: the current ``torch.backends.quantized.engine``. The global
        engine is restored afterwards; the layers keep using the kernels they
        were packed for.

    Returns
    -------
    nn.Module
        The quantized model, for inference on the CPU (its linear layers have
        no trainable parameters any more).

    Raises
    ------
    ParameterValueError
        If the model has parameters off the CPU, or ``engine`` is not supported here.
    """
    model = _check_model(model)
    if not isinstance(per_channel, bool) or not isinstance(inplace, bool):
        raise ParameterTypeError("`per_channel` and `inplace` must be True or False.")
    devices = {p.device.type for p in model.parameters()}
    if devices - {"cpu"}:
        raise ParameterValueError(
            f"`model` must be on the CPU for dynamic int8 quantization; got parameters on "
            f"{sorted(devices)}. Call model.cpu() first: the int8 kernels are CPU kernels."
        )
    supported = quantized_engines()
    if engine == "auto":
        engine = preferred_quantized_engine()
    if engine is not None and engine not in supported:
        raise ParameterValueError(
            f"`engine` must be one of this build's quantized engines {supported}, 'auto' (the "
            f"fastest known for this CPU, {preferred_quantized_engine()!r}) or None (the current "
            f"one, {torch.backends.quantized.engine!r}); got {engine!r}."
        )
    previous = torch.backends.quantized.engine
    with warnings.catch_warnings():
        for category, message in _DEPRECATIONS:
            warnings.filterwarnings("ignore", message=message, category=category)
        from torch.ao import quantization as ao

        qconfig = ao.per_channel_dynamic_qconfig if per_channel else ao.default_dynamic_qconfig
        try:
            # The weights are packed (for this engine's kernels) inside quantize_dynamic.
            torch.backends.quantized.engine = engine or previous
            return ao.quantize_dynamic(
                model, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=inplace
            )
        finally:
            torch.backends.quantized.engine = previous


class FakeQuantLinear(nn.Module):
    r"""A linear layer that rounds like dynamic int8 quantization, computing in float.

    Weight: symmetric int8, per output channel or per tensor, rounded once.
    Input: asymmetric int8, per tensor, with :math:`(s_x, z_x)` from each call's
    own range. The output is :math:`\hat x \hat W^\top + b`.

    Parameters
    ----------
    linear : nn.Linear
        The float layer (copied).
    per_channel : bool, default False
    """

    def __init__(self, linear: nn.Linear, *, per_channel: bool = False) -> None:
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise ParameterTypeError(f"`linear` must be an nn.Linear; got {type(linear).__name__}.")
        weight = linear.weight.detach()
        self.register_buffer("weight", fake_quantize(weight, axis=0 if per_channel else None))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale, zero_point = asymmetric_qparams(x)
        codes = quantize(x, scale, zero_point)
        x_hat = scale * (codes.to(x.dtype) - zero_point.to(x.dtype))
        return nn.functional.linear(x_hat, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def simulate_dynamic_int8(model: nn.Module, *, per_channel: bool = False) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` replaced by a :class:`FakeQuantLinear`.

    Same rounding as int8 inference, float arithmetic, any device; for
    measuring the accuracy cost of int8 (no speed-up: it is slower than float).
    """
    model = copy.deepcopy(_check_model(model))
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear):
                setattr(parent, name, FakeQuantLinear(child, per_channel=per_channel))
    if isinstance(model, nn.Linear):
        return FakeQuantLinear(model, per_channel=per_channel)
    return model
