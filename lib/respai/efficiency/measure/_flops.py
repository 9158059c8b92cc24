r"""Floating-point operations (FLOPs) of a forward pass: counted, and worked out by hand.

Convention (the one of :class:`torch.utils.flop_counter.FlopCounterMode`)
-------------------------------------------------------------------------
* One multiply-accumulate (MAC) is **2 FLOPs**: a product of an
  :math:`m \times k` by a :math:`k \times n` matrix costs :math:`2mnk`.
* Only matrix products and convolutions (and fused attention kernels, as the
  two products inside them) are counted. Bias additions, activations, softmax,
  normalisation, embeddings and element-wise operations are **not**: they are
  a few per output element, against :math:`2k` per element for the product.
  The ``bias`` flags of :func:`linear_flops` and :func:`conv2d_flops` add the
  bias additions for those who want them; ``bias=False`` reproduces the
  counter.
* FLOPs are a count of arithmetic, not a time: the same count runs at very
  different speeds depending on memory traffic, kernel launch overhead and
  parallelism (measure latency with :func:`~respai.efficiency.measure.measure_latency`).

References
----------
.. [1] PyTorch, ``torch/utils/flop_counter.py`` (``mm_flop``: "2 * k",
   ``conv_flop_count``: "bias is ignored").
.. [2] D. Narayanan et al., "Efficient Large-Scale Language Model Training on
   GPU Clusters Using Megatron-LM", SC 2021, Section 5.1 (per-layer count
   :math:`24bsh^2 + 4bs^2h`, of which attention is :math:`8bsh^2 + 4bs^2h`).
.. [3] J. Kaplan et al., "Scaling Laws for Neural Language Models",
   arXiv:2001.08361, 2020, Table 1.
"""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from respai._validation import check_non_negative_int, check_positive_int
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["count_flops", "linear_flops", "conv2d_flops", "attention_flops"]


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ParameterTypeError(f"`{name}` must be True or False; got {value!r}.")
    return value


def linear_flops(batch: int, in_features: int, out_features: int, *, bias: bool = True) -> int:
    r"""FLOPs of ``nn.Linear(in_features, out_features)`` on ``batch`` rows.

    .. math:: \text{FLOPs} = 2\,B\,d_\text{in}\,d_\text{out} \;[+\; B\,d_\text{out}
       \text{ if bias}]

    ``batch`` is the number of rows the layer sees: for a sequence model,
    batch size times sequence length.

    Parameters
    ----------
    batch, in_features, out_features : int
        Positive sizes.
    bias : bool, default True
        Add the :math:`B\,d_\text{out}` bias additions. ``FlopCounterMode``
        does not count them: pass ``bias=False`` to compare with it.

    Examples
    --------
    >>> linear_flops(32, 784, 10, bias=False)  # 2 * 32 * 784 * 10
    501760
    >>> linear_flops(32, 784, 10)  # + 32 * 10 bias additions
    502080
    """
    batch = check_positive_int("batch", batch)
    in_features = check_positive_int("in_features", in_features)
    out_features = check_positive_int("out_features", out_features)
    flops = 2 * batch * in_features * out_features
    if _check_bool("bias", bias):
        flops += batch * out_features
    return flops


def _pair(name: str, value: object, *, positive: bool = True) -> tuple[int, int]:
    check = check_positive_int if positive else check_non_negative_int
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (check(name, value),) * 2
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return check(name, value[0]), check(name, value[1])
    kind = "positive" if positive else "non-negative"
    raise ParameterTypeError(
        f"`{name}` must be a {kind} int or a pair (height, width) of them; got {value!r}."
    )


def conv2d_flops(
    batch: int,
    in_channels: int,
    out_channels: int,
    kernel_size: int | tuple[int, int],
    input_size: int | tuple[int, int],
    *,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    bias: bool = True,
) -> int:
    r"""FLOPs of ``nn.Conv2d`` on a batch of ``input_size`` images.

    Each output element is a dot product over :math:`(C_\text{in}/g)\,k_h k_w`
    inputs, and there are :math:`B\,C_\text{out}\,H_\text{out}W_\text{out}` of them:

    .. math:: \text{FLOPs} = 2\,B\,C_\text{out}\,H_\text{out}\,W_\text{out}\,
       \frac{C_\text{in}}{g}\,k_h\,k_w \;[+\; B\,C_\text{out}H_\text{out}W_\text{out}
       \text{ if bias}],
       \qquad H_\text{out} = \left\lfloor \frac{H + 2p_h - d_h(k_h - 1) - 1}{s_h}
       \right\rfloor + 1

    (likewise :math:`W_\text{out}`), the output size in the ``nn.Conv2d`` docs.

    Parameters
    ----------
    batch, in_channels, out_channels : int
        Positive sizes.
    kernel_size, input_size : int or (int, int)
        Kernel and input image size (height, width); an int means a square.
    stride, dilation : int or (int, int), default 1
        As in ``nn.Conv2d`` (positive).
    padding : int or (int, int), default 0
        Zero padding on each side (non-negative).
    groups : int, default 1
        Must divide both channel counts (``groups = in_channels`` is a
        depthwise convolution).
    bias : bool, default True
        Add one addition per output element. ``FlopCounterMode`` does not
        count it: pass ``bias=False`` to compare with it.

    Raises
    ------
    ParameterValueError
        If ``groups`` does not divide the channels or the kernel (dilated) is
        larger than the padded input.

    Examples
    --------
    >>> conv2d_flops(1, 3, 8, 3, 32, padding=1, bias=False)  # 2 * 8 * 32 * 32 * 3 * 9
    442368
    """
    batch = check_positive_int("batch", batch)
    in_channels = check_positive_int("in_channels", in_channels)
    out_channels = check_positive_int("out_channels", out_channels)
    kh, kw = _pair("kernel_size", kernel_size)
    h, w = _pair("input_size", input_size)
    sh, sw = _pair("stride", stride)
    ph, pw = _pair("padding", padding, positive=False)
    dh, dw = _pair("dilation", dilation)
    groups = check_positive_int("groups", groups)
    if in_channels % groups or out_channels % groups:
        raise ParameterValueError(
            f"`groups` must divide in_channels={in_channels} and out_channels={out_channels}; "
            f"got {groups}."
        )
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if h_out <= 0 or w_out <= 0:
        raise ParameterValueError(
            f"`kernel_size` must fit in the padded input; got kernel {(kh, kw)} "
            f"(dilation {(dh, dw)}) on input {(h, w)} with padding {(ph, pw)}."
        )
    outputs = batch * out_channels * h_out * w_out
    flops = 2 * outputs * (in_channels // groups) * kh * kw
    if _check_bool("bias", bias):
        flops += outputs
    return flops


def attention_flops(batch: int, seq_len: int, d_model: int, n_heads: int) -> int:
    r"""FLOPs of one multi-head self-attention block (matrix products only).

    With :math:`B` sequences of length :math:`L` and width :math:`d`:

    .. math:: \underbrace{4 \cdot 2BLd^2}_{Q,K,V,\text{ output projections}}
       + \underbrace{2BL^2d}_{QK^\top} + \underbrace{2BL^2d}_{AV}
       = 8BLd^2 + 4BL^2d.

    The count does not depend on ``n_heads``: :math:`h` heads of width
    :math:`d/h` do the same arithmetic as one head of width :math:`d`. The
    first term is linear in :math:`L`, the second quadratic: attention
    dominates once :math:`L > 2d`. Softmax, scaling, masking and biases are
    not counted (``FlopCounterMode``'s convention; Narayanan et al. 2021 [2]_).

    Parameters
    ----------
    batch, seq_len, d_model, n_heads : int
        Positive sizes; ``n_heads`` must divide ``d_model``.

    Examples
    --------
    >>> attention_flops(1, 128, 384, 12)  # MiniLM-L6, one layer: 8*128*384**2 + 4*128**2*384
    176160768
    """
    batch = check_positive_int("batch", batch)
    seq_len = check_positive_int("seq_len", seq_len)
    d_model = check_positive_int("d_model", d_model)
    n_heads = check_positive_int("n_heads", n_heads)
    if d_model % n_heads:
        raise ParameterValueError(f"`n_heads` must divide d_model={d_model}; got {n_heads}.")
    return 8 * batch * seq_len * d_model**2 + 4 * batch * seq_len**2 * d_model


# Kernels FlopCounterMode (torch 2.x) does not know, so a model using them would
# silently count as zero FLOPs: the CPU fused attention behind
# F.scaled_dot_product_attention, nn.MultiheadAttention's inference fast path, and
# the quantized linear layers of torch.ao.nn.quantized (quantized convolutions are
# still not counted).
def _cpu_sdpa_flop(query, key, value, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query, key, value)


def _native_mha_flop(query, key, value, *args, out_shape=None, **kwargs) -> int:
    b, lq, d = query
    lk = key[1]
    # Q and output projections on lq rows, K and V on lk rows, then QK^T and AV.
    return 4 * b * lq * d * d + 4 * b * lk * d * d + 4 * b * lq * lk * d


def _quantized_linear_flop(x, *args, out_shape=None, **kwargs) -> int:
    # int8 multiply-accumulates count like float ones: 2 per MAC, in_features per output.
    return 2 * math.prod(out_shape) * x[-1]


_QUANTIZED_LINEAR_OPS = (
    "linear",
    "linear_relu",
    "linear_dynamic",
    "linear_relu_dynamic",
    "linear_dynamic_fp16",
)


def _custom_mapping() -> dict:
    aten = torch.ops.aten
    mapping = {}
    for name, formula in (
        ("_scaled_dot_product_flash_attention_for_cpu", _cpu_sdpa_flop),
        ("_native_multi_head_attention", _native_mha_flop),
    ):
        if hasattr(aten, name):
            mapping[getattr(aten, name)] = formula
    for name in _QUANTIZED_LINEAR_OPS:
        try:
            mapping[getattr(torch.ops.quantized, name)] = _quantized_linear_flop
        except (AttributeError, RuntimeError):  # op absent from this build
            continue
    return mapping


@contextlib.contextmanager
def _no_mha_fastpath():
    """Turn off the fused inference path of nn.MultiheadAttention/TransformerEncoder.

    Its kernels run below the dispatcher, so the counter would see nothing.
    """
    backend = getattr(torch.backends, "mha", None)
    if backend is None or not hasattr(backend, "set_fastpath_enabled"):
        yield
        return
    previous = backend.get_fastpath_enabled()
    backend.set_fastpath_enabled(False)
    try:
        yield
    finally:
        backend.set_fastpath_enabled(previous)


def count_flops(model: Callable, *inputs, **kwargs) -> int:
    """FLOPs of one forward call ``model(*inputs, **kwargs)``, counted by PyTorch.

    Runs the call once under :class:`torch.utils.flop_counter.FlopCounterMode`
    with gradients off, so only the forward pass is counted (a training step
    costs about three times as much: the backward pass has two products per
    forward product [3]_). Conventions are in this module's docstring: 2 FLOPs
    per multiply-accumulate, matrix products and convolutions only. Two
    kernels the counter misses are counted here too: CPU fused attention and
    quantized linear layers (int8 MACs at 2 FLOPs each); nn.MultiheadAttention's
    inference fast path is switched off for the call. Quantized convolutions
    are not counted.

    Parameters
    ----------
    model : callable
        An ``nn.Module`` or any function of tensors.
    *inputs, **kwargs
        Passed to ``model``.

    Returns
    -------
    int
        Total FLOPs of the call (independent of the machine and of timing).

    Examples
    --------
    >>> count_flops(torch.nn.Linear(784, 10), torch.zeros(32, 784))
    501760
    """
    if not callable(model):
        raise ParameterTypeError(
            f"`model` must be an nn.Module or a callable; got {type(model).__name__}."
        )
    counter = FlopCounterMode(display=False, custom_mapping=_custom_mapping())
    with torch.no_grad(), _no_mha_fastpath(), counter:
        model(*inputs, **kwargs)
    return int(counter.get_total_flops())
