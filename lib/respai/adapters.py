r"""Adapting a pretrained model to a task: which parameters train, and low-rank adapters.

Three ways to fine-tune a pretrained classifier, from most to fewest trainable
parameters: all of them; only the last layers and the head
(:func:`freeze_all_but`); or a low-rank update :math:`\Delta W = BA` of chosen
weight matrices while everything pretrained stays frozen (LoRA, Hu et al.
2022: :class:`LoRALinear`, :func:`add_lora`). Fewer trainable parameters
matter twice under differential privacy: DP-SGD adds noise of the same norm
per coordinate to every trainable parameter, so the total noise grows with
:math:`\sqrt{d}` while the clipped signal does not (Yu et al. 2022).

:class:`IdsClassifier` makes a Hugging Face classifier a plain
``model(ids) -> logits`` module, so :func:`respai.train.fit` and the DP-SGD
wrappers can train it.

References
----------
.. [1] E. J. Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models",
   ICLR 2022, Section 4.1 (Eq. 3 and the initialisation).
.. [2] D. Yu et al., "Differentially Private Fine-tuning of Language Models",
   ICLR 2022, Section 1 and Table 3 (LoRA under DP on GLUE).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from respai._validation import check_positive, check_positive_int
from respai.data.tensors import as_torch_generator
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = [
    "lora_linear",
    "LoRALinear",
    "add_lora",
    "freeze_all_but",
    "count_parameters",
    "IdsClassifier",
]


def lora_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    lora_a: torch.Tensor,
    lora_b: torch.Tensor,
    scaling: float,
) -> torch.Tensor:
    r"""Linear layer plus a low-rank update, :math:`h = W x + b + s\,B A x` (Hu et al. 2022, Eq. 3).

    Computed as two thin products, :math:`B(Ax)`: the :math:`d_\text{out}\times
    d_\text{in}` update :math:`BA` is never formed.

    Parameters
    ----------
    x : torch.Tensor
        Inputs, shape ``(..., d_in)``.
    weight : torch.Tensor
        Frozen :math:`W`, shape ``(d_out, d_in)``.
    bias : torch.Tensor or None
        :math:`b`, shape ``(d_out,)``.
    lora_a : torch.Tensor
        :math:`A`, shape ``(r, d_in)``.
    lora_b : torch.Tensor
        :math:`B`, shape ``(d_out, r)``.
    scaling : float
        :math:`s = \alpha / r`.

    Returns
    -------
    torch.Tensor
        Shape ``(..., d_out)``.

    Examples
    --------
    >>> x = torch.tensor([[1.0, 2.0]])
    >>> lora_linear(x, torch.eye(2), None, torch.tensor([[1.0, 1.0]]),
    ...             torch.tensor([[1.0], [0.0]]), 0.5)  # x + 0.5 * [3, 0]
    tensor([[2.5000, 2.0000]])
    """
    out = torch.nn.functional.linear(x, weight, bias)
    return out + scaling * ((x @ lora_a.T) @ lora_b.T)


class LoRALinear(nn.Module):
    r"""``base`` frozen plus a trainable low-rank update, :math:`h = Wx + b + \frac{\alpha}{r} BAx`.

    :math:`A` (``lora_A``, :math:`r \times d_\text{in}`) starts random and
    :math:`B` (``lora_B``, :math:`d_\text{out} \times r`) at zero, so the
    layer starts as ``base`` exactly (Hu et al. 2022, Section 4.1). Both are
    ``nn.Linear`` layers without bias, so per-sample-gradient code (Opacus,
    ghost clipping) sees ordinary linear layers.

    Parameters
    ----------
    base : nn.Linear
        The pretrained layer; its parameters are frozen.
    rank : int, default 8
        :math:`r`.
    alpha : float, default 16.0
        :math:`\alpha`; the update is scaled by :math:`\alpha / r`.
    generator : torch.Generator or int, optional
        Seeds :math:`A`'s initialisation (Kaiming-uniform, as in ``nn.Linear``).

    Examples
    --------
    >>> layer = LoRALinear(nn.Linear(4, 3), rank=2, generator=0)
    >>> sum(p.numel() for p in layer.parameters() if p.requires_grad)  # 2*4 + 3*2
    14
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int = 8,
        alpha: float = 16.0,
        *,
        generator: torch.Generator | int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ParameterTypeError(f"`base` must be an nn.Linear; got {type(base).__name__}.")
        rank = check_positive_int("rank", rank)
        alpha = check_positive("alpha", alpha)
        generator = as_torch_generator(generator)
        self.base = base.requires_grad_(False)
        self.rank, self.alpha, self.scaling = rank, alpha, alpha / rank
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Linear(base.in_features, rank, bias=False, **factory)
        self.lora_B = nn.Linear(rank, base.out_features, bias=False, **factory)
        bound = 1.0 / math.sqrt(base.in_features)  # kaiming_uniform_(a=sqrt(5)), as nn.Linear
        with torch.no_grad():
            a = torch.rand(self.lora_A.weight.shape, generator=generator) * 2 * bound - bound
            self.lora_A.weight.copy_(a)
            self.lora_B.weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The same as lora_linear(...), through the submodules so that hooks see them.
        return self.base(x) + self.scaling * self.lora_B(self.lora_A(x))

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}"


def add_lora(
    model: nn.Module,
    *,
    targets: Sequence[str] = ("query", "value"),
    rank: int = 8,
    alpha: float = 16.0,
    generator: torch.Generator | int | None = None,
) -> nn.Module:
    """Replace, in place, each ``nn.Linear`` whose attribute name is in ``targets`` by a LoRALinear.

    The default targets are the query and value projections of BERT-style
    attention (Hu et al. 2022, Section 7.1, adapt :math:`W_q` and :math:`W_v`);
    DistilBERT names them ``q_lin`` and ``v_lin``. Other parameters are not
    touched: freeze them with :func:`freeze_all_but`.

    Returns
    -------
    nn.Module
        ``model`` itself.

    Raises
    ------
    ParameterValueError
        If no ``nn.Linear`` has one of those names.
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    targets = _names("targets", targets)
    generator = as_torch_generator(generator)
    found = [
        (parent, name, child)
        for parent in model.modules()
        for name, child in parent.named_children()
        if name in targets and type(child) is nn.Linear
    ]
    if not found:
        raise ParameterValueError(
            f"`targets` must name nn.Linear layers of the model; got {list(targets)!r}, which "
            "match none. For BERT use ('query', 'value'), for DistilBERT ('q_lin', 'v_lin')."
        )
    for parent, name, child in found:
        setattr(parent, name, LoRALinear(child, rank, alpha, generator=generator))
    return model


def freeze_all_but(model: nn.Module, trainable: Sequence[str]) -> nn.Module:
    """Freeze every parameter whose qualified name contains none of the strings in ``trainable``.

    A parameter stays (or becomes) trainable if one of the strings occurs in
    its name as listed by ``model.named_parameters()``: ``["classifier"]``
    trains the head only, ``["layer.5.", "classifier"]`` also the last of six
    layers (mind the final dot: ``"layer.1"`` also matches ``"layer.10"``).

    Returns
    -------
    nn.Module
        ``model`` itself.

    Raises
    ------
    ParameterValueError
        If no parameter matches (most likely a typo).

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    >>> [p.requires_grad for p in freeze_all_but(net, ["1."]).parameters()]
    [False, False, True, True]
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    trainable = _names("trainable", trainable)
    named = list(model.named_parameters())
    keep = [any(s in name for s in trainable) for name, _ in named]
    if not any(keep):
        sample = ", ".join(name for name, _ in named[:3])
        raise ParameterValueError(
            f"`trainable` must match at least one parameter name; got {list(trainable)!r}. "
            f"Names look like: {sample}, ..."
        )
    for (_, p), k in zip(named, keep, strict=True):
        p.requires_grad_(k)
    return model


def count_parameters(model: nn.Module, *, trainable: bool = True) -> int:
    """Number of (trainable, by default) parameters of ``model``, shared ones counted once."""
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def _names(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ParameterTypeError(
            f"`{name}` must be a sequence of strings such as ['classifier']; got {value!r}."
        )
    if not value or not all(isinstance(v, str) and v for v in value):
        raise ParameterValueError(
            f"`{name}` must be a non-empty sequence of non-empty strings; got {value!r}."
        )
    return tuple(value)


POOLINGS = ("cls", "mean")


class IdsClassifier(nn.Module):
    r"""``model(ids) -> logits`` for a Hugging Face sequence classifier.

    The attention mask is ``ids != pad_token_id`` (right padding; BERT-style
    tokenizers never use the padding id for a real token), so a batch is one
    integer tensor of shape ``(B, T)``: what :func:`respai.train.fit`, Poisson
    loaders and the DP-SGD wrappers pass around.

    ``pooling="cls"`` is the model's own head (BERT: a dense "pooler" layer on
    the first token's vector, then ``classifier``). ``pooling="mean"`` feeds
    ``model.classifier`` the mean of the encoder's output vectors over the
    real tokens,

    .. math::

        \bar h = \frac{\sum_t m_t h_t}{\sum_t m_t}, \qquad
        \text{logits} = W_c\,\mathrm{dropout}(\bar h) + b_c,

    the sentence representation sentence-transformers models such as
    all-MiniLM-L6-v2 were trained for (Reimers & Gurevych 2019, Section 3);
    the layers the mean replaces (BERT's ``pooler``, DistilBERT's
    ``pre_classifier``) are then unused and frozen.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        E.g. :func:`respai.pretrained.load_classifier`.
    pad_token_id : int, optional
        Default: ``model.config.pad_token_id``.
    pooling : {"cls", "mean"}, default "cls"

    References
    ----------
    .. [1] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using
       Siamese BERT-Networks", EMNLP 2019.
    """

    def __init__(
        self, model: nn.Module, pad_token_id: int | None = None, *, pooling: str = "cls"
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ParameterTypeError(
                f"`model` must be a torch.nn.Module; got {type(model).__name__}."
            )
        if pad_token_id is None:
            pad_token_id = getattr(getattr(model, "config", None), "pad_token_id", None)
        if not isinstance(pad_token_id, int):
            raise ParameterValueError(
                f"`pad_token_id` must be an int; got {pad_token_id!r}. Pass tokenizer.pad_token_id."
            )
        if pooling not in POOLINGS:
            raise ParameterValueError(f"`pooling` must be 'cls' or 'mean'; got {pooling!r}.")
        if pooling == "mean":
            missing = [a for a in ("base_model", "dropout", "classifier") if not hasattr(model, a)]
            if missing:
                raise ParameterValueError(
                    "`model` must have `base_model`, `dropout` and `classifier` for "
                    f"pooling='mean' (a BERT-style sequence classifier); got none of {missing}."
                )
            for unused in (
                getattr(model.base_model, "pooler", None),
                getattr(model, "pre_classifier", None),
            ):
                if isinstance(unused, nn.Module):
                    unused.requires_grad_(False)
        self.model = model
        self.pad_token_id = pad_token_id
        self.pooling = pooling

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.long()  # loaders may hand over float copies of the ids
        mask = (ids != self.pad_token_id).long()
        if self.pooling == "cls":
            return self.model(input_ids=ids, attention_mask=mask).logits
        hidden = self.model.base_model(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        return self.model.classifier(self.model.dropout(mean))
