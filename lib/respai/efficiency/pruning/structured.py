r"""Structured pruning: remove whole channels and neurons, giving a physically smaller model.

A convolution's output channel :math:`c` (or a linear layer's neuron) is
scored by the :math:`\ell_p` norm of its filter [1]_,

.. math:: I_c = \lVert W_{c,:} \rVert_p = \Big(\sum_j |W_{c,j}|^p\Big)^{1/p},

and the lowest-scoring fraction :math:`s` of channels is removed *together
with everything that only exists for them*: the filter (row) and bias of the
producing layer, the channel's normalisation parameters, and the matching
input slice (columns) of the next layer. The result is a dense model with
smaller layers, so it is smaller on disk and faster with ordinary dense
kernels, unlike unstructured sparsity.

The pruned model computes exactly what the original computes when the
removed channels are zeroed (filter, bias and normalisation scale/shift set
to 0): :func:`mask_channels` builds that masked model, and the tests check
that both give the same output. That holds because every layer between two
pruned layers maps 0 to 0 (ReLU, pooling, ...). GroupNorm normalises a
channel with the others of its group, so channels behind a GroupNorm are
pruned a whole group at a time (scores summed over the group), which leaves
the other groups' statistics unchanged.

Supported models: a chain of layers, i.e. an :class:`torch.nn.Sequential`
(nested ones are flattened) or :class:`respai.models.SmallCNN`. A Conv2d or
Linear layer is pruned when another Conv2d/Linear follows it, possibly
through the layers in :data:`CHANNELWISE`, one normalisation layer and a
``Flatten``; the last layer (the logits) is never pruned.

References
----------
.. [1] H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning
   Filters for Efficient ConvNets", ICLR 2017, Section 3.1.
.. [2] Y. He, X. Zhang and J. Sun, "Channel Pruning for Accelerating Very
   Deep Neural Networks", ICCV 2017.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from respai._validation import check_positive, check_positive_int, check_probability
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "CHANNELWISE",
    "ChannelPlan",
    "channel_importance",
    "select_channels",
    "flatten_chain",
    "plan_channel_pruning",
    "prune_channels",
    "mask_channels",
]

#: Layers that act on each channel separately and map 0 to 0, so a zeroed channel
#: stays zero through them (Sigmoid is absent on purpose: sigmoid(0) = 1/2).
CHANNELWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Hardtanh,
    nn.Identity,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
_PRODUCERS = (nn.Linear, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm)


def channel_importance(weight: torch.Tensor, *, p: float = 1) -> torch.Tensor:
    r"""The :math:`\ell_p` norm of each output channel's weights: :math:`\lVert W_{c,:}\rVert_p`.

    Parameters
    ----------
    weight : torch.Tensor, shape (out_channels, ...)
        A convolution's weight (out, in, kh, kw) or a linear layer's (out, in).
    p : float, default 1
        Order of the norm (1 as in Li et al. 2017, 2 also common); > 0.

    Returns
    -------
    torch.Tensor, shape (out_channels,)

    Examples
    --------
    >>> channel_importance(torch.tensor([[1.0, -2.0], [3.0, 0.0]]))
    tensor([3., 3.])
    >>> channel_importance(torch.tensor([[3.0, 4.0]]), p=2)
    tensor([5.])
    """
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
        raise ParameterTypeError(
            f"`weight` must be a floating-point torch.Tensor; got {type(weight).__name__}."
        )
    if weight.ndim < 2:
        raise ParameterValueError(
            f"`weight` must have shape (out_channels, ...) with at least 2 dimensions; "
            f"got {tuple(weight.shape)}."
        )
    p = check_positive("p", p)
    with torch.no_grad():
        return weight.detach().abs().pow(p).reshape(weight.shape[0], -1).sum(1).pow(1 / p)


def select_channels(
    importance: torch.Tensor, sparsity: float, *, group_size: int = 1
) -> torch.Tensor:
    r"""Indices of the channels to keep: all but the ``round(sparsity * G)`` least important groups.

    Channels form :math:`G = C / g` consecutive groups of ``group_size`` :math:`g`
    (1: every channel on its own); a group's score is the sum of its
    channels' importances, and whole groups are kept or removed.

    Parameters
    ----------
    importance : torch.Tensor, shape (C,)
        One score per channel (higher = more important).
    sparsity : float
        Fraction of groups to remove, in ``[0, 1)``; at least one group must remain.
    group_size : int, default 1
        Channels per group; must divide ``C``.

    Returns
    -------
    torch.Tensor of int64
        Kept channel indices, sorted increasingly.

    Examples
    --------
    >>> select_channels(torch.tensor([0.1, 5.0, 0.2, 3.0]), 0.5)
    tensor([1, 3])
    >>> select_channels(torch.tensor([0.1, 5.0, 0.2, 3.0]), 0.5, group_size=2)
    tensor([0, 1])
    """
    if not isinstance(importance, torch.Tensor) or importance.ndim != 1:
        raise ParameterTypeError(
            "`importance` must be a 1-D torch.Tensor with one score per channel; got "
            f"{getattr(importance, 'shape', type(importance).__name__)}."
        )
    sparsity = check_probability("sparsity", sparsity)
    group_size = check_positive_int("group_size", group_size)
    channels = importance.numel()
    if channels % group_size:
        raise ParameterValueError(
            f"`group_size` must divide the number of channels {channels}; got {group_size}."
        )
    groups = channels // group_size
    n_keep = groups - round(sparsity * groups)
    if n_keep < 1:
        raise ParameterValueError(
            f"`sparsity` must leave at least one of the {groups} groups of channels; got "
            f"{sparsity!r}. Use a smaller sparsity."
        )
    scores = importance.detach().reshape(groups, group_size).sum(1)
    kept_groups = torch.topk(scores, n_keep, largest=True).indices
    kept = kept_groups[:, None] * group_size + torch.arange(group_size, device=scores.device)
    return kept.reshape(-1).sort().values


def flatten_chain(model: nn.Module) -> list[nn.Module]:
    """The layers of a chain model in execution order (nested Sequentials flattened).

    Accepts an :class:`torch.nn.Sequential` or :class:`respai.models.SmallCNN`
    (whose forward is ``classifier(features(x))``); other containers are
    refused, because their forward may not run their children in order.
    """
    from respai.models import SmallCNN

    if isinstance(model, SmallCNN):
        model = nn.Sequential(model.features, model.classifier)
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    if not isinstance(model, nn.Sequential):
        if any(True for _ in model.children()):
            raise ParameterTypeError(
                f"`model` must be a chain of layers: an nn.Sequential (nested allowed) or "
                f"respai.models.SmallCNN; got {type(model).__name__}. Rewrite it as "
                "nn.Sequential(...) if its forward applies its children in order."
            )
        return [model]
    layers: list[nn.Module] = []
    for child in model:
        layers += flatten_chain(child)
    return layers


@dataclass(frozen=True)
class ChannelPlan:
    """Which output channels of one layer survive, and which layers that touches.

    Attributes
    ----------
    producer : int
        Index (in :func:`flatten_chain` order) of the layer whose outputs are pruned.
    consumer : int
        Index of the next Conv2d/Linear, whose inputs are pruned to match.
    norm : int or None
        Index of the normalisation layer between them, if any.
    positions : int
        Consumer inputs per channel: ``H * W`` when a ``Flatten`` turns a
        convolution's channels into a linear layer's features, else 1.
    group_size : int
        Channels pruned together (GroupNorm's channels per group, else 1).
    keep : torch.Tensor
        Kept channel indices of the producer, sorted.
    """

    producer: int
    consumer: int
    norm: int | None
    positions: int
    group_size: int
    keep: torch.Tensor

    def consumer_columns(self) -> torch.Tensor:
        """Indices of the consumer's input features (or channels) that survive."""
        offsets = torch.arange(self.positions, device=self.keep.device)
        return (self.keep[:, None] * self.positions + offsets).reshape(-1)


def _out_channels(layer: nn.Module) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _in_channels(layer: nn.Module) -> int:
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def _find_consumer(layers: list[nn.Module], i: int) -> tuple[int, int | None, bool] | None:
    """(consumer index, norm index, Flatten seen) for producer ``i``; None if it is the last."""
    norm, flattened = None, False
    for j in range(i + 1, len(layers)):
        layer = layers[j]
        if isinstance(layer, _PRODUCERS):
            return j, norm, flattened
        if isinstance(layer, _NORMS) and norm is None and not flattened:
            norm = j
        elif isinstance(layer, nn.Flatten) and not flattened:
            flattened = True
        elif not isinstance(layer, CHANNELWISE):
            raise ParameterValueError(
                f"layer {j} ({type(layer).__name__}) follows the prunable layer {i} "
                f"({type(layers[i]).__name__}); structured pruning supports only "
                f"{[c.__name__ for c in CHANNELWISE]}, one of "
                f"{[c.__name__ for c in _NORMS]} and one Flatten between two prunable layers."
            )
    return None


def _check_conv(layer: nn.Module, index: int) -> None:
    if isinstance(layer, nn.Conv2d) and layer.groups != 1:
        raise ParameterValueError(
            f"layer {index} is a grouped/depthwise Conv2d (groups={layer.groups}); "
            "only groups=1 is supported."
        )


def _plan_one(
    layers: list[nn.Module], i: int, found: tuple[int, int | None, bool], sparsity: float, p: float
) -> ChannelPlan:
    j, norm, flattened = found
    producer, consumer = layers[i], layers[j]
    _check_conv(producer, i)
    _check_conv(consumer, j)
    channels = _out_channels(producer)
    positions = 1
    if isinstance(producer, nn.Conv2d) and isinstance(consumer, nn.Linear):
        if not flattened or consumer.in_features % channels:
            raise ParameterValueError(
                f"layer {j} (Linear, {consumer.in_features} inputs) must read a flattened "
                f"(channels={channels}, H, W) map from layer {i}."
            )
        positions = consumer.in_features // channels
    elif flattened or isinstance(consumer, nn.Conv2d) and isinstance(producer, nn.Linear):
        raise ParameterValueError(
            f"layers {i} -> {j}: unsupported chain {type(producer).__name__} -> "
            f"{type(consumer).__name__}{' through Flatten' if flattened else ''}."
        )
    elif _in_channels(consumer) != channels:
        raise ParameterValueError(
            f"layer {j} expects {_in_channels(consumer)} input channels but layer {i} "
            f"produces {channels}."
        )
    group_size = 1
    if norm is not None:
        norm_layer = layers[norm]
        if isinstance(norm_layer, nn.GroupNorm):
            if norm_layer.num_channels != channels:
                raise ParameterValueError(
                    f"layer {norm} normalises {norm_layer.num_channels} "
                    f"channels, layer {i} produces {channels}."
                )
            group_size = channels // norm_layer.num_groups
        elif norm_layer.num_features != channels:
            raise ParameterValueError(
                f"layer {norm} normalises {norm_layer.num_features} "
                f"channels, layer {i} produces {channels}."
            )
    keep = select_channels(
        channel_importance(producer.weight, p=p), sparsity, group_size=group_size
    )
    return ChannelPlan(i, j, norm, positions, group_size, keep)


def plan_channel_pruning(
    model: nn.Module, sparsity: float | Sequence[float], *, p: float = 1
) -> list[ChannelPlan]:
    """Decide which channels of each prunable layer to keep (nothing is changed).

    Parameters
    ----------
    model : nn.Sequential or respai.models.SmallCNN
        See :func:`flatten_chain`.
    sparsity : float or sequence of float
        Fraction of channels (groups) to remove from every prunable layer, or
        one fraction per prunable layer in order; each in ``[0, 1)``.
    p : float, default 1
        Norm used to score channels (:func:`channel_importance`).

    Returns
    -------
    list of ChannelPlan
        One per prunable layer (every Conv2d/Linear followed by another).
    """
    layers = flatten_chain(model)
    found = [
        (i, _find_consumer(layers, i))
        for i, layer in enumerate(layers)
        if isinstance(layer, _PRODUCERS)
    ]
    found = [(i, f) for i, f in found if f is not None]
    if not found:
        raise ParameterValueError(
            "`model` must have a Conv2d/Linear layer followed by another one; found none to prune."
        )
    if isinstance(sparsity, Sequence):
        if len(sparsity) != len(found):
            raise ParameterValueError(
                f"`sparsity` must be one float or one per prunable layer ({len(found)}); "
                f"got {len(sparsity)} values."
            )
        fractions = [check_probability("sparsity", s) for s in sparsity]
    else:
        fractions = [check_probability("sparsity", sparsity)] * len(found)
    return [_plan_one(layers, i, f, s, p) for (i, f), s in zip(found, fractions, strict=True)]


def _select(tensor: torch.Tensor | None, dim: int, index: torch.Tensor | None):
    if tensor is None or index is None:
        return tensor
    return tensor.detach().index_select(dim, index.to(tensor.device))


def _rebuild(layer: nn.Module, out_keep, in_keep) -> nn.Module:
    """A new Linear/Conv2d/norm layer holding only the kept outputs (rows) and inputs (columns)."""
    weight = _select(_select(layer.weight, 0, out_keep), 1, in_keep)
    bias = _select(getattr(layer, "bias", None), 0, out_keep)
    factory = {"device": layer.weight.device, "dtype": layer.weight.dtype}
    if isinstance(layer, nn.Linear):
        new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, **factory)
    else:
        new = nn.Conv2d(
            weight.shape[1],
            weight.shape[0],
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            bias=bias is not None,
            padding_mode=layer.padding_mode,
            **factory,
        )
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new.train(layer.training)


def _rebuild_norm(layer: nn.Module, keep: torch.Tensor, group_size: int) -> nn.Module:
    new = copy.deepcopy(layer)
    if isinstance(layer, nn.GroupNorm):
        new.num_channels, new.num_groups = len(keep), len(keep) // group_size
    else:
        new.num_features = len(keep)
        for name in ("running_mean", "running_var"):
            if getattr(layer, name, None) is not None:
                setattr(new, name, _select(getattr(layer, name), 0, keep).clone())
    if layer.weight is not None:
        new.weight = nn.Parameter(_select(layer.weight, 0, keep).clone())
        new.bias = nn.Parameter(_select(layer.bias, 0, keep).clone())
    return new


def prune_channels(
    model: nn.Module, sparsity: float | Sequence[float], *, p: float = 1
) -> nn.Sequential:
    """A new, physically smaller copy of ``model`` without its least important channels.

    Parameters are as in :func:`plan_channel_pruning`. ``model`` is not changed.

    Returns
    -------
    nn.Sequential
        The flattened chain with smaller Conv2d/Linear/normalisation layers;
        its output equals that of :func:`mask_channels` with the same arguments.

    Examples
    --------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> small = prune_channels(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), 0.75)
    >>> small[0].out_features, small[2].in_features
    (2, 2)
    """
    plans = plan_channel_pruning(model, sparsity, p=p)
    layers = flatten_chain(model)
    out_keep = {plan.producer: plan.keep for plan in plans}
    in_keep = {plan.consumer: plan.consumer_columns() for plan in plans}
    norms = {plan.norm: plan for plan in plans if plan.norm is not None}
    new_layers = []
    for index, layer in enumerate(layers):
        if index in out_keep or index in in_keep:
            new_layers.append(_rebuild(layer, out_keep.get(index), in_keep.get(index)))
        elif index in norms:
            plan = norms[index]
            new_layers.append(_rebuild_norm(layer, plan.keep, plan.group_size))
        else:
            new_layers.append(copy.deepcopy(layer))
    return nn.Sequential(*new_layers)


def mask_channels(
    model: nn.Module, sparsity: float | Sequence[float], *, p: float = 1
) -> nn.Sequential:
    """A same-size copy of ``model`` whose pruned channels are zeroed instead of removed.

    The filter and bias of every pruned channel and its normalisation scale and
    shift are set to 0, so the channel outputs 0 and adds nothing downstream.
    This is what :func:`prune_channels` computes, at the original (dense) cost.
    """
    plans = plan_channel_pruning(model, sparsity, p=p)
    layers = [copy.deepcopy(layer) for layer in flatten_chain(model)]
    with torch.no_grad():
        for plan in plans:
            producer = layers[plan.producer]
            drop = torch.ones(_out_channels(producer), dtype=torch.bool)
            drop[plan.keep.cpu()] = False
            touched = [producer] + ([layers[plan.norm]] if plan.norm is not None else [])
            for layer in touched:
                for tensor in (layer.weight, getattr(layer, "bias", None)):
                    if tensor is not None:
                        tensor[drop.to(tensor.device)] = 0
    return nn.Sequential(*layers)
