r"""How big a model is: parameters, non-zero parameters, bytes in memory and on disk.

What is counted
---------------
* **Parameters** are the tensors returned by ``model.parameters()`` (shared
  tensors once), plus the weight and bias packed inside PyTorch's quantized
  modules (``torch.ao.nn.quantized[.dynamic].Linear``, quantized convolutions),
  which hide them from ``parameters()``.
* **Buffers** (BatchNorm running statistics, pruning masks, int8 weights a
  custom module stores as a buffer) are not parameters, but they occupy memory,
  so :func:`model_size_bytes` counts them.
* Pruning with :mod:`torch.nn.utils.prune` keeps the original weight as the
  parameter ``weight_orig`` and adds a buffer ``weight_mask``: the pruned model
  has the same parameter count and is *larger* in memory. Only
  :func:`count_nonzero_parameters` sees the zeros, through the effective
  ``weight = weight_orig * weight_mask``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import torch
from torch import nn

from respai.exceptions import ParameterTypeError

__all__ = [
    "count_parameters",
    "count_nonzero_parameters",
    "model_size_bytes",
    "serialized_size_bytes",
]

_PRUNE_SUFFIX = "_orig"


def _check_module(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def _packed_weights(model: nn.Module) -> Iterator[torch.Tensor]:
    """Weight and bias of each quantized module whose parameters are packed.

    ``torch.ao.nn.quantized`` modules keep them in a TorchScript object
    (``_packed_params``) that ``parameters()`` and ``buffers()`` do not see;
    their ``_weight_bias()`` unpacks them. A ``Linear`` delegates to a child
    ``LinearPackedParams`` module, which is the one visited here, so nothing
    is counted twice.
    """
    for module in model.modules():
        packed = getattr(module, "_packed_params", None)
        unpack = getattr(module, "_weight_bias", None)
        if packed is None or isinstance(packed, nn.Module) or not callable(unpack):
            continue
        for tensor in unpack():
            if isinstance(tensor, torch.Tensor):
                yield tensor


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    r"""Number of scalar parameters, :math:`\sum_{W} \operatorname{numel}(W)`.

    Parameters
    ----------
    model : nn.Module
        Any module; tensors shared between layers are counted once.
    trainable_only : bool, default False
        Count only parameters with ``requires_grad=True`` (quantized packed
        weights are never trainable).

    Returns
    -------
    int
        The count. Buffers are not parameters and are not counted.

    Examples
    --------
    >>> count_parameters(nn.Linear(3, 2))  # 3 * 2 weights + 2 biases
    8
    """
    model = _check_module(model)
    if not isinstance(trainable_only, bool):
        raise ParameterTypeError(f"`trainable_only` must be True or False; got {trainable_only!r}.")
    total = sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
    if not trainable_only:
        total += sum(t.numel() for t in _packed_weights(model))
    return int(total)


def _effective_parameters(model: nn.Module) -> Iterator[torch.Tensor]:
    """Each parameter as the forward pass sees it (pruning masks applied)."""
    seen: set[int] = set()
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            tensor = param
            if name.endswith(_PRUNE_SUFFIX):
                masked = getattr(module, name[: -len(_PRUNE_SUFFIX)], None)
                if isinstance(masked, torch.Tensor) and masked.shape == param.shape:
                    tensor = masked
            if id(param) not in seen:
                seen.add(id(param))
                yield tensor
    yield from _packed_weights(model)


def count_nonzero_parameters(model: nn.Module) -> int:
    r"""Number of parameters that are not exactly zero, :math:`\sum_W \|W\|_0`.

    Pruned weights (:mod:`torch.nn.utils.prune`) are read through their mask;
    quantized weights are compared after dequantisation (a stored value equal
    to the zero point is a zero).

    Examples
    --------
    >>> layer = nn.Linear(3, 2)
    >>> _ = nn.init.zeros_(layer.weight)
    >>> count_nonzero_parameters(layer) <= 2  # only the biases can be non-zero
    True
    """
    model = _check_module(model)
    total = 0
    with torch.no_grad():
        for tensor in _effective_parameters(model):
            values = tensor.dequantize() if tensor.is_quantized else tensor
            total += int(torch.count_nonzero(values))
    return total


def _tensor_bytes(tensor: torch.Tensor) -> int:
    """Bytes of a tensor's elements, plus a quantized tensor's scales and zero points."""
    size = tensor.numel() * tensor.element_size()
    if tensor.is_quantized:
        if tensor.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            size += 8 + 8  # one float64 scale, one int64 zero point
        else:
            scales = tensor.q_per_channel_scales()
            points = tensor.q_per_channel_zero_points()
            size += scales.numel() * scales.element_size()
            size += points.numel() * points.element_size()
    return size


def model_size_bytes(model: nn.Module) -> int:
    r"""Bytes the model's tensors occupy in memory, :math:`\sum_T \operatorname{numel}(T)
    \cdot \operatorname{bytes}(\operatorname{dtype}_T)`.

    Counts every parameter and buffer once (shared tensors once), in its
    actual dtype (4 bytes for float32, 2 for float16/bfloat16, 1 for int8 and
    quantized int8), and the weights packed inside quantized modules, with
    their scales and zero points. Not counted: Python objects, allocator
    overhead and padding, and anything a backend's packed format adds beyond
    the unpacked tensors.

    Examples
    --------
    >>> model_size_bytes(nn.Linear(3, 2))  # 8 float32 parameters
    32
    >>> model_size_bytes(nn.Linear(3, 2).half())
    16
    """
    model = _check_module(model)
    seen: set[int] = set()
    total = 0
    for tensor in list(model.parameters()) + list(model.buffers()):
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        total += _tensor_bytes(tensor)
    total += sum(_tensor_bytes(t) for t in _packed_weights(model))
    return int(total)


def serialized_size_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what the model costs on disk.

    Written to memory (:class:`io.BytesIO`), never to a file. It includes the
    pickle and zip framing (a few hundred bytes per tensor), so it exceeds
    :func:`model_size_bytes` slightly for large models and noticeably for tiny
    ones; it does not include the model's code.

    Examples
    --------
    >>> serialized_size_bytes(nn.Linear(3, 2)) > model_size_bytes(nn.Linear(3, 2))
    True
    """
    model = _check_module(model)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
