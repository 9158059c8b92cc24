r"""``make_private``: turn (model, optimizer, data loader) into their DP-SGD versions.

Same shape as Opacus's ``PrivacyEngine.make_private``: the three returned
objects drop into an ordinary training loop such as :func:`respai.train.fit`
unchanged, and ``optimizer.get_epsilon(delta)`` reports the ε spent.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

from respai._validation import check_delta, check_epsilon, check_positive, check_positive_int
from respai.data.tensors import as_torch_generator
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.accounting import calibrate_noise_multiplier, get_accountant_class
from respai.privacy.dpsgd.data_loader import poisson_loader
from respai.privacy.dpsgd.ghost_clipping import (
    GhostClippingModule,
    GhostDPOptimizer,
    check_grad_sample_mode,
)
from respai.privacy.dpsgd.grad_sample import GradSampleModule, check_loss_reduction
from respai.privacy.dpsgd.optimizer import DPOptimizer, _check_noise
from respai.privacy.dpsgd.validators import check_model

__all__ = ["make_private"]


def make_private(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data_loader: DataLoader,
    *,
    noise_multiplier: float | None = None,
    target_epsilon: float | None = None,
    max_grad_norm: float,
    delta: float,
    epochs: int,
    accountant: str = "rdp",
    loss_reduction: str = "mean",
    generator: torch.Generator | int | None = None,
    grad_sample_mode: str = "vmap",
) -> tuple[GradSampleModule | GhostClippingModule, DPOptimizer, DataLoader]:
    r"""Make ``model``, ``optimizer`` and ``data_loader`` private for DP-SGD (Abadi et al. 2016).

    With :math:`q = 1/\mathrm{len}(\text{data\_loader})` and
    :math:`T = \text{epochs}\cdot\mathrm{len}(\text{data\_loader})` steps, each step
    Poisson-samples a batch, clips every per-sample gradient to norm
    :math:`C` = ``max_grad_norm`` and adds :math:`\mathcal N(0, \sigma^2C^2)`;
    the whole run is :math:`(\varepsilon, \delta)`-DP with ε from the
    accountant (``"rdp"``: Mironov et al. 2019 + Balle et al. 2020, Theorem 21;
    ``"prv"``: Gopi et al. 2021).

    Parameters
    ----------
    model : nn.Module
        Validated first: BatchNorm and other batch-mixing layers are refused.
    optimizer : torch.optim.Optimizer
        Any optimizer over ``model``'s parameters.
    data_loader : DataLoader
        Its dataset and ``len`` (steps per epoch) are kept; batches become
        Poisson samples with expected size ``len(dataset) / len(data_loader)``.
    noise_multiplier : float, keyword-only
        σ; give exactly one of ``noise_multiplier`` and ``target_epsilon``.
    target_epsilon : float, keyword-only
        ε to spend over ``epochs``; σ is calibrated with the accountant.
    max_grad_norm : float, keyword-only
        Clipping norm :math:`C > 0`.
    delta : float, keyword-only
        δ of the guarantee, e.g. ``1e-5`` (well below 1/N).
    epochs : int, keyword-only
        Planned epochs (for calibration; train exactly these to spend ε).
    accountant : {"rdp", "prv"}, default "rdp"
    loss_reduction : {"mean", "sum"}, default "mean"
        Reduction of the training loss.
    generator : torch.Generator or int, optional
        Seeds both the batch sampling and the noise (not cryptographically secure).
    grad_sample_mode : {"vmap", "ghost"}, default "vmap"
        ``"vmap"``: per-sample gradients of any layer (:class:`GradSampleModule`);
        ``"ghost"``: ghost clipping (:class:`~respai.privacy.dpsgd.GhostClippingModule`,
        Li et al. 2022; Bu et al. 2022 for convolutions), per-sample norms only,
        for models whose trainable layers are Linear, Conv1d/Conv2d, Embedding,
        LayerNorm or GroupNorm (transformers, CNNs): faster, far less memory.

    Returns
    -------
    model : GradSampleModule or GhostClippingModule
        Wraps (and shares parameters with) ``model``.
    optimizer : DPOptimizer
        Call ``optimizer.get_epsilon()`` for the ε spent so far.
    data_loader : DataLoader
        The Poisson-sampling loader (may yield empty batches).

    Raises
    ------
    ParameterValueError, ParameterTypeError
        On invalid arguments or an incompatible model, before any work.

    References
    ----------
    .. [1] M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016, Alg. 1.
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    if isinstance(model, (GradSampleModule, GhostClippingModule)):
        raise ParameterValueError(
            "`model` must be a plain module; got a GradSampleModule. Call make_private once."
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ParameterTypeError(
            f"`optimizer` must be a torch.optim.Optimizer; got {type(optimizer).__name__}."
        )
    if (noise_multiplier is None) == (target_epsilon is None):
        raise ParameterValueError(
            "exactly one of `noise_multiplier` and `target_epsilon` must be given; got "
            f"noise_multiplier={noise_multiplier!r}, target_epsilon={target_epsilon!r}."
        )
    max_grad_norm = check_positive("max_grad_norm", max_grad_norm, fix="Try 1.0.")
    delta = check_delta(delta)
    epochs = check_positive_int("epochs", epochs)
    get_accountant_class(accountant)  # validates the name
    loss_reduction = check_loss_reduction(loss_reduction)
    grad_sample_mode = check_grad_sample_mode(grad_sample_mode)
    if noise_multiplier is not None:
        noise_multiplier = _check_noise(noise_multiplier)
    else:
        target_epsilon = check_epsilon(target_epsilon, "target_epsilon")
    generator = as_torch_generator(generator)
    check_model(model)
    model_params = {id(p) for p in model.parameters() if p.requires_grad}
    opt_params = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not model_params <= opt_params:
        raise ParameterValueError(
            "`optimizer` must hold every trainable parameter of `model`; got one that misses "
            f"{len(model_params - opt_params)} of them. Build it as optimizer(model.parameters())."
        )

    loader = poisson_loader(data_loader, generator=generator)
    sampler = loader.batch_sampler
    sample_rate = sampler.sample_rate
    if target_epsilon is not None:
        noise_multiplier = calibrate_noise_multiplier(
            target_epsilon, delta, sample_rate, epochs * sampler.steps, accountant=accountant
        )
    if grad_sample_mode == "ghost":
        wrapped = GhostClippingModule(model, loss_reduction=loss_reduction)
        optimizer_class, extra = GhostDPOptimizer, {"module": wrapped}
    else:
        wrapped = GradSampleModule(model, loss_reduction=loss_reduction)
        optimizer_class, extra = DPOptimizer, {}
    dp_optimizer = optimizer_class(
        optimizer,
        noise_multiplier=noise_multiplier,
        max_grad_norm=max_grad_norm,
        expected_batch_size=sample_rate * sampler.num_samples,
        sample_rate=sample_rate,
        loss_reduction=loss_reduction,
        accountant=accountant,
        delta=delta,
        generator=generator,
        **extra,
    )
    return wrapped, dp_optimizer, loader
