r"""Per-sample clipping and Gaussian noise: the two steps that make SGD private.

Abadi et al. (2016), Algorithm 1: each per-sample gradient :math:`g_i` (all
parameters flattened into one vector) is scaled to norm at most :math:`C`,

.. math::

    \bar g_i = g_i \cdot \min\Big(1, \frac{C}{\lVert g_i \rVert_2}\Big),

so one example changes the sum :math:`\sum_i \bar g_i` by at most :math:`C`
(L2 sensitivity :math:`C`); then Gaussian noise
:math:`\mathcal N(0, \sigma^2 C^2 I)` is added to that sum (the Gaussian
mechanism with noise multiplier :math:`\sigma`).

References
----------
.. [1] M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016,
   Algorithm 1 and Section 3.1 ("Norm clipping").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from respai._validation import check_positive
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["per_sample_norms", "clip_factors", "clip_and_sum", "gaussian_noise", "noisy_average"]


def per_sample_norms(grad_samples: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""Flat L2 norm of each example's gradient over all parameters, :math:`\lVert g_i \rVert_2`.

    ``grad_samples`` holds one tensor of shape ``(B, *p.shape)`` per parameter.

    Examples
    --------
    >>> per_sample_norms([torch.tensor([[3.0], [0.0]]), torch.tensor([[4.0], [1.0]])])
    tensor([5., 1.])
    """
    # A scalar parameter's per-sample gradients have shape (B,), which flatten(1) refuses;
    # reshape(B, -1) would refuse an empty Poisson batch (B = 0).
    flat = [g.flatten(1) if g.ndim > 1 else g.unsqueeze(1) for g in grad_samples]
    per_param = torch.stack([g.norm(2, dim=1) for g in flat], dim=1)
    return per_param.norm(2, dim=1)


def clip_factors(norms: torch.Tensor, max_grad_norm: float) -> torch.Tensor:
    r"""Scale factors :math:`\min(1, C / \lVert g_i \rVert_2)` (Abadi et al. 2016, Alg. 1).

    Examples
    --------
    >>> clip_factors(torch.tensor([5.0, 1.0]), 2.0)
    tensor([0.4000, 1.0000])
    """
    # 1e-6 guards 0/0 for an all-zero gradient, as Opacus does.
    return (max_grad_norm / (norms + 1e-6)).clamp(max=1.0)


def clip_and_sum(grad_samples: Sequence[torch.Tensor], max_grad_norm: float) -> list[torch.Tensor]:
    r"""The sum of clipped per-sample gradients, :math:`\sum_i \bar g_i`, per parameter.

    Examples
    --------
    >>> [round(s.item(), 3) for s in clip_and_sum([torch.tensor([[3.0], [0.0]]),
    ...                                            torch.tensor([[4.0], [1.0]])], 1.0)]
    [0.6, 1.8]
    """
    if len(grad_samples) == 0:
        return []
    factors = clip_factors(per_sample_norms(grad_samples), max_grad_norm)
    return [torch.einsum("i,i...->...", factors.to(g.dtype), g) for g in grad_samples]


def gaussian_noise(
    like: torch.Tensor, std: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""A draw of :math:`\mathcal N(0, \mathrm{std}^2)` shaped, typed and placed like ``like``.

    ``generator`` must live on ``like``'s device. Torch's generators are not
    cryptographically secure and floating-point Gaussian samples leak through
    their low bits (Mironov 2012); a deployed system needs a secure sampler
    (Opacus's ``secure_mode=True``, or :mod:`respai.privacy.sampling`).
    """
    if std == 0:
        return torch.zeros_like(like)
    return torch.normal(
        0.0, std, size=like.shape, dtype=like.dtype, device=like.device, generator=generator
    )


def noisy_average(
    summed_grads: Sequence[torch.Tensor],
    noise_multiplier: float,
    max_grad_norm: float,
    expected_batch_size: float,
    *,
    generator: torch.Generator | None = None,
) -> list[torch.Tensor]:
    r"""Noise the clipped sum and divide by the expected batch size (Abadi et al. 2016, Alg. 1).

    For each parameter's clipped sum :math:`s = \sum_{i \in B} \bar g_i`,

    .. math::

        \tilde g = \frac{1}{qN}\big(s + \mathcal N(0, \sigma^2 C^2 I)\big),

    an independent Gaussian draw for every coordinate of every parameter: the
    Gaussian mechanism on a sum whose L2 sensitivity is :math:`C`. The divisor
    is the *expected* batch size :math:`qN`, a public constant; the drawn
    :math:`|B|` is random under Poisson sampling, and dividing by it would
    release it without noise.

    Parameters
    ----------
    summed_grads : sequence of torch.Tensor
        :math:`\sum_i \bar g_i`, one tensor per parameter (:func:`clip_and_sum`).
    noise_multiplier : float
        :math:`\sigma \ge 0` (0: no noise, no privacy).
    max_grad_norm : float
        Clipping norm :math:`C > 0` used for the sum.
    expected_batch_size : float
        :math:`qN > 0`.
    generator : torch.Generator, optional, keyword-only
        Source of the noise, on the tensors' device (not cryptographically secure).

    Returns
    -------
    list of torch.Tensor
        :math:`\tilde g`, shaped like ``summed_grads``.

    Examples
    --------
    >>> noisy_average([torch.tensor([2.0, 4.0])], 0.0, 1.0, 2.0)
    [tensor([1., 2.])]
    """
    if isinstance(summed_grads, torch.Tensor) or not all(
        isinstance(s, torch.Tensor) for s in summed_grads
    ):
        raise ParameterTypeError(
            "`summed_grads` must be a sequence of tensors, one per parameter; got "
            f"{type(summed_grads).__name__}. Wrap a single tensor in a list."
        )
    if noise_multiplier != 0 or isinstance(noise_multiplier, bool):
        noise_multiplier = check_positive("noise_multiplier", noise_multiplier, fix="E.g. 1.0.")
    max_grad_norm = check_positive("max_grad_norm", max_grad_norm, fix="Try 1.0.")
    expected_batch_size = check_positive("expected_batch_size", expected_batch_size)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ParameterValueError(
            f"`generator` must be None or a torch.Generator; got {generator!r}."
        )
    std = float(noise_multiplier) * max_grad_norm
    # In place on each fresh noise draw: no extra parameter-sized tensors (same numbers).
    return [
        gaussian_noise(s, std, generator).add_(s).div_(expected_batch_size) for s in summed_grads
    ]
