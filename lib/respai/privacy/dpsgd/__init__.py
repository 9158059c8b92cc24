r"""DP-SGD (Abadi et al. 2016) with :mod:`torch.func` per-sample gradients.

Layout like Opacus: :mod:`.grad_sample` (per-sample gradients),
:mod:`.clipping` (clip and noise), :mod:`.optimizer` (:class:`DPOptimizer`),
:mod:`.data_loader` (Poisson sampling), :mod:`.validators` (refuse BatchNorm),
:mod:`.ghost_clipping` (per-sample norms without per-sample gradients, for
transformers and CNNs) and :func:`make_private`, which ties them together.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from respai.train import fit, make_loader
>>> X = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
>>> model = nn.Linear(2, 1)
>>> model, opt, loader = make_private(
...     model, torch.optim.SGD(model.parameters(), lr=0.5),
...     make_loader(X, X[:, 0] > 0, batch_size=16, shuffle=True),
...     noise_multiplier=1.0, max_grad_norm=1.0, delta=1e-5, epochs=1, generator=0)
>>> _ = fit(model, loader, epochs=1, optimizer=opt, device="cpu", progress=False)
>>> round(opt.get_epsilon(), 2)  # RDP accountant, q = 1/4, 4 steps
4.87
"""

from respai.privacy.dpsgd.clipping import (
    clip_and_sum,
    clip_factors,
    gaussian_noise,
    noisy_average,
    per_sample_norms,
)
from respai.privacy.dpsgd.data_loader import PoissonBatchSampler, poisson_loader, poisson_sample
from respai.privacy.dpsgd.ghost_clipping import (
    GhostClippingModule,
    GhostDPOptimizer,
    conv_norm_sq,
    conv_patches,
    embedding_norm_sq,
    ghost_norm_sq,
    linear_norm_sq,
)
from respai.privacy.dpsgd.grad_sample import GradSampleModule, per_sample_gradients
from respai.privacy.dpsgd.make_private import make_private
from respai.privacy.dpsgd.optimizer import DPOptimizer
from respai.privacy.dpsgd.validators import BATCHNORM_MESSAGE, check_model, validate_model

__all__ = [
    "make_private",
    "DPOptimizer",
    "GradSampleModule",
    "per_sample_gradients",
    "GhostClippingModule",
    "GhostDPOptimizer",
    "ghost_norm_sq",
    "linear_norm_sq",
    "embedding_norm_sq",
    "conv_norm_sq",
    "conv_patches",
    "per_sample_norms",
    "clip_factors",
    "clip_and_sum",
    "gaussian_noise",
    "noisy_average",
    "PoissonBatchSampler",
    "poisson_loader",
    "poisson_sample",
    "validate_model",
    "check_model",
    "BATCHNORM_MESSAGE",
]
