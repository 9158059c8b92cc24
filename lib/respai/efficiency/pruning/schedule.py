r"""Iterative pruning: prune a little, fine-tune, repeat.

Pruning a trained network to high sparsity in one shot loses more accuracy
than reaching the same sparsity in steps with fine-tuning in between [1]_.
At step :math:`t = 1, \dots, T` the target sparsity follows a schedule,

.. math::

    \text{geometric [1]:}\quad s_t = 1 - (1 - s)^{t/T}
    \qquad\qquad
    \text{cubic [2]:}\quad s_t = s\Big(1 - \big(1 - \tfrac{t}{T}\big)^3\Big),

the geometric one removing the same fraction of the *remaining* weights at
every step, the cubic one pruning fast while many redundant weights remain
and slowly near the end. Each step computes magnitude masks on the current
(already masked) weights, so pruned weights stay pruned, then fine-tunes with
:func:`respai.train.fit` while the masks hold them at zero.

References
----------
.. [1] S. Han, J. Pool, J. Tran and W. J. Dally, "Learning both Weights and
   Connections for Efficient Neural Networks", NeurIPS 2015, Section 3.3.
.. [2] M. Zhu and S. Gupta, "To prune, or not to prune: exploring the
   efficacy of pruning for model compression", ICLR Workshop 2018, Eq. (1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from respai._validation import check_positive_int, check_probability
from respai.efficiency.pruning.magnitude import (
    DEFAULT_LAYERS,
    apply_masks,
    magnitude_masks,
    remove_masks,
    sparsity,
)
from respai.exceptions import ParameterValueError
from respai.train import History, fit

__all__ = ["sparsity_schedule", "PruningStep", "iterative_pruning"]


def sparsity_schedule(final_sparsity: float, steps: int, *, kind: str = "geometric") -> list[float]:
    r"""Target sparsity after each of ``steps`` pruning steps, ending at ``final_sparsity``.

    Parameters
    ----------
    final_sparsity : float
        Sparsity after the last step, in ``[0, 1]``.
    steps : int
        Number of pruning steps (positive).
    kind : {"geometric", "cubic"}, default "geometric"
        :math:`1 - (1 - s)^{t/T}` (Han et al. 2015) or
        :math:`s(1 - (1 - t/T)^3)` (Zhu & Gupta 2018).

    Returns
    -------
    list of float
        Increasing, of length ``steps``, last entry ``final_sparsity``.

    Examples
    --------
    >>> [round(s, 4) for s in sparsity_schedule(0.75, 2)]
    [0.5, 0.75]
    >>> [round(s, 4) for s in sparsity_schedule(0.8, 2, kind="cubic")]
    [0.7, 0.8]
    """
    final_sparsity = check_probability("final_sparsity", final_sparsity)
    steps = check_positive_int("steps", steps)
    if kind == "geometric":
        return [1 - (1 - final_sparsity) ** (t / steps) for t in range(1, steps + 1)]
    if kind == "cubic":
        return [final_sparsity * (1 - (1 - t / steps) ** 3) for t in range(1, steps + 1)]
    raise ParameterValueError(f"`kind` must be 'geometric' or 'cubic'; got {kind!r}.")


@dataclass
class PruningStep:
    """One prune-then-fine-tune step of :func:`iterative_pruning`.

    Attributes
    ----------
    target_sparsity : float
        Sparsity asked for at this step.
    sparsity : float
        Measured fraction of zero weights in the prunable layers after pruning.
    history : History
        The fine-tuning run (:func:`respai.train.fit`).
    """

    target_sparsity: float
    sparsity: float
    history: History


def iterative_pruning(
    model: nn.Module,
    train_loader: Iterable,
    *,
    final_sparsity: float,
    steps: int,
    epochs_per_step: int = 1,
    schedule: str = "geometric",
    scope: str = "global",
    layers: Iterable[type[nn.Module]] = DEFAULT_LAYERS,
    lr: float | None = None,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
    metrics: Sequence[str] = ("accuracy",),
    progress: bool = False,
    generator: torch.Generator | int | None = None,
) -> list[PruningStep]:
    """Prune ``model`` in place to ``final_sparsity`` in ``steps`` prune/fine-tune rounds.

    Parameters
    ----------
    model : nn.Module
        A trained model (pruning an untrained one works but makes little sense).
    train_loader : iterable of (inputs, targets)
        Fine-tuning data.
    final_sparsity : float
        Fraction of prunable weights that are zero at the end, in ``[0, 1]``.
    steps : int
        Number of pruning steps.
    epochs_per_step : int, default 1
        Fine-tuning epochs after each pruning step.
    schedule : {"geometric", "cubic"}, default "geometric"
        See :func:`sparsity_schedule`.
    scope : {"global", "layer"}, default "global"
        See :func:`respai.efficiency.pruning.magnitude.magnitude_masks`.
    layers : iterable of nn.Module classes
        Layer types to prune.
    lr, val_loader, device, metrics, progress, generator
        Passed to :func:`respai.train.fit` (a fresh Adam optimizer per step,
        because pruning replaces the weight parameters).

    Returns
    -------
    list of PruningStep
        One per step. ``model`` keeps its masks (``weight_orig``/``weight_mask``)
        so that further fine-tuning keeps the zeros; call
        :func:`~respai.efficiency.pruning.magnitude.remove_masks` to make them permanent.
    """
    targets = sparsity_schedule(final_sparsity, steps, kind=schedule)
    epochs_per_step = check_positive_int("epochs_per_step", epochs_per_step)
    if not isinstance(model, nn.Module):
        raise ParameterValueError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    record = []
    for target in targets:
        masks = magnitude_masks(model, target, scope=scope, layers=layers)
        remove_masks(model)  # fold the previous masks in, then apply the new (nested) ones
        apply_masks(model, masks)
        reached = sparsity(model, layers)
        history = fit(
            model,
            train_loader,
            epochs=epochs_per_step,
            lr=lr,
            device=device,
            val_loader=val_loader,
            metrics=metrics,
            progress=progress,
            generator=generator,
        )
        record.append(PruningStep(target, reached, history))
    return record
