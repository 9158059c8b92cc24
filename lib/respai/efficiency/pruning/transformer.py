r"""Prune attention heads and feed-forward neurons of a BERT-style encoder.

A BERT layer [1]_ computes, for heads :math:`h = 1..H` of width :math:`d`,

.. math::

    \operatorname{MHA}(X) = \sum_{h=1}^{H} \operatorname{Att}_h(X)\, W^O_{h},
    \qquad
    \operatorname{FFN}(X) = \sum_{j=1}^{d_{ff}} \operatorname{gelu}(X w^{in}_j + b_j)\, w^{out}_j,

where :math:`W^O_h` are the :math:`d` rows of the output projection that
read head :math:`h`, and :math:`w^{out}_j` the row that reads neuron :math:`j`.
Both are sums of independent terms, so dropping a head (its query, key and
value columns and its :math:`W^O_h`) or a neuron (:math:`w^{in}_j, b_j,
w^{out}_j`) gives smaller dense matrices whose output equals the full layer
with that term's gate set to 0; the tests check it.

Scores (higher = keep):

``"magnitude"``
    The norm of the weights a head or neuron owns: :math:`\lVert[W^Q_h, W^K_h,
    W^V_h, W^O_h]\rVert_2`, :math:`\lVert w^{in}_j\rVert_2 \lVert w^{out}_j\rVert_2`.
    No data needed.
``"taylor"``
    Michel et al.'s importance [2]_: gate each term by :math:`\xi = 1` and
    average :math:`|\partial L / \partial \xi|` over batches, a first-order
    estimate of the loss change when the term is removed.

Transformers 5 no longer has ``PreTrainedModel.prune_heads``, so heads are
removed here by rebuilding the query/key/value/output ``nn.Linear`` layers
(with :func:`transformers.pytorch_utils.prune_linear_layer`). The pruned
model runs and fine-tunes normally; its per-layer head counts differ from
``config.num_attention_heads``, so reload it with ``torch.load`` rather than
``from_pretrained``.

References
----------
.. [1] J. Devlin, M.-W. Chang, K. Lee and K. Toutanova, "BERT: Pre-training of
   Deep Bidirectional Transformers for Language Understanding", NAACL 2019.
.. [2] P. Michel, O. Levy and G. Neubig, "Are Sixteen Heads Really Better than
   One?", NeurIPS 2019, Section 4.1 (Eq. 2: head importance).
.. [3] E. Voita, D. Talbot, F. Moiseev, R. Sennrich and I. Titov, "Analyzing
   Multi-Head Self-Attention: Specialized Heads Do the Heavy Lifting, the Rest
   Can Be Pruned", ACL 2019.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from respai._validation import check_probability
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "encoder_layers",
    "head_importance",
    "neuron_importance",
    "select_to_remove",
    "prune_heads",
    "prune_ffn_neurons",
    "prune_transformer",
]


def encoder_layers(model: nn.Module) -> list[nn.Module]:
    """The transformer layers of a BERT-style model (``BertModel`` or a task model around one).

    Each layer must have ``attention.self.{query,key,value}``,
    ``attention.output.dense``, ``intermediate.dense`` and ``output.dense``.
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    needed = (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    )
    if layers is None or not all(_has(layer, path) for layer in layers for path in needed):
        raise ParameterTypeError(
            f"`model` must be a BERT-style encoder (encoder.layer[i] with attention.self.query, "
            f"..., intermediate.dense, output.dense); got {type(model).__name__}."
        )
    return list(layers)


def _has(module: nn.Module, path: str) -> bool:
    for part in path.split("."):
        module = getattr(module, part, None)
        if module is None:
            return False
    return isinstance(module, nn.Linear)


def _head_count(layer: nn.Module) -> tuple[int, int]:
    attention = layer.attention.self
    return (
        attention.query.out_features // attention.attention_head_size,
        attention.attention_head_size,
    )


# --------------------------------------------------------------------------- importance


def _magnitude_heads(layer: nn.Module) -> torch.Tensor:
    heads, width = _head_count(layer)
    attention = layer.attention.self
    rows = sum(
        getattr(attention, n).weight.detach().pow(2).reshape(heads, width, -1).sum((1, 2))
        for n in ("query", "key", "value")
    )
    out = layer.attention.output.dense.weight.detach().pow(2).reshape(-1, heads, width).sum((0, 2))
    return (rows + out).sqrt()


def _magnitude_neurons(layer: nn.Module) -> torch.Tensor:
    w_in = layer.intermediate.dense.weight.detach().norm(dim=1)
    w_out = layer.output.dense.weight.detach().norm(dim=0)
    return w_in * w_out


def _gate_hook(gate: torch.Tensor, width: int):
    """Forward pre-hook multiplying the input of an output projection by one gate per term."""

    def hook(module, args):
        x = args[0]
        shape = x.shape
        gated = (x.reshape(*shape[:-1], gate.numel(), width) * gate[:, None]).reshape(shape)
        return (gated, *args[1:])

    return hook


def _taylor(
    model: nn.Module,
    batches: Iterable,
    loss_fn: Callable | None,
    which: str,
) -> list[torch.Tensor]:
    layers = encoder_layers(model)
    device = next(model.parameters()).device
    gates, handles = [], []
    for layer in layers:
        if which == "heads":
            n, width = _head_count(layer)
            target = layer.attention.output.dense
        else:
            n, width = layer.intermediate.dense.out_features, 1
            target = layer.output.dense
        gate = torch.ones(n, device=device, requires_grad=True)
        gates.append(gate)
        handles.append(target.register_forward_pre_hook(_gate_hook(gate, width)))
    scores = [torch.zeros(g.numel(), device=device) for g in gates]
    was_training, n_batches = model.training, 0
    model.eval()  # importance of the deployed (dropout-free) network
    try:
        for batch in batches:
            inputs, labels = _unpack(batch, device)
            logits = model(**inputs).logits
            loss = (loss_fn or nn.functional.cross_entropy)(logits, labels)
            grads = torch.autograd.grad(loss, gates)
            for score, grad in zip(scores, grads, strict=True):
                score += grad.abs()
            n_batches += 1
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if n_batches == 0:
        raise ParameterValueError("`batches` must yield at least one batch; got none.")
    return [score / n_batches for score in scores]


def _unpack(batch: object, device: torch.device) -> tuple[dict, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2 and isinstance(batch[0], Mapping)):
        raise ParameterValueError(
            "each batch must be a pair (inputs, labels) with inputs a dict of tensors for the "
            f"model (input_ids, attention_mask, ...); got {type(batch).__name__}."
        )
    inputs, labels = batch
    return {k: v.to(device) for k, v in inputs.items()}, labels.to(device)


def _importance(model, method, batches, loss_fn, which) -> list[torch.Tensor]:
    if method == "magnitude":
        score = _magnitude_heads if which == "heads" else _magnitude_neurons
        return [score(layer) for layer in encoder_layers(model)]
    if method == "taylor":
        if batches is None:
            raise ParameterValueError(
                "`batches` must be given for method='taylor': an iterable of "
                "(inputs dict, labels) pairs."
            )
        return _taylor(model, batches, loss_fn, which)
    raise ParameterValueError(f"`method` must be 'magnitude' or 'taylor'; got {method!r}.")


def head_importance(
    model: nn.Module,
    *,
    method: str = "magnitude",
    batches: Iterable | None = None,
    loss_fn: Callable | None = None,
) -> list[torch.Tensor]:
    """Importance of every attention head, one tensor (heads,) per layer (see module docstring).

    Parameters
    ----------
    model : nn.Module
        BERT-style model (:func:`encoder_layers`); for ``"taylor"`` a
        classifier returning ``.logits``.
    method : {"magnitude", "taylor"}, default "magnitude"
    batches : iterable of (dict, torch.Tensor), optional
        ``(tokenizer output, labels)`` pairs; required for ``"taylor"``.
    loss_fn : callable, optional
        ``loss_fn(logits, labels)``; cross-entropy by default.
    """
    return _importance(model, method, batches, loss_fn, "heads")


def neuron_importance(
    model: nn.Module,
    *,
    method: str = "magnitude",
    batches: Iterable | None = None,
    loss_fn: Callable | None = None,
) -> list[torch.Tensor]:
    """Importance of every feed-forward neuron, one tensor (intermediate_size,) per layer.

    Parameters are as in :func:`head_importance`.
    """
    return _importance(model, method, batches, loss_fn, "neurons")


def select_to_remove(scores: list[torch.Tensor], sparsity: float) -> dict[int, list[int]]:
    """Per layer, the ``round(sparsity * n)`` lowest-scoring units (at least one unit stays).

    Parameters
    ----------
    scores : list of torch.Tensor
        One score vector per layer, from :func:`head_importance` or :func:`neuron_importance`.
    sparsity : float
        Fraction of each layer's units to remove, in ``[0, 1)``.

    Returns
    -------
    dict of int to list of int
        Layer index to the sorted indices to remove (layers with none are omitted).

    Examples
    --------
    >>> select_to_remove([torch.tensor([3.0, 1.0, 2.0, 0.5])], 0.5)
    {0: [1, 3]}
    """
    sparsity = check_probability("sparsity", sparsity)
    plan = {}
    for index, score in enumerate(scores):
        k = round(sparsity * score.numel())
        if k >= score.numel():
            raise ParameterValueError(
                f"`sparsity` must leave at least one unit in each layer; got {sparsity!r}, "
                f"which removes all {score.numel()} units of layer {index}."
            )
        if k:
            plan[index] = sorted(torch.topk(score, k, largest=False).indices.tolist())
    return plan


def _keep_index(n: int, remove: Iterable[int], what: str, layer: int) -> torch.Tensor:
    remove = sorted(set(int(i) for i in remove))
    if any(i < 0 or i >= n for i in remove):
        raise ParameterValueError(f"{what} of layer {layer} must be in [0, {n}); got {remove}.")
    keep = [i for i in range(n) if i not in remove]
    if not keep:
        raise ParameterValueError(
            f"cannot remove all {n} {what} of layer {layer}; keep at least one."
        )
    return torch.tensor(keep, dtype=torch.long)


def prune_heads(model: nn.Module, heads: Mapping[int, Iterable[int]]) -> nn.Module:
    """Remove attention heads in place: ``heads`` maps a layer index to the heads to drop.

    Rebuilds the layer's query, key and value projections without the heads'
    output columns and its output projection without their input columns.
    Returns ``model``.
    """
    from transformers.pytorch_utils import prune_linear_layer

    layers = encoder_layers(model)
    for index, remove in heads.items():
        if not 0 <= index < len(layers):
            raise ParameterValueError(
                f"`heads` layer index must be in [0, {len(layers)}); got {index}."
            )
        layer = layers[index]
        n, width = _head_count(layer)
        kept_heads = _keep_index(n, remove, "heads", index)
        columns = (kept_heads[:, None] * width + torch.arange(width)).reshape(-1)
        attention = layer.attention.self
        for name in ("query", "key", "value"):
            setattr(attention, name, prune_linear_layer(getattr(attention, name), columns, dim=0))
        layer.attention.output.dense = prune_linear_layer(
            layer.attention.output.dense, columns, dim=1
        )
        attention.num_attention_heads = len(kept_heads)
        attention.all_head_size = len(kept_heads) * width
    return model


def prune_ffn_neurons(model: nn.Module, neurons: Mapping[int, Iterable[int]]) -> nn.Module:
    """Remove feed-forward neurons in place: ``neurons`` maps a layer index to the neurons to drop.

    Rebuilds ``intermediate.dense`` without the neurons' rows and
    ``output.dense`` without their columns. Returns ``model``.
    """
    from transformers.pytorch_utils import prune_linear_layer

    layers = encoder_layers(model)
    for index, remove in neurons.items():
        if not 0 <= index < len(layers):
            raise ParameterValueError(
                f"`neurons` layer index must be in [0, {len(layers)}); got {index}."
            )
        layer = layers[index]
        keep = _keep_index(layer.intermediate.dense.out_features, remove, "neurons", index)
        layer.intermediate.dense = prune_linear_layer(layer.intermediate.dense, keep, dim=0)
        layer.output.dense = prune_linear_layer(layer.output.dense, keep, dim=1)
    return model


def prune_transformer(
    model: nn.Module,
    *,
    head_sparsity: float = 0.0,
    ffn_sparsity: float = 0.0,
    method: str = "magnitude",
    batches: Iterable | None = None,
    loss_fn: Callable | None = None,
) -> dict[str, dict[int, list[int]]]:
    """Remove the least important fraction of heads and of FFN neurons of every layer, in place.

    Parameters
    ----------
    model : nn.Module
        BERT-style model.
    head_sparsity, ffn_sparsity : float, default 0
        Fraction of each layer's heads / neurons to remove, in ``[0, 1)``.
    method, batches, loss_fn
        As in :func:`head_importance`; scores are computed before anything is removed.

    Returns
    -------
    dict
        ``{"heads": {layer: [...]}, "neurons": {layer: [...]}}``, what was removed.
    """
    head_sparsity = check_probability("head_sparsity", head_sparsity)
    ffn_sparsity = check_probability("ffn_sparsity", ffn_sparsity)
    if batches is not None and not isinstance(batches, (list, tuple)):
        batches = list(batches)  # used twice (heads, then neurons)
    removed = {
        "heads": select_to_remove(
            head_importance(model, method=method, batches=batches, loss_fn=loss_fn), head_sparsity
        ),
        "neurons": select_to_remove(
            neuron_importance(model, method=method, batches=batches, loss_fn=loss_fn), ffn_sparsity
        ),
    }
    prune_heads(model, removed["heads"])
    prune_ffn_neurons(model, removed["neurons"])
    return removed
