r"""Per-sample gradients with :mod:`torch.func`.

DP-SGD needs the gradient of the loss of *each* example,
:math:`g_i = \nabla_\theta \ell(f_\theta(x_i), y_i)`, not only their mean.
Two ways to get all :math:`g_i` in one vectorised pass:

- :func:`per_sample_gradients` — the textbook
  ``vmap(grad(loss))`` over ``functional_call`` (Horace He's torch.func recipe):
  it needs the loss function and the targets.
- :class:`GradSampleModule` — wraps a model so that the *ordinary* loop
  ``loss = loss_fn(model(x), y); loss.backward()`` (e.g.
  :func:`respai.train.fit`) also leaves ``p.grad_sample`` of shape
  ``(batch, *p.shape)`` on every trainable parameter. Its forward pass is
  ``vmap(functional_call)`` with one copy of the parameters per example,
  :math:`\theta_i = \theta` (``expand``: no memory copied); since example
  :math:`i` only touches :math:`\theta_i`, autograd's gradient with respect
  to :math:`\theta_i` *is* :math:`g_i` (scaled by :math:`1/B` for a mean loss,
  which is undone). This is the "expanded weights" idea of Opacus and
  :func:`torch.nn.utils._per_sample_grad.call_for_per_sample_grads`.

Both are exact (up to floating point) only for models in which examples do not
interact: no BatchNorm (see :mod:`respai.privacy.dpsgd.validators`).

References
----------
.. [1] M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016,
   Section 3.1 (per-example gradients).
.. [2] A. Yousefpour et al., "Opacus: User-Friendly Differential Privacy
   Library in PyTorch", arXiv:2109.12298, 2021, Section 3 (grad samplers).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from torch.utils._pytree import tree_map

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["per_sample_gradients", "GradSampleModule"]

LOSS_REDUCTIONS = ("mean", "sum")


def check_loss_reduction(loss_reduction: object) -> str:
    if loss_reduction not in LOSS_REDUCTIONS:
        raise ParameterValueError(
            f"`loss_reduction` must be 'mean' or 'sum'; got {loss_reduction!r}. "
            "Use the reduction of your loss function (PyTorch losses default to 'mean')."
        )
    return str(loss_reduction)


def per_sample_gradients(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    targets: torch.Tensor,
) -> dict[str, torch.Tensor]:
    r"""Gradient of each example's loss, :math:`g_i = \nabla_\theta \ell(f_\theta(x_i), y_i)`.

    Computed as ``vmap(grad(loss))`` over :func:`torch.func.functional_call`:
    the loss of one example is a function of the parameters, ``grad`` turns it
    into its gradient and ``vmap`` maps that over the batch.

    Parameters
    ----------
    model : nn.Module
        Model returning logits for a batch; only its trainable parameters
        (``requires_grad``) are differentiated.
    loss_fn : callable
        ``loss_fn(logits, targets)``, applied to a batch of one example.
    inputs, targets : torch.Tensor
        A batch; dimension 0 indexes the examples.

    Returns
    -------
    dict of str to torch.Tensor
        For each trainable parameter name, a tensor of shape
        ``(batch, *parameter.shape)``.

    Examples
    --------
    >>> lin = nn.Linear(1, 1, bias=False)
    >>> _ = nn.init.constant_(lin.weight, 0.0)
    >>> g = per_sample_gradients(lin, nn.MSELoss(), torch.tensor([[1.0], [2.0]]),
    ...                          torch.tensor([[1.0], [1.0]]))
    >>> g["weight"].flatten().tolist()  # d/dw (w x - y)^2 = 2 (w x - y) x
    [-2.0, -4.0]
    """
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    frozen = {k: v.detach() for k, v in model.named_parameters() if not v.requires_grad}
    buffers = dict(model.named_buffers())

    def loss_one(p, x, y):
        out = functional_call(model, ({**p, **frozen}, buffers), (x.unsqueeze(0),))
        return loss_fn(out, y.unsqueeze(0))

    return vmap(grad(loss_one), in_dims=(None, 0, 0), randomness="different")(
        params, inputs, targets
    )


class GradSampleModule(nn.Module):
    r"""Wrap ``module`` so that ``backward()`` also stores per-sample gradients.

    In training mode with gradients enabled, ``forward(x)`` runs the wrapped
    module once per example under :func:`torch.func.vmap`, each with its own
    (expanded, not copied) view :math:`\theta_i` of the parameters. After
    ``loss.backward()`` every trainable parameter ``p`` carries
    ``p.grad_sample`` of shape ``(B, *p.shape)`` with
    :math:`\nabla_\theta \ell_i` (multiplied by ``B`` when
    ``loss_reduction="mean"``), and ``p.grad`` is the ordinary batch gradient.
    In evaluation mode or under ``torch.no_grad()`` it is the plain module.

    All positional tensor arguments are split along dimension 0; keyword
    arguments are shared by every example.

    Parameters
    ----------
    module : nn.Module
        The model (validate it first: :func:`~respai.privacy.dpsgd.validate_model`).
    loss_reduction : {"mean", "sum"}, default "mean"
        How the training loss reduces over the batch.
    """

    def __init__(self, module: nn.Module, *, loss_reduction: str = "mean") -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise ParameterTypeError(
                f"`module` must be a torch.nn.Module; got {type(module).__name__}."
            )
        self._module = module
        self.loss_reduction = check_loss_reduction(loss_reduction)

    def trainable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        return [(k, p) for k, p in self._module.named_parameters() if p.requires_grad]

    def forward(self, *args, **kwargs):
        if not (self.training and torch.is_grad_enabled()):
            return self._module(*args, **kwargs)
        batch = _batch_size(args)
        trainable = self.trainable_parameters()
        if batch == 0:  # Poisson sampling can draw an empty batch
            for _, p in trainable:
                _store(p, p.new_zeros((0, *p.shape)))
            return self._module(*args, **kwargs)
        scale = float(batch) if self.loss_reduction == "mean" else 1.0
        expanded = {}
        for name, p in trainable:
            # Each expanded copy is a leaf of its own, not a view in p's graph: autograd
            # would otherwise sum the strided (B, *shape) gradient back onto p, which is
            # several times slower on CPU than the sum of the contiguous copy the hook makes.
            e = p.detach().expand(batch, *p.shape).requires_grad_(True)
            e.register_post_accumulate_grad_hook(_make_hook(p, scale))
            expanded[name] = e
        shared = {k: v for k, v in self._module.named_parameters() if not v.requires_grad}
        shared.update(dict(self._module.named_buffers()))
        module = self._module

        def one(params, *xs):
            xs1 = tree_map(lambda t: t.unsqueeze(0), xs)
            out = functional_call(module, ({**params, **shared}), xs1, kwargs, strict=False)
            return tree_map(lambda t: t.squeeze(0), out)

        in_dims = (0, *[0 if torch.is_tensor(a) else None for a in args])
        return vmap(one, in_dims=in_dims, randomness="different")(expanded, *args)


def _batch_size(args: tuple) -> int:
    for a in args:
        if torch.is_tensor(a):
            return int(a.shape[0])
    raise ParameterValueError(
        "the model's positional arguments must include a batched tensor; got none. "
        "Call the model as model(x) with x of shape (batch, ...)."
    )


def _store(p: torch.Tensor, g: torch.Tensor) -> None:
    prev = getattr(p, "grad_sample", None)
    if prev is not None and prev.shape == g.shape:
        p.grad_sample = prev + g  # a second backward on the same batch accumulates
    else:
        p.grad_sample = g


def _make_hook(p: torch.Tensor, scale: float):
    """Hook on the expanded leaf: set ``p.grad_sample``, add the batch gradient to ``p.grad``."""

    def hook(expanded: torch.Tensor) -> None:
        g = expanded.grad
        expanded.grad = None  # don't keep a second (B, *shape) tensor alive with the graph
        with torch.no_grad():
            # AccumulateGrad hands over a fresh contiguous tensor that nothing else holds:
            # rescale it in place (the later reductions want it contiguous anyway).
            sample = g if g.is_contiguous() else g.contiguous()
            if scale != 1.0:
                sample.mul_(scale)
            batch_grad = sample.sum(0) / scale if scale != 1.0 else sample.sum(0)
            _store(p, sample)
            if p.grad is None:
                p.grad = batch_grad.to(p.dtype)
            else:
                p.grad.add_(batch_grad)

    return hook
