r"""Affine int8 quantization of tensors: scales, zero-points, quantize and dequantize.

A real number :math:`x` is stored as an 8-bit integer :math:`q` with a scale
:math:`s > 0` and an integer zero-point :math:`z` [1]_:

.. math::

    q = \operatorname{clamp}\big(\operatorname{round}(x / s) + z,\; -128,\; 127\big),
    \qquad \hat x = s\,(q - z).

*Symmetric* quantization fixes :math:`z = 0` and :math:`s = \max|x| / 127`,
so :math:`\pm\max|x|` map to :math:`\pm 127` (the usual choice for weights).
*Asymmetric* quantization maps the range :math:`[\min(x, 0), \max(x, 0)]`
onto all 256 levels, :math:`s = (\max - \min) / 255` and
:math:`z = -128 - \operatorname{round}(\min / s)`, which wastes no level on
one-sided data such as ReLU outputs; 0 is always exactly representable.
*Per-tensor* quantization uses one :math:`(s, z)` for the whole tensor,
*per-channel* one per slice along ``axis`` (e.g. per output channel of a
weight), which helps when channels have very different ranges [2]_.

Error bound: rounding moves :math:`x/s` by at most :math:`1/2`, so every
:math:`x` inside the representable range :math:`[s(-128 - z), s(127 - z)]`
satisfies :math:`|x - \hat x| \le s / 2` (up to floating-point rounding of
:math:`x/s`); values outside are clipped to the range's ends. Scales from
:func:`symmetric_qparams` and :func:`asymmetric_qparams` put every entry of
the tensor they were computed from inside the range.

``round`` is round-half-to-even and :math:`x / s` is computed as
:math:`x \cdot (1/s)` in the input's precision, exactly as PyTorch's
quantization kernels do: :func:`quantize` then :func:`dequantize` equals
:func:`torch.fake_quantize_per_tensor_affine` / ``per_channel_affine``
bit for bit (tested).

References
----------
.. [1] B. Jacob et al., "Quantization and Training of Neural Networks for
   Efficient Integer-Arithmetic-Only Inference", CVPR 2018, Section 2.1 (Eq. 1).
.. [2] R. Krishnamoorthi, "Quantizing deep convolutional networks for
   efficient inference: A whitepaper", arXiv:1806.08342, 2018, Sections 2.1-2.3.
"""

from __future__ import annotations

import torch

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "QMIN",
    "QMAX",
    "symmetric_qparams",
    "asymmetric_qparams",
    "quantize",
    "dequantize",
    "fake_quantize",
]

#: The int8 range.
QMIN, QMAX = -128, 127


def _check_float(name: str, x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ParameterTypeError(
            f"`{name}` must be a floating-point torch.Tensor; got "
            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}."
        )
    if x.numel() == 0:
        raise ParameterValueError(
            f"`{name}` must have at least one entry; got shape {tuple(x.shape)}."
        )
    if not torch.isfinite(x).all():
        raise ParameterValueError(f"`{name}` must be finite (no NaN or infinity).")
    return x


def _check_axis(axis: int | None, ndim: int) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ParameterValueError(
            f"`axis` must be None (per-tensor) or an integer in [{-ndim}, {ndim}); got {axis!r}."
        )
    return axis % ndim


def _reduce(x: torch.Tensor, axis: int | None, op: str) -> torch.Tensor:
    """min/max over everything (axis None) or over every dimension but ``axis``."""
    if axis is None:
        return getattr(x, op)()
    moved = x.movedim(axis, 0).reshape(x.shape[axis], -1)
    return getattr(moved, op)(dim=1).values


def _broadcast(param: torch.Tensor, x: torch.Tensor, axis: int | None) -> torch.Tensor:
    if axis is None or param.ndim == 0:
        return param
    shape = [1] * x.ndim
    shape[axis] = -1
    return param.reshape(shape)


def _floor_scale(scale: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    # An all-zero tensor (or channel) would give scale 0; like PyTorch's observers we use the
    # machine epsilon instead, so x / s is defined and 0 still quantizes to exactly 0.
    return scale.clamp_min(torch.finfo(dtype).eps)


def symmetric_qparams(
    x: torch.Tensor, *, axis: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Scale and zero-point of symmetric int8: :math:`s = \max|x| / 127`, :math:`z = 0`.

    Parameters
    ----------
    x : torch.Tensor
        Floating-point, finite.
    axis : int or None, default None
        ``None``: one scale for the tensor; an integer: one per slice along that axis.

    Returns
    -------
    scale : torch.Tensor
        Shape ``()`` or ``(x.shape[axis],)``, ``x``'s dtype.
    zero_point : torch.Tensor
        Zeros of the same shape, int64.

    Examples
    --------
    >>> symmetric_qparams(torch.tensor([-2.54, 1.0]))
    (tensor(0.0200), tensor(0))
    """
    x = _check_float("x", x)
    axis = _check_axis(axis, x.ndim)
    amax = torch.maximum(_reduce(x.detach(), axis, "max"), -_reduce(x.detach(), axis, "min"))
    scale = _floor_scale(amax / QMAX, x.dtype)
    return scale, torch.zeros_like(scale, dtype=torch.int64)


def asymmetric_qparams(
    x: torch.Tensor, *, axis: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Scale and zero-point mapping :math:`[\min(x, 0), \max(x, 0)]` onto :math:`[-128, 127]`.

    .. math:: s = \frac{\max(x, 0) - \min(x, 0)}{255}, \qquad
              z = -128 - \operatorname{round}\Big(\frac{\min(x, 0)}{s}\Big).

    Parameters and returns are as in :func:`symmetric_qparams`; :math:`z` is in
    :math:`[-128, 127]`.

    Examples
    --------
    >>> asymmetric_qparams(torch.tensor([0.0, 2.55]))
    (tensor(0.0100), tensor(-128))
    >>> asymmetric_qparams(torch.tensor([-1.0, 1.55]))
    (tensor(0.0100), tensor(-28))
    """
    x = _check_float("x", x)
    axis = _check_axis(axis, x.ndim)
    low = _reduce(x.detach(), axis, "min").clamp_max(0)
    high = _reduce(x.detach(), axis, "max").clamp_min(0)
    scale = _floor_scale((high - low) / (QMAX - QMIN), x.dtype)
    zero_point = (QMIN - torch.round(low / scale)).to(torch.int64).clamp(QMIN, QMAX)
    return scale, zero_point


def _check_params(scale, zero_point, x, axis) -> tuple[torch.Tensor, torch.Tensor]:
    scale = torch.as_tensor(
        scale, dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device
    )
    zero_point = torch.as_tensor(zero_point, device=x.device)
    if not torch.isfinite(scale).all() or (scale <= 0).any():
        raise ParameterValueError(f"`scale` must be finite and > 0; got {scale}.")
    if zero_point.is_floating_point() and (zero_point != zero_point.round()).any():
        raise ParameterValueError(f"`zero_point` must hold integers; got {zero_point}.")
    if ((zero_point < QMIN) | (zero_point > QMAX)).any():
        raise ParameterValueError(f"`zero_point` must be in [{QMIN}, {QMAX}]; got {zero_point}.")
    expected = () if axis is None else (x.shape[axis],)
    for name, value in (("scale", scale), ("zero_point", zero_point)):
        if value.ndim != 0 and tuple(value.shape) != expected:
            raise ParameterValueError(
                f"`{name}` must be a scalar{' or have shape ' + str(expected) if expected else ''}"
                f" for axis={axis}; got shape {tuple(value.shape)}."
            )
    return scale, zero_point.to(torch.int64)


def quantize(
    x: torch.Tensor,
    scale: torch.Tensor | float,
    zero_point: torch.Tensor | int,
    *,
    axis: int | None = None,
) -> torch.Tensor:
    r"""Int8 codes :math:`q = \operatorname{clamp}(\operatorname{round}(x/s) + z, -128, 127)`.

    Parameters
    ----------
    x : torch.Tensor
        Floating-point, finite.
    scale : torch.Tensor or float
        :math:`s > 0`: a scalar, or one per slice along ``axis``.
    zero_point : torch.Tensor or int
        :math:`z \in [-128, 127]`, same shape as ``scale``.
    axis : int or None, default None
        The axis ``scale`` and ``zero_point`` run along (per-channel), or None.

    Returns
    -------
    torch.Tensor of torch.int8, ``x``'s shape.

    Examples
    --------
    >>> quantize(torch.tensor([-1.0, 0.014, 0.015, 5.0]), 0.01, 0)
    tensor([-100,    1,    2,  127], dtype=torch.int8)
    """
    x = _check_float("x", x)
    axis = _check_axis(axis, x.ndim)
    scale, zero_point = _check_params(scale, zero_point, x, axis)
    inverse = 1.0 / _broadcast(scale, x, axis)  # like PyTorch's kernels: multiply by 1/s
    codes = torch.round(x * inverse) + _broadcast(zero_point, x, axis)
    return codes.clamp(QMIN, QMAX).to(torch.int8)


def dequantize(
    q: torch.Tensor,
    scale: torch.Tensor | float,
    zero_point: torch.Tensor | int,
    *,
    axis: int | None = None,
) -> torch.Tensor:
    r"""Real values :math:`\hat x = s\,(q - z)` of int8 codes ``q``.

    Parameters are as in :func:`quantize`; the result has ``scale``'s dtype
    (float32 for a Python float).

    Examples
    --------
    >>> dequantize(torch.tensor([-100, 1, 127], dtype=torch.int8), 0.01, 0)
    tensor([-1.0000,  0.0100,  1.2700])
    """
    if not isinstance(q, torch.Tensor) or q.dtype != torch.int8:
        raise ParameterTypeError(
            f"`q` must be a torch.int8 tensor (from quantize); got "
            f"{q.dtype if isinstance(q, torch.Tensor) else type(q).__name__}."
        )
    axis = _check_axis(axis, q.ndim)
    dtype = scale.dtype if isinstance(scale, torch.Tensor) else torch.float32
    scale, zero_point = _check_params(scale, zero_point, q.to(dtype), axis)
    centred = q.to(torch.int64) - _broadcast(zero_point, q, axis)
    return _broadcast(scale, q, axis) * centred.to(dtype)


def fake_quantize(
    x: torch.Tensor, *, symmetric: bool = True, axis: int | None = None
) -> torch.Tensor:
    """``dequantize(quantize(x))`` with parameters computed from ``x`` itself.

    Parameters
    ----------
    x : torch.Tensor
    symmetric : bool, default True
        :func:`symmetric_qparams` or :func:`asymmetric_qparams`.
    axis : int or None, default None
        Per-tensor or per-channel along ``axis``.

    Returns
    -------
    torch.Tensor
        ``x`` rounded to the int8 grid, in ``x``'s dtype; every entry is within
        ``scale / 2`` of ``x``.

    Examples
    --------
    >>> fake_quantize(torch.tensor([0.0, 0.3, 1.27]))
    tensor([0.0000, 0.3000, 1.2700])
    """
    if not isinstance(symmetric, bool):
        raise ParameterTypeError(f"`symmetric` must be True or False; got {symmetric!r}.")
    qparams = symmetric_qparams if symmetric else asymmetric_qparams
    scale, zero_point = qparams(x, axis=axis)
    return dequantize(quantize(x, scale, zero_point, axis=axis), scale, zero_point, axis=axis)
