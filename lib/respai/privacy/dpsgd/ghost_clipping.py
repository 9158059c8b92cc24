r"""Ghost clipping: DP-SGD without materialising per-sample gradients.

DP-SGD needs the norm :math:`\lVert g_i \rVert_2` of each example's gradient,
then the sum :math:`\sum_i c_i g_i` with :math:`c_i = \min(1, C/\lVert g_i\rVert_2)`.
For a linear layer :math:`y_t = W a_t + b` applied to the :math:`T` positions
of a sequence, example :math:`i`'s weight gradient is
:math:`G_i = \sum_t \dot y_{i,t} a_{i,t}^\top` (:math:`\dot y = \partial \ell_i/\partial y`),
a :math:`d_\text{out}\times d_\text{in}` matrix per example, and its squared
norm needs only inner products along the sequence (Li et al. 2022, Section 4):

.. math::

    \lVert G_i \rVert_F^2 = \sum_{t, t'} (a_{i,t}\cdot a_{i,t'})\,
                                      (\dot y_{i,t}\cdot \dot y_{i,t'})
    = \langle A_i A_i^\top, \dot Y_i \dot Y_i^\top \rangle_F ,

:math:`O(T^2(d_\text{in}+d_\text{out}))` work and :math:`T^2` memory per
example instead of :math:`d_\text{in} d_\text{out}`; for :math:`T = 1` it is
Goodfellow's (2015) :math:`\lVert a_i\rVert^2 \lVert \dot y_i \rVert^2`. When
:math:`T^2 > d_\text{in} d_\text{out}` (e.g. a rank-8 LoRA factor) forming
:math:`G_i` directly is cheaper, and :func:`linear_norm_sq` does that.
Embeddings use the same identity with :math:`a_t\cdot a_{t'}` replaced by
:math:`\mathbb 1[\text{id}_t = \text{id}_{t'}]`. A convolution is a linear
layer applied to the :math:`T` patches of its input (``F.unfold``): with
:math:`a_{i,t}` the flattened patch at output position :math:`t`, the same
two forms apply, the smaller one per layer ("mixed ghost clipping", Bu et al.
2022), and grouped convolutions sum the forms of their groups. LayerNorm's and
GroupNorm's per-example gradients are vectors of size :math:`d` (channels for
GroupNorm), computed directly.

The clipped sum then comes from the same stored activations and output
gradients, :math:`\sum_i c_i G_i = \sum_{i,t} (c_i \dot y_{i,t}) a_{i,t}^\top`,
one matrix product per layer ("book-keeping", Bu et al. 2023), instead of a
second backward pass. The backward pass itself computes only the gradients
with respect to the layers' *inputs*: the weights' (non-private) gradient is
never formed.

References
----------
.. [1] X. Li, F. Tramèr, P. Liang, T. Hashimoto, "Large Language Models Can Be
   Strong Differentially Private Learners", ICLR 2022, Section 4 ("ghost clipping").
.. [2] Z. Bu, Y.-X. Wang, S. Zha, G. Karypis, "Differentially Private
   Optimization on Large Model at Small Cost", ICML 2023, Algorithm 1 ("book-keeping").
.. [3] I. Goodfellow, "Efficient Per-Example Gradient Computations", arXiv:1510.01799, 2015.
.. [4] Z. Bu, J. Mao, S. Xu, "Scalable and Efficient Training of Large Convolutional
   Neural Networks with Differential Privacy", NeurIPS 2022, Section 3 ("mixed ghost
   clipping": per layer, the ghost norm or the per-sample gradient, whichever is smaller).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.dpsgd.clipping import clip_factors, noisy_average
from respai.privacy.dpsgd.grad_sample import check_loss_reduction
from respai.privacy.dpsgd.optimizer import DPOptimizer

__all__ = [
    "GRAD_SAMPLE_MODES",
    "ghost_norm_sq",
    "linear_norm_sq",
    "embedding_norm_sq",
    "conv_norm_sq",
    "conv_patches",
    "GhostClippingModule",
    "GhostDPOptimizer",
]

#: How ``make_private`` gets per-sample gradient norms.
GRAD_SAMPLE_MODES = ("vmap", "ghost")
_CONVS = (nn.Conv1d, nn.Conv2d)
_NORMS = (nn.LayerNorm, nn.GroupNorm)
_SUPPORTED = (nn.Linear, nn.Embedding, *_NORMS, *_CONVS)
_SUPPORTED_NAMES = "nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding, nn.LayerNorm and nn.GroupNorm"


def check_grad_sample_mode(mode: object) -> str:
    if mode not in GRAD_SAMPLE_MODES:
        raise ParameterValueError(
            f"`grad_sample_mode` must be 'vmap' or 'ghost'; got {mode!r}. 'ghost' (ghost "
            f"clipping, for models built from {_SUPPORTED_NAMES}) is faster and needs less "
            "memory; 'vmap' supports any layer."
        )
    return str(mode)


def _as_sequence(t: torch.Tensor) -> torch.Tensor:
    """``(B, ..., d)`` as ``(B, T, d)``: every middle dimension is a position."""
    return t.unsqueeze(1) if t.ndim == 2 else t.flatten(1, -2)


def ghost_norm_sq(activations: torch.Tensor, grad_outputs: torch.Tensor) -> torch.Tensor:
    r"""Squared norm of each example's linear-layer weight gradient, by the ghost trick.

    .. math::

        \lVert G_i \rVert_F^2 = \sum_{t,t'} (a_{i,t}\cdot a_{i,t'})(\dot y_{i,t}\cdot\dot y_{i,t'})

    (Li et al. 2022, Section 4), without forming :math:`G_i = \sum_t \dot y_{i,t} a_{i,t}^\top`.

    Parameters
    ----------
    activations : torch.Tensor
        The layer's inputs :math:`a`, shape ``(B, d_in)`` or ``(B, T, d_in)``.
    grad_outputs : torch.Tensor
        Gradients of example :math:`i`'s loss with respect to the outputs,
        ``(B, d_out)`` or ``(B, T, d_out)``.

    Returns
    -------
    torch.Tensor
        Shape ``(B,)``.

    Examples
    --------
    >>> a = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # one example, T = 2
    >>> g = torch.tensor([[[3.0], [4.0]]])
    >>> ghost_norm_sq(a, g)  # G = [[3, 8]]
    tensor([73.])
    """
    a, g = _as_sequence(activations), _as_sequence(grad_outputs)
    return _ghost_from_gram(_gram(a), g)


def _gram(x: torch.Tensor) -> torch.Tensor:
    """Per-example Gram matrices :math:`x_i x_i^\top` of ``(B, T, d)``: ``(B, T, T)``."""
    return torch.bmm(x, x.transpose(1, 2))


def _ghost_from_gram(activation_gram: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return (activation_gram * _gram(g)).sum(dim=(1, 2))


def linear_norm_sq(activations: torch.Tensor, grad_outputs: torch.Tensor) -> torch.Tensor:
    r"""Like :func:`ghost_norm_sq`, but forms :math:`G_i` when that is cheaper.

    The ghost form keeps :math:`2T^2` numbers per example, the direct one
    :math:`d_\text{in} d_\text{out}` (Li et al. 2022 compare the same two):
    the smaller wins.
    """
    return _linear_norm_sq(_as_sequence(activations), _as_sequence(grad_outputs), _gram)


def _linear_norm_sq(a: torch.Tensor, g: torch.Tensor, activation_gram) -> torch.Tensor:
    """:func:`linear_norm_sq` of ``(B, T, d)`` tensors; ``activation_gram(a)`` gives the
    activations' Gram matrices, so that a caller can reuse one it already has."""
    t, d_in, d_out = a.shape[1], a.shape[2], g.shape[2]
    if 2 * t * t <= d_in * d_out:
        return _ghost_from_gram(activation_gram(a), g)
    return torch.bmm(g.transpose(1, 2), a).pow(2).sum(dim=(1, 2))


def embedding_norm_sq(
    ids: torch.Tensor, grad_outputs: torch.Tensor, padding_idx: int | None = None
) -> torch.Tensor:
    r"""Squared norm of each example's embedding-table gradient.

    Row :math:`v` of example :math:`i`'s gradient is
    :math:`\sum_{t: \text{id}_{i,t} = v} \dot y_{i,t}`, so

    .. math::

        \lVert G_i \rVert_F^2 = \sum_{t,t'} \mathbb 1[\text{id}_{i,t} = \text{id}_{i,t'}]\,
                                (\dot y_{i,t}\cdot\dot y_{i,t'}),

    with positions holding ``padding_idx`` left out (their row gets no gradient).

    Examples
    --------
    >>> embedding_norm_sq(torch.tensor([[5, 5, 7]]), torch.tensor([[[1.0], [2.0], [4.0]]]))
    tensor([25.])
    """
    ids = ids.reshape(ids.shape[0], 1) if ids.ndim == 1 else ids.flatten(1)
    g = _as_sequence(grad_outputs)
    if padding_idx is not None:
        g = g * (ids != padding_idx).unsqueeze(-1).to(g.dtype)
    same = (ids.unsqueeze(2) == ids.unsqueeze(1)).to(g.dtype)
    return (same * torch.bmm(g, g.transpose(1, 2))).sum(dim=(1, 2))


def conv_patches(
    inputs: torch.Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    channels_last: bool = False,
) -> torch.Tensor:
    r"""The input patch under each output position of a convolution, ``(B, T, C k_1 \cdots k_n)``.

    Row :math:`t` of example :math:`i` is the flattened patch :math:`a_{i,t}`
    with which the kernel is multiplied at output position :math:`t`, for any
    number :math:`n` of spatial dimensions: channel-major, as ``F.unfold``
    orders it, or with ``channels_last=True`` channel-minor (offset
    :math:`(k_1, \dots, k_n)` major). It is built as one strided view of the
    zero-padded input and one copy (``F.unfold`` loops over the examples on
    the CPU). Channel-minor patches copy runs of :math:`k_n C` contiguous
    numbers instead of :math:`k_n`, several times faster for :math:`C > 1`;
    norms and Gram matrices do not depend on the order.
    """
    if any(padding):
        inputs = F.pad(inputs, [p for p in reversed(padding) for _ in (0, 1)])
    b, c, *size = inputs.shape
    # (B, *spatial, C) when channels_last, so that a patch row (k_n offsets x C) is contiguous.
    x = inputs.movedim(1, -1).contiguous() if channels_last else inputs.contiguous()
    spatial = x.stride()[1:-1] if channels_last else x.stride()[2:]
    channel = x.stride(-1) if channels_last else x.stride(1)
    out = [
        (n - d * (k - 1) - 1) // s + 1
        for n, k, s, d in zip(size, kernel_size, stride, dilation, strict=True)
    ]
    positions = [st * s for st, s in zip(spatial, stride, strict=True)]
    offsets = [st * d for st, d in zip(spatial, dilation, strict=True)]
    if channels_last:
        shape, strides = (b, *out, *kernel_size, c), (x.stride(0), *positions, *offsets, channel)
    else:
        shape, strides = (b, *out, c, *kernel_size), (x.stride(0), *positions, channel, *offsets)
    view = x.as_strided(shape, strides)
    return view.reshape(b, math.prod(out), c * math.prod(kernel_size))  # b may be 0


def conv_norm_sq(
    inputs: torch.Tensor,
    grad_outputs: torch.Tensor,
    *,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    groups: int = 1,
) -> torch.Tensor:
    r"""Squared norm of each example's convolution-weight gradient (1-d or 2-d).

    A convolution is a linear layer on the input's patches: with
    :math:`a_{i,t}` the flattened patch under output position :math:`t`
    (:func:`conv_patches`), :math:`G_i = \sum_t \dot y_{i,t} a_{i,t}^\top`,
    and :func:`linear_norm_sq` takes the ghost or the direct form, whichever is
    smaller (Bu et al. 2022, Section 3). Group :math:`g` of a grouped
    convolution sees only its own channels; the squared norms of the groups add.

    Parameters
    ----------
    inputs : torch.Tensor
        The layer's inputs, ``(B, C, L)`` or ``(B, C, H, W)``.
    grad_outputs : torch.Tensor
        Gradients of example :math:`i`'s loss with respect to the outputs,
        ``(B, O, L')`` or ``(B, O, H', W')``.
    kernel_size, stride, padding, dilation : tuple of int
        As in the layer (one entry per spatial dimension; zero padding).
    groups : int, default 1

    Returns
    -------
    torch.Tensor
        Shape ``(B,)``.

    Examples
    --------
    >>> x = torch.tensor([[[1.0, 2.0, 3.0]]])  # one example, one channel, length 3
    >>> dy = torch.tensor([[[1.0, -1.0]]])  # kernel 2: G = 1*[1, 2] - 1*[2, 3] = [-1, -1]
    >>> conv_norm_sq(x, dy, kernel_size=(2,), stride=(1,), padding=(0,), dilation=(1,))
    tensor([2.])
    """
    a = conv_patches(inputs, kernel_size=kernel_size, stride=stride, padding=padding,
                     dilation=dilation, channels_last=True)  # fmt: skip
    (b, t, d_in), d_out = a.shape, grad_outputs.shape[1]  # sizes spelled out: b may be 0
    dy = grad_outputs.reshape(b, d_out, t).transpose(1, 2)
    if groups > 1:  # group g owns the g-th block of input channels and of output channels
        c = inputs.shape[1]  # patches are channel-minor: (kernel offsets, groups, C / groups)
        a = a.view(b, t, d_in // c, groups, c // groups).permute(0, 3, 1, 2, 4)
        dy = dy.reshape(b, t, groups, d_out // groups).transpose(1, 2)
        a, dy = a.reshape(b * groups, t, d_in // groups), dy.reshape(b * groups, t, d_out // groups)
    return linear_norm_sq(a, dy).view(b, groups).sum(dim=1)


@dataclass
class _Record:
    """What one call of a layer leaves for the step.

    ``inputs`` and ``grad`` (the output gradient) are kept only where the
    book-keeping needs them (Linear and Embedding weights); small per-example
    gradients (biases, LayerNorm) go to ``per_example``. ``norm_sq`` is set by
    the backward pass.
    """

    module: nn.Module
    params: dict[str, nn.Parameter]  # trainable "weight"/"bias" of the module
    inputs: torch.Tensor | None
    scale: float
    conv_padding: tuple[int, ...] = ()  # what the convolution itself pads (after any F.pad)
    grad: torch.Tensor | None = None
    norm_sq: torch.Tensor | None = None
    per_example: dict = field(default_factory=dict)
    # The module's last activation Gram matrix, shared by the records of one wrapper (below).
    last_gram: dict | None = None
    inputs_version: int = 0  # ``inputs._version`` at the call: changed means overwritten

    def __post_init__(self) -> None:
        if self.inputs is not None:
            self.inputs_version = self.inputs._version


class _LinearFn(torch.autograd.Function):
    """``F.linear`` whose backward returns only the input's gradient and records ``dy``."""

    @staticmethod
    def forward(ctx, x, weight, bias, record):
        ctx.save_for_backward(weight)
        ctx.record = record
        return F.linear(x, weight, bias)

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        _finish(ctx.record, grad)
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        return grad_x, None, None, None


def _conv_args(record: _Record) -> tuple:
    """``stride, padding, dilation, transposed, output_padding, groups`` of ``aten.convolution``."""
    m = record.module
    return m.stride, record.conv_padding, m.dilation, False, (0,) * len(m.stride), m.groups


class _ConvFn(torch.autograd.Function):
    """A convolution whose backward returns only the input's gradient and records ``dy``."""

    @staticmethod
    def forward(ctx, x, weight, bias, record):
        ctx.save_for_backward(x, weight)
        ctx.record = record
        return torch.convolution(x, weight, bias, *_conv_args(record))

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        _finish(ctx.record, grad)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad, x, weight, None, *_conv_args(ctx.record), (True, False, False)
            )[0]
        return grad_x, None, None, None


class _AffineFn(torch.autograd.Function):
    """LayerNorm's or GroupNorm's elementwise affine ``x_hat * w + b``, recording ``dy``."""

    @staticmethod
    def forward(ctx, x_hat, weight, bias, record):
        ctx.save_for_backward(weight)
        ctx.record = record
        out = x_hat if weight is None else x_hat * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx, grad):
        (weight,) = ctx.saved_tensors
        _finish(ctx.record, grad)
        if not ctx.needs_input_grad[0]:
            return None, None, None, None
        return (grad if weight is None else grad * weight), None, None, None


class _EmbeddingFn(torch.autograd.Function):
    """``F.embedding`` recording ``dy``; the table's gradient is left to the book-keeping."""

    @staticmethod
    def forward(ctx, ids, weight, padding_idx, record):
        ctx.record = record
        return F.embedding(ids, weight, padding_idx)

    @staticmethod
    def backward(ctx, grad):
        _finish(ctx.record, grad)
        return None, None, None, None


def _shared_input_norm_sq(record: _Record, g: torch.Tensor) -> torch.Tensor:
    """:func:`linear_norm_sq`, reusing the activation Gram matrix of the previous linear layer
    when it saw the very same input (a transformer's query, key and value projections):
    their backward calls follow one another, so keeping one matrix is enough."""
    x = record.inputs  # same storage, offset, shape, strides and version: same numbers
    key = (x.untyped_storage().data_ptr(), x.storage_offset(), x.shape, x.stride(), x._version)
    cache = {} if record.last_gram is None else record.last_gram

    def activation_gram(a: torch.Tensor) -> torch.Tensor:
        if cache.get("key") != key:
            cache.update(key=key, gram=_gram(a))
        return cache["gram"]

    return _linear_norm_sq(_as_sequence(x), _as_sequence(g), activation_gram)


def _finish(record: _Record, grad: torch.Tensor) -> None:
    """Store the output gradient and this layer's per-example squared norms.

    ``grad`` is of the batch's loss; example :math:`i`'s own gradient is ``scale`` times
    row :math:`i` (``scale`` = B for a mean). Rather than a pass over every output
    gradient, the scale goes into the squared norms (``scale**2``) and the clip factors.
    """
    if record.inputs is not None and record.inputs._version != record.inputs_version:
        raise RuntimeError(
            f"the input of a {type(record.module).__name__} was modified in place after the "
            "layer used it; ghost clipping needs it unchanged for the backward pass. Replace "
            "the in-place operation (e.g. x.add_(y) -> x = x + y)."
        )
    g = grad.detach()
    kind, params = type(record.module), record.params
    norm_sq = g.new_zeros(g.shape[0])
    if kind is nn.Linear:
        if "weight" in params:
            norm_sq = norm_sq + _shared_input_norm_sq(record, g)
        if "bias" in params:
            record.per_example["bias"] = _as_sequence(g).sum(dim=1)
    elif kind is nn.Embedding:
        norm_sq = embedding_norm_sq(record.inputs, g, record.module.padding_idx)
    elif kind in _CONVS:
        m = record.module
        if "weight" in params:
            stride, padding, dilation, _, _, groups = _conv_args(record)
            norm_sq = norm_sq + conv_norm_sq(
                record.inputs, g, kernel_size=m.kernel_size, stride=stride,
                padding=padding, dilation=dilation, groups=groups,
            )  # fmt: skip
        if "bias" in params:
            record.per_example["bias"] = g.flatten(2).sum(dim=2)
    else:  # LayerNorm, GroupNorm: per-example gradients are small, keep them
        if kind is nn.GroupNorm:  # one weight per channel (dim 1): sum over the positions
            dims = tuple(range(2, g.ndim))
        else:  # one weight per element of normalized_shape: sum over the leading positions
            dims = tuple(range(1, g.ndim - len(record.module.normalized_shape)))
        # sum(dim=()) would sum everything: without positions there is nothing to sum
        per_position = (lambda t: t.sum(dim=dims)) if dims else (lambda t: t)
        if "weight" in params:
            record.per_example["weight"] = per_position(g * record.inputs)
        if "bias" in params:
            record.per_example["bias"] = per_position(g)
    for t in record.per_example.values():
        norm_sq = norm_sq + t.flatten(1).pow(2).sum(dim=1)
    record.norm_sq = norm_sq if record.scale == 1 else norm_sq * record.scale**2
    if "weight" in params and kind not in _NORMS:
        record.grad = g  # for the book-keeping sum
    else:
        record.inputs = None  # free it now


def _clipped_sum(record: _Record, factors: torch.Tensor) -> dict[str, torch.Tensor]:
    """Book-keeping: :math:`\\sum_i c_i G_i` for each trainable parameter of one layer call."""
    factors = factors * record.scale  # the per-example gradients are `scale` x the rows stored
    out = {name: torch.einsum("b,b...->...", factors, t) for name, t in record.per_example.items()}
    if record.grad is None:
        return out
    params = record.params
    if type(record.module) is nn.Linear and "weight" in params:
        g = _as_sequence(record.grad) * factors[:, None, None]
        a = _as_sequence(record.inputs)
        out["weight"] = g.reshape(-1, g.shape[-1]).T @ a.reshape(-1, a.shape[-1])
    elif type(record.module) in _CONVS and "weight" in params:
        g = record.grad * factors.view(-1, *[1] * (record.grad.ndim - 1))
        # the weight gradient of a convolution with the clipped output gradients: one call
        out["weight"] = torch.ops.aten.convolution_backward(
            g, record.inputs, params["weight"], None, *_conv_args(record), (False, True, False)
        )[1]
    elif type(record.module) is nn.Embedding:
        g = record.grad * factors.view(-1, *[1] * (record.grad.ndim - 1))
        w = params["weight"]
        ids = record.inputs.reshape(-1)
        rows = g.reshape(-1, w.shape[1])
        if record.module.padding_idx is not None:
            rows = rows * (ids != record.module.padding_idx).unsqueeze(1).to(rows.dtype)
        out["weight"] = torch.zeros_like(w).index_add_(0, ids, rows.to(w.dtype))
    return out


class GhostClippingModule(nn.Module):
    r"""Wrap ``module`` so that ``backward()`` leaves per-sample gradient *norms*, not gradients.

    While the wrapper runs forward in training mode with gradients enabled,
    every ``nn.Linear``, ``nn.Conv1d``, ``nn.Conv2d``, ``nn.Embedding``,
    ``nn.LayerNorm`` and ``nn.GroupNorm`` with trainable parameters computes
    its output through a function whose backward pass returns the gradient of
    its input only and records the output gradient; the trainable parameters
    get **no** ``.grad``. :class:`GhostDPOptimizer`
    then clips and sums from the records. Trainable parameters anywhere else
    are refused (freeze them, or use :class:`~respai.privacy.dpsgd.GradSampleModule`).

    A batch dimension of 1 on an embedding's ids (Hugging Face BERT passes
    ``position_ids`` of shape ``(1, T)`` and broadcasts) is expanded to the
    batch, so each example gets its own gradient. One forward and one backward
    per optimizer step; in evaluation mode it is the plain module. Which
    parameters train is read when wrapping: freeze layers before, not after.

    Parameters
    ----------
    module : nn.Module
    loss_reduction : {"mean", "sum"}, default "mean"
    """

    def __init__(self, module: nn.Module, *, loss_reduction: str = "mean") -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise ParameterTypeError(
                f"`module` must be a torch.nn.Module; got {type(module).__name__}."
            )
        self._module = module
        self.loss_reduction = check_loss_reduction(loss_reduction)
        self._layers = _trainable_layers(module)
        self._records: list[_Record] = []
        self._last_gram: dict = {}
        self._batch, self._scale = 0, 1.0

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(k, p) for k, p in self._module.named_parameters() if p.requires_grad]

    def clear(self) -> None:
        """Drop the records of the last forward/backward pass."""
        self._records = []
        self._last_gram = {}

    def forward(self, *args, **kwargs):
        if not (self.training and torch.is_grad_enabled()):
            return self._module(*args, **kwargs)
        tensors = [a for a in (*args, *kwargs.values()) if torch.is_tensor(a)]
        if not tensors:
            raise ParameterValueError(
                "the model's arguments must include a batched tensor; got none."
            )
        self._batch = int(tensors[0].shape[0])
        self._scale = float(self._batch) if self.loss_reduction == "mean" else 1.0
        patched = []
        try:
            for module, params in self._layers:
                module.forward = _patched_forward(self, module, params)
                patched.append(module)
            return self._module(*args, **kwargs)
        finally:
            for module in patched:
                del module.forward

    def _record(self, module: nn.Module, params: dict, inputs: torch.Tensor, **extra) -> _Record:
        if inputs.shape[0] != self._batch:
            raise ParameterValueError(
                f"every trainable layer's input must have the batch dimension first; got "
                f"shape {tuple(inputs.shape)} in a {type(module).__name__} for a batch of "
                f"{self._batch}. Pass inputs with a batch dimension, or freeze that layer."
            )
        shared = {"last_gram": self._last_gram} if isinstance(module, nn.Linear) else {}
        record = _Record(module, params, inputs.detach(), self._scale, **extra, **shared)
        self._records.append(record)
        return record

    def per_sample_norms(self) -> torch.Tensor:
        r"""Flat norm of each example's gradient over every trainable parameter, ``(B,)``."""
        records = self._finished_records()
        total = sum(r.norm_sq for r in records)
        return total.clamp(min=0).sqrt()

    def clipped_sum(self, factors: torch.Tensor) -> dict[int, torch.Tensor]:
        r""":math:`\sum_i c_i g_i` for every trainable parameter, keyed by ``id(parameter)``."""
        sums: dict[int, torch.Tensor] = {}
        for record in self._records:  # called, but the loss did not depend on it: zero
            sums.update({id(p): torch.zeros_like(p) for p in record.params.values()})
        for record in self._finished_records():
            for name, s in _clipped_sum(record, factors.to(record.norm_sq.dtype)).items():
                sums[id(record.params[name])] = s
        return sums

    def _finished_records(self) -> list[_Record]:
        done = [r for r in self._records if r.norm_sq is not None]
        if not done:
            raise ParameterValueError(
                "ghost clipping needs one forward pass in training mode and its "
                "loss.backward() before step(); got "
                + ("no forward pass." if not self._records else "no backward pass.")
            )
        seen = [id(p) for r in self._records for p in r.params.values()]
        if len(seen) != len(set(seen)):
            raise ParameterValueError(
                "each trainable layer must run once per step under ghost clipping; got a "
                "layer called twice (shared weights, or two forward passes before step()). "
                "Use grad_sample_mode='vmap' for such models, and call zero_grad() each step."
            )
        return done


def _trainable_layers(module: nn.Module) -> list[tuple[nn.Module, dict[str, nn.Parameter]]]:
    layers, problems, owners = [], [], {}
    for name, m in module.named_modules():
        own = {k: p for k, p in m.named_parameters(recurse=False) if p.requires_grad}
        if not own:
            continue
        where = f"layer {name!r} ({type(m).__name__})" if name else type(m).__name__
        if type(m) not in _SUPPORTED:
            problems.append(f"{where} has trainable parameters {sorted(own)}")
        elif isinstance(m, nn.Embedding) and (m.max_norm is not None or m.sparse):
            problems.append(f"{where} uses max_norm or sparse gradients")
        elif isinstance(m, nn.Embedding) and m.scale_grad_by_freq:
            problems.append(f"{where} uses scale_grad_by_freq")
        for p in own.values():
            if id(p) in owners:
                problems.append(f"{where} shares a parameter with {owners[id(p)]}")
            owners[id(p)] = where
        layers.append((m, own))
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ParameterValueError(
            f"ghost clipping supports trainable parameters only in {_SUPPORTED_NAMES}, each "
            f"used once; got {len(problems)} problem(s):\n{lines}\n"
            "Freeze those parameters, or use grad_sample_mode='vmap'."
        )
    return layers


def _patched_forward(owner: GhostClippingModule, module: nn.Module, params: dict):
    if isinstance(module, nn.Linear):

        def forward(x):
            record = owner._record(module, params, x)
            return _LinearFn.apply(x, module.weight, module.bias, record)

    elif isinstance(module, nn.Embedding):

        def forward(ids):
            if ids.shape[0] == 1 and owner._batch != 1:  # broadcast ids: one copy per example
                ids = ids.expand(owner._batch, *ids.shape[1:])
            record = owner._record(module, params, ids)
            return _EmbeddingFn.apply(ids, module.weight, module.padding_idx, record)

    elif isinstance(module, _CONVS):

        def forward(x):
            padding = module.padding
            if module.padding_mode != "zeros" or isinstance(padding, str):
                # 'same', 'valid', reflect/replicate/circular: pad first, as nn.Conv*d does
                mode = "constant" if module.padding_mode == "zeros" else module.padding_mode
                x = F.pad(x, module._reversed_padding_repeated_twice, mode=mode)
                padding = (0,) * len(module.kernel_size)
            record = owner._record(module, params, x, conv_padding=tuple(padding))
            return _ConvFn.apply(x, module.weight, module.bias, record)

    elif isinstance(module, nn.GroupNorm):

        def forward(x):
            x_hat = F.group_norm(x, module.num_groups, None, None, module.eps)
            record = owner._record(module, params, x_hat)
            per_channel = (-1,) + (1,) * (x.ndim - 2)  # broadcast over the positions
            weight = None if module.weight is None else module.weight.view(per_channel)
            bias = None if module.bias is None else module.bias.view(per_channel)
            return _AffineFn.apply(x_hat, weight, bias, record)

    else:

        def forward(x):
            x_hat = F.layer_norm(x, module.normalized_shape, None, None, module.eps)
            record = owner._record(module, params, x_hat)
            return _AffineFn.apply(x_hat, module.weight, module.bias, record)

    return forward


class GhostDPOptimizer(DPOptimizer):
    r"""A :class:`~respai.privacy.dpsgd.DPOptimizer` that clips with a :class:`GhostClippingModule`.

    Same step,
    :math:`\tilde g = \frac{1}{qN}\big(\sum_i c_i g_i + \mathcal N(0,\sigma^2C^2 I)\big)`,
    with the norms and the clipped sum taken from ``module``'s records instead
    of ``p.grad_sample``. Other arguments as for ``DPOptimizer``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
    module : GhostClippingModule
        The wrapped model whose forward and backward ran since ``zero_grad()``.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, *, module: GhostClippingModule, **kwargs
    ) -> None:
        if not isinstance(module, GhostClippingModule):
            raise ParameterTypeError(
                f"`module` must be a GhostClippingModule; got {type(module).__name__}."
            )
        super().__init__(optimizer, **kwargs)
        self.module = module

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.module.clear()
        super().zero_grad(set_to_none=set_to_none)

    def privatize_gradients(self) -> None:
        norms = self.module.per_sample_norms()
        sums = self.module.clipped_sum(clip_factors(norms, self.max_grad_norm))
        self.module.clear()  # free the activations before the optimizer allocates its state
        scale = self.expected_batch_size if self.loss_reduction == "mean" else 1.0
        for p in self.params:
            if id(p) not in sums:
                raise ParameterValueError(
                    "each trainable parameter must be used by a layer in the forward pass; got "
                    f"a parameter of shape {tuple(p.shape)} that was not. Freeze it."
                )
            s = sums[id(p)]
            (noisy,) = noisy_average(
                [s],
                self.noise_multiplier,
                self.max_grad_norm,
                scale,
                generator=self._noise_generator(s.device),
            )
            p.grad = noisy.to(p.dtype)
