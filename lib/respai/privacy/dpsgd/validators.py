"""Reject models DP-SGD cannot train, listing every problem at once.

Like Opacus's ``ModuleValidator.validate``, :func:`validate_model` collects all
problems and :func:`check_model` raises one
:class:`~respai.exceptions.ParameterValueError` that lists them, each with why
and what to use instead.
"""

from __future__ import annotations

from torch import nn

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["validate_model", "check_model", "BATCHNORM_MESSAGE"]

BATCHNORM_MESSAGE = (
    "BatchNorm mixes the examples of a batch (it normalises each example with the "
    "batch's mean and variance), so one example's gradient depends on every other "
    "example: per-sample gradients, clipping and the privacy guarantee no longer hold. "
    "Use GroupNorm (nn.GroupNorm(num_groups, channels)) or LayerNorm instead, which "
    "normalise within one example."
)

INSTANCENORM_MESSAGE = (
    "InstanceNorm with track_running_stats=True keeps running statistics computed "
    "from the training batches, which leak information outside the clipped, noised "
    "gradient. Use track_running_stats=False, or GroupNorm/LayerNorm."
)


def validate_model(model: nn.Module) -> list[str]:
    """Every reason ``model`` cannot be trained with DP-SGD (empty list if none).

    Examples
    --------
    >>> validate_model(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2)))
    []
    >>> len(validate_model(nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4))))
    1
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    problems = []
    for name, module in model.named_modules():
        where = f"layer {name!r} ({type(module).__name__})" if name else type(module).__name__
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            problems.append(f"{where}: {BATCHNORM_MESSAGE}")
        elif isinstance(module, nn.modules.instancenorm._InstanceNorm) and (
            module.track_running_stats
        ):
            problems.append(f"{where}: {INSTANCENORM_MESSAGE}")
    if not any(p.requires_grad for p in model.parameters()):
        problems.append(
            "the model has no trainable parameters (requires_grad=True); there is nothing "
            "for DP-SGD to train. Unfreeze at least one layer."
        )
    return problems


def check_model(model: nn.Module) -> nn.Module:
    """Return ``model`` if DP-SGD can train it; otherwise raise listing every problem.

    Raises
    ------
    ParameterValueError
        "`model` must be compatible with DP-SGD; got N problem(s): ..." with
        one line per problem.
    """
    problems = validate_model(model)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ParameterValueError(
            f"`model` must be compatible with DP-SGD; got {len(problems)} problem(s):\n{lines}"
        )
    return model
