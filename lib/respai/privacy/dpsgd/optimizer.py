r"""The DP-SGD optimizer: clip each per-sample gradient, add noise, then step.

Each step replaces every parameter's gradient by (Abadi et al. 2016, Alg. 1)

.. math::

    \tilde g = \frac{1}{qN}\Big(\sum_{i \in B} g_i \min\big(1, \tfrac{C}{\lVert g_i\rVert_2}\big)
               + \mathcal N(0, \sigma^2 C^2 I)\Big),

dividing by the *expected* batch size :math:`qN` (not :math:`|B|`, which is
random under Poisson sampling and would itself leak), and then lets the wrapped
optimizer (SGD, Adam, ...) use :math:`\tilde g` as usual; post-processing does
not cost privacy.

References
----------
.. [1] M. Abadi et al., "Deep Learning with Differential Privacy", CCS 2016,
   Algorithm 1.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from respai._validation import check_delta, check_positive
from respai.data.tensors import as_torch_generator
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.accounting import Accountant, create_accountant
from respai.privacy.dpsgd.clipping import clip_and_sum, noisy_average
from respai.privacy.dpsgd.grad_sample import check_loss_reduction

__all__ = ["DPOptimizer"]


def _check_noise(noise_multiplier: object) -> float:
    if noise_multiplier == 0 and not isinstance(noise_multiplier, bool):
        return 0.0  # allowed for tests and ablations: no privacy
    return check_positive(
        "noise_multiplier", noise_multiplier, fix="Use e.g. 1.0, or target_epsilon to calibrate it."
    )


class DPOptimizer(torch.optim.Optimizer):
    r"""Wrap any :class:`torch.optim.Optimizer` so that each ``step()`` is a DP-SGD step.

    Needs ``p.grad_sample`` on every parameter, which a
    :class:`~respai.privacy.dpsgd.GradSampleModule` leaves after ``backward()``.
    ``param_groups``, ``state`` and ``defaults`` are the wrapped optimizer's.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Over the model's parameters.
    noise_multiplier : float
        :math:`\sigma \ge 0`; 0 means no noise and no privacy.
    max_grad_norm : float
        Clipping norm :math:`C > 0`.
    expected_batch_size : float
        :math:`qN`; the noisy sum is divided by it when ``loss_reduction="mean"``.
    sample_rate : float, optional
        :math:`q`; with ``accountant``, each step is recorded.
    loss_reduction : {"mean", "sum"}, default "mean"
    accountant : Accountant or str, optional
        ``"rdp"``, ``"prv"`` or an :class:`~respai.privacy.accounting.Accountant`
        stepped once per ``step()`` (when :math:`\sigma > 0`).
    delta : float, optional
        Default δ for :meth:`get_epsilon`.
    generator : torch.Generator or int, optional
        Source of the noise. A CPU generator on a CUDA/MPS model seeds a
        generator on that device once. Not cryptographically secure.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        noise_multiplier: float,
        max_grad_norm: float,
        expected_batch_size: float = 1.0,
        sample_rate: float | None = None,
        loss_reduction: str = "mean",
        accountant: Accountant | str | None = None,
        delta: float | None = None,
        generator: torch.Generator | int | None = None,
    ) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ParameterTypeError(
                f"`optimizer` must be a torch.optim.Optimizer; got {type(optimizer).__name__}."
            )
        if isinstance(optimizer, DPOptimizer):
            raise ParameterValueError(
                "`optimizer` must be a plain optimizer; got a DPOptimizer. Wrap it only once."
            )
        self.original_optimizer = optimizer
        self.noise_multiplier = _check_noise(noise_multiplier)
        self.max_grad_norm = check_positive("max_grad_norm", max_grad_norm, fix="Try 1.0.")
        self.expected_batch_size = check_positive("expected_batch_size", expected_batch_size)
        self.loss_reduction = check_loss_reduction(loss_reduction)
        self.sample_rate = sample_rate
        if isinstance(accountant, str):
            accountant = create_accountant(accountant)
        if accountant is not None and not isinstance(accountant, Accountant):
            raise ParameterTypeError(
                f"`accountant` must be None, 'rdp', 'prv' or an Accountant; got {accountant!r}."
            )
        if accountant is not None and sample_rate is None:
            raise ParameterValueError("`sample_rate` must be given with an `accountant`; got None.")
        self.accountant = accountant
        self.delta = None if delta is None else check_delta(delta)
        self.generator = as_torch_generator(generator)
        self._device_generators: dict[torch.device, torch.Generator] = {}
        self._step_hooks: list[Callable[[DPOptimizer], None]] = []
        self._noiseless_steps = 0

    # The wrapped optimizer's state is the state.
    @property
    def param_groups(self) -> list[dict]:
        return self.original_optimizer.param_groups

    @param_groups.setter
    def param_groups(self, value: list[dict]) -> None:
        self.original_optimizer.param_groups = value

    @property
    def state(self):
        return self.original_optimizer.state

    @state.setter
    def state(self, value) -> None:
        self.original_optimizer.state = value

    @property
    def defaults(self) -> dict:
        return self.original_optimizer.defaults

    @defaults.setter
    def defaults(self, value: dict) -> None:
        self.original_optimizer.defaults = value

    @property
    def params(self) -> list[torch.nn.Parameter]:
        return [p for group in self.param_groups for p in group["params"] if p.requires_grad]

    def state_dict(self):
        return self.original_optimizer.state_dict()

    def load_state_dict(self, state_dict) -> None:
        self.original_optimizer.load_state_dict(state_dict)

    def add_param_group(self, param_group: dict) -> None:
        self.original_optimizer.add_param_group(param_group)

    def __repr__(self) -> str:
        return (
            f"DPOptimizer(noise_multiplier={self.noise_multiplier}, "
            f"max_grad_norm={self.max_grad_norm}, {self.original_optimizer!r})"
        )

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients and the per-sample gradients."""
        for p in self.params:
            p.grad_sample = None
        self.original_optimizer.zero_grad(set_to_none=set_to_none)

    def _noise_generator(self, device: torch.device) -> torch.Generator | None:
        if self.generator is None or self.generator.device == device:
            return self.generator
        if device not in self._device_generators:
            seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
            self._device_generators[device] = torch.Generator(device=device).manual_seed(seed)
        return self._device_generators[device]

    def privatize_gradients(self) -> None:
        """Replace each ``p.grad`` by the clipped, noised, rescaled gradient :math:`\\tilde g`."""
        params = self.params
        missing = [i for i, p in enumerate(params) if getattr(p, "grad_sample", None) is None]
        if missing:
            raise ParameterValueError(
                "each trainable parameter must have per-sample gradients (`grad_sample`) at "
                f"step(); got none for {len(missing)} parameter(s). Wrap the model with "
                "GradSampleModule (make_private does it), call it in train mode, and call "
                "loss.backward() before step()."
            )
        sums = clip_and_sum([p.grad_sample for p in params], self.max_grad_norm)
        scale = self.expected_batch_size if self.loss_reduction == "mean" else 1.0
        for p, s in zip(params, sums, strict=True):
            (noisy,) = noisy_average(
                [s],
                self.noise_multiplier,
                self.max_grad_norm,
                scale,
                generator=self._noise_generator(s.device),
            )
            p.grad = noisy.to(p.dtype)

    def step(self, closure: Callable[[], float] | None = None):
        """Privatise the gradients, step the wrapped optimizer, record the step."""
        if closure is not None:
            with torch.enable_grad():
                closure()
        self.privatize_gradients()
        if self.noise_multiplier == 0:
            self._noiseless_steps += 1
        elif self.accountant is not None:
            self.accountant.step(
                noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate
            )
        for hook in self._step_hooks:
            hook(self)
        return self.original_optimizer.step()

    def get_epsilon(self, delta: float | None = None) -> float:
        """ε spent so far at ``delta`` (default: the δ given to ``make_private``); inf if σ = 0."""
        if self.accountant is None:
            raise ParameterValueError(
                "`accountant` must be set to report epsilon; got None. Use make_private, "
                "or pass accountant='rdp' and sample_rate."
            )
        if delta is None:
            if self.delta is None:
                raise ParameterValueError("`delta` must be given; got None. E.g. 1e-5.")
            delta = self.delta
        if self._noiseless_steps:
            return float("inf")  # a step without noise has no finite privacy guarantee
        return self.accountant.get_epsilon(delta)
