r"""Unstructured magnitude pruning: zero the weights of smallest absolute value.

Magnitude pruning [1]_ keeps the weights whose absolute value is largest and
sets the others to zero. At sparsity :math:`s` a tensor of :math:`n` entries
loses its :math:`k = \operatorname{round}(s\,n)` smallest-magnitude entries:

.. math:: m_i = \begin{cases} 0 & |w_i| \text{ is among the } k \text{ smallest} \\
          1 & \text{otherwise,} \end{cases} \qquad w \leftarrow m \odot w .

*Per-layer* pruning applies this to each tensor separately, so every layer
has sparsity :math:`s`; *global* pruning ranks all tensors' weights together,
so layers with many small weights lose more of them [2]_.

The masks are computed from scratch here and agree **exactly** (ties broken by
:func:`torch.topk`, the same way) with :func:`torch.nn.utils.prune.l1_unstructured`
and :func:`torch.nn.utils.prune.global_unstructured`; the tests check it. To
apply masks, :func:`apply_masks` uses torch's own re-parametrisation
(``weight = weight_orig * weight_mask``), so pruned weights stay zero while
the model is fine-tuned, and :func:`remove_masks` makes the zeros permanent.

Zeros alone make a model neither faster nor smaller: dense kernels multiply
by zero as fast as by anything else, and a dense tensor stores its zeros.
See :mod:`respai.efficiency.pruning.structured` for pruning that does both.

References
----------
.. [1] S. Han, J. Pool, J. Tran and W. J. Dally, "Learning both Weights and
   Connections for Efficient Neural Networks", NeurIPS 2015, Section 3.
.. [2] J. Frankle and M. Carbin, "The Lottery Ticket Hypothesis: Finding
   Sparse, Trainable Neural Networks", ICLR 2019, Section 4 (global pruning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from respai._validation import check_probability
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "DEFAULT_LAYERS",
    "magnitude_mask",
    "global_magnitude_masks",
    "prunable_weights",
    "magnitude_masks",
    "apply_masks",
    "remove_masks",
    "prune_magnitude",
    "sparsity",
]

#: Layer types whose ``weight`` the model-level functions prune by default.
DEFAULT_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ParameterTypeError(
            f"`{name}` must be a torch.Tensor; got {type(value).__name__}. "
            "Convert with torch.as_tensor(...)."
        )
    if not value.is_floating_point():
        raise ParameterTypeError(f"`{name}` must be a floating-point tensor; got {value.dtype}.")
    if value.numel() == 0:
        raise ParameterValueError(
            f"`{name}` must have at least one entry; got shape {tuple(value.shape)}."
        )
    return value


def _n_pruned(sparsity: float, n: int) -> int:
    # Python's round (half to even), exactly as torch.nn.utils.prune does.
    return round(sparsity * n)


def _bottom_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    # Contiguous even for a transposed weight, so that its flat view follows reshape(-1).
    mask = torch.ones_like(scores, memory_format=torch.contiguous_format)
    if k > 0:  # topk with k = 0 is fine, but an empty index is clearer
        smallest = torch.topk(scores.abs().reshape(-1), k=k, largest=False).indices
        mask.view(-1)[smallest] = 0
    return mask


def magnitude_mask(weight: torch.Tensor, sparsity: float) -> torch.Tensor:
    r"""0/1 mask that prunes the ``round(sparsity * n)`` smallest-magnitude entries of ``weight``.

    .. math:: m_i = 0 \iff |w_i| \text{ is among the } \operatorname{round}(s\,n)
              \text{ smallest of } |w_1|, \dots, |w_n|.

    Parameters
    ----------
    weight : torch.Tensor
        Any floating-point tensor (a layer's weight).
    sparsity : float
        Fraction of entries to prune, in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Mask of ``weight``'s shape, dtype and device: 1 keeps an entry, 0 prunes it.
        Equal to the mask of
        ``torch.nn.utils.prune.l1_unstructured(module, name, amount=sparsity)``.

    Examples
    --------
    >>> magnitude_mask(torch.tensor([0.5, -2.0, 0.1, 1.0]), 0.5)
    tensor([1., 1., 0., 0.])
    """
    weight = _check_tensor("weight", weight)
    sparsity = check_probability("sparsity", sparsity)
    with torch.no_grad():
        return _bottom_k_mask(weight.detach(), _n_pruned(sparsity, weight.numel()))


def global_magnitude_masks(weights: Sequence[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    r"""Masks that prune the smallest-magnitude fraction ``sparsity`` of all ``weights`` together.

    The tensors are ranked as one vector of :math:`N = \sum_l n_l` magnitudes
    and the :math:`\operatorname{round}(s N)` smallest are pruned, wherever
    they are: layers end up with different sparsities.

    Parameters
    ----------
    weights : sequence of torch.Tensor
        The tensors to prune together (e.g. every layer's weight).
    sparsity : float
        Overall fraction of entries to prune, in ``[0, 1]``.

    Returns
    -------
    list of torch.Tensor
        One 0/1 mask per tensor, in order. Equal to the masks of
        ``torch.nn.utils.prune.global_unstructured(..., pruning_method=L1Unstructured,
        amount=sparsity)``.

    Examples
    --------
    >>> a, b = torch.tensor([3.0, 0.1]), torch.tensor([0.2, 0.3, 4.0])
    >>> [m.tolist() for m in global_magnitude_masks([a, b], 0.6)]
    [[1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if isinstance(weights, torch.Tensor) or not isinstance(weights, Sequence) or not weights:
        raise ParameterTypeError(
            "`weights` must be a non-empty sequence (list or tuple) of tensors; got "
            f"{type(weights).__name__}. For one tensor use magnitude_mask."
        )
    tensors = [_check_tensor(f"weights[{i}]", w) for i, w in enumerate(weights)]
    sparsity = check_probability("sparsity", sparsity)
    with torch.no_grad():
        flat = torch.cat([w.detach().reshape(-1) for w in tensors])
        mask = _bottom_k_mask(flat, _n_pruned(sparsity, flat.numel()))
        return [
            m.view_as(w)
            for m, w in zip(mask.split([w.numel() for w in tensors]), tensors, strict=True)
        ]


def prunable_weights(
    model: nn.Module, layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS
) -> dict[str, nn.Module]:
    """The modules of ``model`` whose ``weight`` is pruned, by qualified name.

    Parameters
    ----------
    model : nn.Module
    layers : iterable of nn.Module classes, default :data:`DEFAULT_LAYERS`
        Linear and convolution layers; embeddings and normalisation layers are
        left alone (pruning them is rarely useful and often harmful).

    Returns
    -------
    dict of str to nn.Module
        In registration order (``model.named_modules()``).
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    kinds = tuple(layers)
    if not kinds or not all(isinstance(k, type) and issubclass(k, nn.Module) for k in kinds):
        raise ParameterTypeError(
            f"`layers` must be a non-empty collection of nn.Module classes; got {layers!r}."
        )
    found = {name: m for name, m in model.named_modules() if isinstance(m, kinds)}
    if not found:
        raise ParameterValueError(
            f"`model` must contain at least one layer of type {[k.__name__ for k in kinds]}; "
            "found none."
        )
    return found


def magnitude_masks(
    model: nn.Module,
    sparsity: float,
    *,
    scope: str = "global",
    layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS,
) -> dict[str, torch.Tensor]:
    """Magnitude masks for every prunable weight of ``model`` (nothing is changed).

    Parameters
    ----------
    model : nn.Module
    sparsity : float
        Fraction of weights to prune, in ``[0, 1]``: overall (``scope="global"``)
        or in each layer (``scope="layer"``).
    scope : {"global", "layer"}, default "global"
        Rank all layers' weights together, or each layer on its own.
    layers : iterable of nn.Module classes, default :data:`DEFAULT_LAYERS`

    Returns
    -------
    dict of str to torch.Tensor
        Module name to the mask of its ``weight`` (computed from the current,
        possibly already masked, weight).
    """
    sparsity = check_probability("sparsity", sparsity)
    if scope not in ("global", "layer"):
        raise ParameterValueError(f"`scope` must be 'global' or 'layer'; got {scope!r}.")
    modules = prunable_weights(model, layers)
    weights = [m.weight for m in modules.values()]
    if scope == "global":
        masks = global_magnitude_masks(weights, sparsity)
    else:
        masks = [magnitude_mask(w, sparsity) for w in weights]
    return dict(zip(modules, masks, strict=True))


def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> nn.Module:
    """Prune ``model`` in place with ``masks``, keeping pruned weights at zero during training.

    Uses torch's re-parametrisation (:func:`torch.nn.utils.prune.custom_from_mask`):
    the module gets a parameter ``weight_orig``, a buffer ``weight_mask`` and
    computes ``weight = weight_orig * weight_mask`` before each forward pass,
    so the gradient of a pruned weight is zero and it stays pruned whatever
    the optimizer. A module that already has a mask gets the product of both.

    Parameters
    ----------
    model : nn.Module
    masks : mapping of str to torch.Tensor
        Module name (as in ``model.named_modules()``) to a 0/1 mask of its ``weight``.

    Returns
    -------
    nn.Module
        ``model`` itself.
    """
    modules = dict(model.named_modules())
    for name, mask in masks.items():
        module = modules.get(name)
        if module is None or not isinstance(getattr(module, "weight", None), torch.Tensor):
            raise ParameterValueError(
                f"`masks` must name modules of `model` that have a weight; got {name!r}."
            )
        if tuple(mask.shape) != tuple(module.weight.shape):
            raise ParameterValueError(
                f"`masks[{name!r}]` must have the weight's shape {tuple(module.weight.shape)}; "
                f"got {tuple(mask.shape)}."
            )
        torch_prune.custom_from_mask(module, "weight", mask.to(module.weight.device))
    return model


def remove_masks(model: nn.Module) -> nn.Module:
    """Make every mask of ``model`` permanent: ``weight`` becomes a plain parameter with zeros.

    After this, training can move pruned weights away from zero again; the
    model has torch's ordinary structure (no ``weight_orig``/``weight_mask``).
    Returns ``model`` itself.
    """
    for module in model.modules():
        if torch_prune.is_pruned(module) and hasattr(module, "weight_mask"):
            torch_prune.remove(module, "weight")
    return model


def prune_magnitude(
    model: nn.Module,
    sparsity: float,
    *,
    scope: str = "global",
    layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS,
) -> dict[str, torch.Tensor]:
    """Compute magnitude masks and apply them to ``model`` in place (see :func:`apply_masks`).

    Returns the masks, by module name. Call :func:`remove_masks` when done fine-tuning.
    """
    masks = magnitude_masks(model, sparsity, scope=scope, layers=layers)
    apply_masks(model, masks)
    return masks


def sparsity(model: nn.Module, layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS) -> float:
    r"""Fraction of zero entries among the (effective) weights of ``model``'s prunable layers.

    .. math:: \text{sparsity} = \frac{\#\{i : w_i = 0\}}{\#\{i\}}

    Examples
    --------
    >>> layer = nn.Linear(2, 2)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    >>> sparsity(layer)
    0.75
    """
    modules = prunable_weights(model, layers)
    zeros = sum(int((m.weight == 0).sum()) for m in modules.values())
    total = sum(m.weight.numel() for m in modules.values())
    return zeros / total
