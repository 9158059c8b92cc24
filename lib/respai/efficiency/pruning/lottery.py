r"""Lottery tickets: find a sparse subnetwork that trains well from its original initialisation.

The lottery ticket hypothesis [1]_: a dense, randomly initialised network
contains a sparse subnetwork (a "winning ticket") which, trained in
isolation *from the same initial weights*, reaches the dense network's
accuracy. Iterative magnitude pruning (IMP) with rewinding finds it:

1. initialise :math:`\theta_0`; train :math:`k` iterations to :math:`\theta_k`
   (:math:`k = 0` in [1]_; a few hundred iterations for deeper networks [2]_);
2. train to :math:`\theta_T`, prune the smallest-magnitude weights, giving a mask :math:`m`;
3. **rewind** the surviving weights to :math:`m \odot \theta_k` and repeat
   from 2 for the next round, until the target sparsity.

The ticket is :math:`(m, \theta_k)`. The control of [1]_ trains the same mask
from a fresh random initialisation: if the ticket trains better, the
initial values of the surviving weights matter, not only the architecture.

References
----------
.. [1] J. Frankle and M. Carbin, "The Lottery Ticket Hypothesis: Finding
   Sparse, Trainable Neural Networks", ICLR 2019, Algorithm (Section 1) and Section 4.
.. [2] J. Frankle, G. K. Dziugaite, D. M. Roy and M. Carbin, "Linear Mode
   Connectivity and the Lottery Ticket Hypothesis", ICML 2020, Section 5 (rewinding).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from respai._validation import check_non_negative_int, check_positive_int, check_probability
from respai.efficiency.pruning.magnitude import (
    DEFAULT_LAYERS,
    apply_masks,
    magnitude_masks,
    remove_masks,
    sparsity,
)
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.train import History, fit

__all__ = ["snapshot", "rewind", "LotteryTicket", "find_lottery_ticket"]


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of ``model``'s state (weights and buffers), to rewind to later."""
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def rewind(
    model: nn.Module, state: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor]
) -> nn.Module:
    r"""Reset ``model`` in place to :math:`m \odot \theta`: weights from ``state``, then ``masks``.

    Any masks already on ``model`` are removed first; ``state`` must be a
    :func:`snapshot` of the same architecture taken without masks.
    Returns ``model``, with ``masks`` applied so that training keeps them.
    """
    remove_masks(model)
    model.load_state_dict(state)
    return apply_masks(model, masks)


@dataclass
class LotteryTicket:
    """The result of :func:`find_lottery_ticket`.

    Attributes
    ----------
    model : nn.Module
        The network rewound to :math:`m \\odot \\theta_k`, masks applied, not yet trained.
    masks : dict of str to torch.Tensor
        The final mask of each pruned layer's weight.
    rewind_state : dict of str to torch.Tensor
        :math:`\\theta_k`, the weights the ticket was rewound to.
    sparsities : list of float
        Measured sparsity of the prunable layers after each round.
    histories : list of History
        The training run of each round (before its pruning).
    """

    model: nn.Module
    masks: dict[str, torch.Tensor]
    rewind_state: dict[str, torch.Tensor]
    sparsities: list[float] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)


def find_lottery_ticket(
    model: nn.Module,
    train_loader: Iterable,
    *,
    sparsity_target: float,
    epochs: int,
    rounds: int = 1,
    rewind_iteration: int = 0,
    scope: str = "global",
    layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS,
    lr: float | None = None,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
    progress: bool = False,
    generator: torch.Generator | int | None = None,
) -> LotteryTicket:
    r"""Iterative magnitude pruning with rewinding (Frankle & Carbin 2019; Frankle et al. 2020).

    Round :math:`r = 1..R` trains ``epochs`` epochs, prunes to sparsity
    :math:`1 - (1 - s)^{r/R}` of the prunable weights, and rewinds the
    survivors to :math:`\theta_k`.

    Parameters
    ----------
    model : nn.Module
        The *untrained* network at its initialisation :math:`\theta_0`; trained
        and pruned in place (and returned as ``ticket.model``).
    train_loader : iterable of (inputs, targets)
    sparsity_target : float
        Final fraction of pruned weights, in ``[0, 1)``.
    epochs : int
        Training epochs per round.
    rounds : int, default 1
        Pruning rounds (one-shot with 1).
    rewind_iteration : int, default 0
        :math:`k`: optimisation steps (batches) taken before the snapshot; 0
        rewinds to the initialisation. Must not exceed one epoch of batches.
    scope : {"global", "layer"}, default "global"
    layers : iterable of nn.Module classes
    lr, val_loader, device, progress, generator
        Passed to :func:`respai.train.fit` (a fresh Adam optimizer per round).

    Returns
    -------
    LotteryTicket
        Train ``ticket.model`` with :func:`respai.train.fit` to evaluate the ticket.
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    sparsity_target = check_probability("sparsity_target", sparsity_target)
    if sparsity_target == 1.0:
        raise ParameterValueError("`sparsity_target` must be < 1; got 1.0 (nothing would be left).")
    epochs = check_positive_int("epochs", epochs)
    rounds = check_positive_int("rounds", rounds)
    rewind_iteration = check_non_negative_int("rewind_iteration", rewind_iteration)
    train_kwargs = {"device": device, "progress": progress, "generator": generator}

    if rewind_iteration:
        early = list(itertools.islice(iter(train_loader), rewind_iteration))
        if len(early) < rewind_iteration:
            raise ParameterValueError(
                f"`rewind_iteration` must be at most the {len(early)} batches of one epoch; "
                f"got {rewind_iteration}."
            )
        fit(model, early, epochs=1, lr=lr, metrics=(), **train_kwargs)
    rewind_state = snapshot(model)

    ticket = LotteryTicket(model=model, masks={}, rewind_state=rewind_state)
    for r in range(1, rounds + 1):
        history = fit(
            model, train_loader, epochs=epochs, lr=lr, val_loader=val_loader, **train_kwargs
        )
        target = 1 - (1 - sparsity_target) ** (r / rounds)
        ticket.masks = magnitude_masks(model, target, scope=scope, layers=layers)
        rewind(model, rewind_state, ticket.masks)
        ticket.histories.append(history)
        ticket.sparsities.append(sparsity(model, layers))
    return ticket
