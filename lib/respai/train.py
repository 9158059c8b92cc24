"""One generic training and evaluation loop for every notebook.

:func:`fit` runs mini-batch gradient descent with a progress bar and returns a
:class:`History`; :func:`evaluate` measures loss and metrics on a loader;
:func:`make_loader` (from :mod:`respai.data.tensors`) turns arrays into a
:class:`~torch.utils.data.DataLoader`.

The loop only calls ``optimizer.zero_grad()``, ``loss.backward()`` and
``optimizer.step()``, so any :class:`torch.optim.Optimizer` works, including
the differentially private optimizer returned by Opacus'
``PrivacyEngine.make_private`` [1]_ (pass its model, optimizer and loader).

Models return *logits*. Targets are matched to them by one rule: for a
single-logit output of shape ``(n, 1)`` a target of shape ``(n,)`` is reshaped
to ``(n, 1)``, and targets of a floating-point output's shape are cast to its
dtype; integer class labels for multi-logit outputs are passed unchanged.

References
----------
.. [1] A. Yousefpour et al., "Opacus: User-Friendly Differential Privacy
   Library in PyTorch", arXiv:2109.12298, 2021.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from respai._validation import check_positive, check_positive_int
from respai.data.tensors import as_torch_generator, make_loader
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.runtime import device as best_device

__all__ = ["History", "fit", "evaluate", "make_loader", "METRICS"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _single_logit(out: torch.Tensor) -> bool:
    return out.ndim == 1 or out.shape[-1] == 1


def _accuracy_counts(out: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
    """Number of correct predictions and of examples (logits: > 0 or argmax)."""
    if _single_logit(out):
        pred = out.reshape(-1) > 0
        truth = y.reshape(-1) > 0.5
    else:
        pred = out.argmax(dim=-1)
        truth = y.reshape(-1)
    return float((pred == truth).sum().item()), int(truth.numel())


#: Metrics :func:`fit` and :func:`evaluate` know, by name. Each maps a batch of
#: logits and targets to ``(sum, count)``, so the epoch value is ``sum / count``
#: whatever the batch sizes.
METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], tuple[float, int]]] = {
    "accuracy": _accuracy_counts,
}


@dataclass
class History:
    """Per-epoch record of a :func:`fit` run.

    Attributes
    ----------
    train_loss : list of float
        Mean training loss of each epoch, averaged over examples while the
        model was being updated (so it lags the end-of-epoch model slightly).
    val_loss : list of float
        Loss on the validation loader after each epoch (empty without one).
    val_metrics : dict of str to list of float
        Each requested metric on the validation loader after each epoch.
    epoch_seconds : list of float
        Wall-clock time of each epoch in seconds, validation included.
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metrics: dict[str, list[float]] = field(default_factory=dict)
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)

    def to_frame(self) -> pd.DataFrame:
        """Return one row per epoch (index ``epoch``, starting at 1).

        Columns: ``train_loss``, then ``val_loss`` and ``val_<metric>`` when a
        validation loader was given, then ``seconds``.
        """
        columns: dict[str, list[float]] = {"train_loss": self.train_loss}
        if self.val_loss:
            columns["val_loss"] = self.val_loss
        for name, values in self.val_metrics.items():
            columns[f"val_{name}"] = values
        columns["seconds"] = self.epoch_seconds
        index = pd.RangeIndex(1, self.epochs + 1, name="epoch")
        return pd.DataFrame(columns, index=index)

    def plot(self, ax=None):
        """Plot the loss curves; see :func:`respai.plots.plot_history`."""
        from respai.plots import plot_history  # matplotlib only when plotting

        return plot_history(self, ax=ax)


def _check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise ParameterTypeError(
            f"`metrics` must be a sequence of metric names such as ('accuracy',); got {metrics!r}."
        )
    names = tuple(metrics)
    for name in names:
        if name not in METRICS:
            raise ParameterValueError(
                f"`metrics` must contain only names from {sorted(METRICS)}; got {name!r}."
            )
    return names


def _check_model(model: object) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ParameterTypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}.")
    return model


def _check_loader(name: str, loader: object) -> Iterable:
    if not isinstance(loader, Iterable):
        raise ParameterTypeError(
            f"`{name}` must be an iterable of (inputs, targets) batches such as a DataLoader; "
            f"got {type(loader).__name__}. Build one with respai.train.make_loader(X, y, ...)."
        )
    return loader


def _check_loss(loss_fn: object) -> LossFn | None:
    if loss_fn is not None and not callable(loss_fn):
        raise ParameterTypeError(
            f"`loss_fn` must be None or a callable loss_fn(logits, targets); got {loss_fn!r}."
        )
    return loss_fn


def _check_device(dev: object) -> torch.device:
    if dev is None:
        return best_device()
    try:
        return torch.device(dev)
    except (TypeError, RuntimeError) as err:
        raise ParameterValueError(
            f"`device` must be None, a torch.device or a device string like 'cpu'; got {dev!r}."
        ) from err


def _unpack(batch: object, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ParameterValueError(
            "each batch must be a pair (inputs, targets); got "
            f"{type(batch).__name__}. Build the loader with respai.train.make_loader(X, y, ...)."
        )
    x, y = batch
    return x.to(dev), y.to(dev)


def _match_target(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if out.ndim == y.ndim + 1 and out.shape[-1] == 1:
        y = y.reshape(out.shape)
    if out.is_floating_point() and y.shape == out.shape:
        y = y.to(out.dtype)
    return y


def _default_loss(out: torch.Tensor) -> LossFn:
    # One logit -> binary cross-entropy; several -> softmax cross-entropy.
    return nn.BCEWithLogitsLoss() if _single_logit(out) else nn.CrossEntropyLoss()


class _Running:
    """Example-weighted sums of the loss and the metrics over one pass."""

    def __init__(self, metrics: tuple[str, ...]):
        self.metrics = metrics
        self.loss_sum = 0.0
        self.n = 0
        self.sums = dict.fromkeys(metrics, 0.0)
        self.counts = dict.fromkeys(metrics, 0)

    def add(self, loss: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        n = len(out)
        if n == 0:  # Poisson sampling (DP-SGD) can draw an empty batch
            return
        self.loss_sum += float(loss.detach().item()) * n
        self.n += n
        for name in self.metrics:
            s, c = METRICS[name](out.detach(), y)
            self.sums[name] += s
            self.counts[name] += c

    def result(self, loader_name: str) -> dict[str, float]:
        if self.n == 0:
            raise ParameterValueError(
                f"`{loader_name}` must yield at least one example; got an empty loader."
            )
        values = {"loss": self.loss_sum / self.n}
        values.update({k: self.sums[k] / max(self.counts[k], 1) for k in self.metrics})
        return values


def evaluate(
    model: nn.Module,
    loader: Iterable,
    *,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
    metrics: Sequence[str] = ("accuracy",),
) -> dict[str, float]:
    """Average loss and metrics of ``model`` over every example in ``loader``.

    The model is put in evaluation mode (dropout off) for the pass and returned
    to its previous mode afterwards; no gradients are computed.

    Parameters
    ----------
    model : nn.Module
        A model returning logits.
    loader : iterable of (inputs, targets)
        Typically a :class:`~torch.utils.data.DataLoader`.
    loss_fn : callable, optional
        ``loss_fn(logits, targets)`` returning the batch *mean*; by default
        binary cross-entropy for one logit, cross-entropy for several.
    device : torch.device or str, optional
        Where to run; by default :func:`respai.runtime.device`. The model is
        moved there.
    metrics : sequence of str, default ("accuracy",)
        Names from :data:`METRICS`.

    Returns
    -------
    dict of str to float
        ``"loss"`` (mean over examples, in nats for the cross-entropies) and
        each metric (accuracy as a fraction in [0, 1]).

    Examples
    --------
    >>> model = nn.Linear(1, 1)
    >>> _ = nn.init.constant_(model.weight, 1.0), nn.init.zeros_(model.bias)
    >>> loader = make_loader(torch.tensor([[-1.0], [2.0]]), torch.tensor([0, 1]), batch_size=2,
    ...                      shuffle=False)
    >>> evaluate(model, loader, device="cpu")["accuracy"]
    1.0
    """
    model = _check_model(model)
    loader = _check_loader("loader", loader)
    names = _check_metrics(metrics)
    loss_fn = _check_loss(loss_fn)
    dev = _check_device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    running = _Running(names)
    try:
        with torch.no_grad():
            for batch in loader:
                x, y = _unpack(batch, dev)
                out = model(x)
                y = _match_target(out, y)
                loss_fn = _default_loss(out) if loss_fn is None else loss_fn
                running.add(loss_fn(out, y), out, y)
    finally:
        model.train(was_training)
    return running.result("loader")


@contextlib.contextmanager
def _seeded_from(generator: torch.Generator | None, dev: torch.device):
    """Seed torch's global RNG (dropout, ...) from ``generator`` inside the block only.

    The caller's global RNG state is restored on exit: the library never reseeds it.
    """
    if generator is None:
        yield
        return
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    devices = []
    if dev.type == "cuda":
        devices = [dev.index if dev.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices, device_type=dev.type):
        torch.manual_seed(seed)
        yield


def fit(
    model: nn.Module,
    train_loader: Iterable,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: LossFn | None = None,
    lr: float | None = None,
    device: torch.device | str | None = None,
    val_loader: Iterable | None = None,
    metrics: Sequence[str] = ("accuracy",),
    progress: bool = True,
    generator: torch.Generator | int | None = None,
) -> History:
    r"""Train ``model`` in place by mini-batch gradient descent.

    Each step minimises the batch mean of the loss,
    :math:`\theta \leftarrow \operatorname{step}\big(\nabla_\theta
    \tfrac{1}{|B|}\sum_{i \in B} \ell(f_\theta(x_i), y_i)\big)`.

    Parameters
    ----------
    model : nn.Module
        A model returning logits; it is moved to ``device`` and left there.
    train_loader : iterable of (inputs, targets)
        Typically a :class:`~torch.utils.data.DataLoader` (see
        :func:`make_loader`) or the loader returned by Opacus.
    epochs : int
        Number of passes over ``train_loader`` (positive).
    optimizer : torch.optim.Optimizer, optional
        Any optimizer over ``model``'s parameters (plain or differentially
        private). By default :class:`torch.optim.Adam` with learning rate ``lr``.
    loss_fn : callable, optional
        ``loss_fn(logits, targets)`` returning the batch mean; by default
        binary cross-entropy for one logit, cross-entropy for several.
    lr : float, optional
        Learning rate of the default Adam optimizer (default ``1e-3``). Refused
        together with ``optimizer``: set the rate on that optimizer instead.
    device : torch.device or str, optional
        Where to train; by default :func:`respai.runtime.device`. Create the
        ``optimizer`` after moving the model if its state is device-bound.
    val_loader : iterable of (inputs, targets), optional
        Evaluated with :func:`evaluate` after every epoch.
    metrics : sequence of str, default ("accuracy",)
        Validation metrics, names from :data:`METRICS`.
    progress : bool, default True
        Show a ``tqdm`` progress bar over epochs.
    generator : torch.Generator or int, optional
        Seeds torch's random draws inside the loop (e.g. dropout) without
        touching the caller's global RNG state. Shuffling is the loader's
        business: pass a generator to :func:`make_loader`.

    Returns
    -------
    History
        Per-epoch training loss, validation loss and metrics, and timings.

    Raises
    ------
    ParameterValueError, ParameterTypeError
        On invalid arguments, before any training.
    """
    model = _check_model(model)
    train_loader = _check_loader("train_loader", train_loader)
    epochs = check_positive_int("epochs", epochs)
    if val_loader is not None:
        val_loader = _check_loader("val_loader", val_loader)
    names = _check_metrics(metrics)
    loss_fn = _check_loss(loss_fn)
    dev = _check_device(device)
    if not isinstance(progress, bool):
        raise ParameterTypeError(f"`progress` must be True or False; got {progress!r}.")
    generator = as_torch_generator(generator)
    if optimizer is not None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ParameterTypeError(
                f"`optimizer` must be a torch.optim.Optimizer; got {type(optimizer).__name__}."
            )
        if lr is not None:
            raise ParameterValueError(
                f"`lr` must be None when an `optimizer` is given; got {lr!r}. "
                "Set the learning rate on the optimizer itself."
            )
    lr = 1e-3 if lr is None else check_positive("lr", lr)

    model.to(dev)
    if optimizer is None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    history = History(val_metrics={name: [] for name in names} if val_loader is not None else {})
    bar = tqdm(range(epochs), desc="training", unit="epoch", disable=not progress)
    with _seeded_from(generator, dev):
        for _ in bar:
            start = time.perf_counter()
            model.train()
            running = _Running(())
            for batch in train_loader:
                x, y = _unpack(batch, dev)
                optimizer.zero_grad()
                out = model(x)
                y = _match_target(out, y)
                loss_fn = _default_loss(out) if loss_fn is None else loss_fn
                loss = loss_fn(out, y)
                loss.backward()
                optimizer.step()
                running.add(loss, out, y)
            postfix: dict[str, Any] = {"train_loss": running.result("train_loader")["loss"]}
            history.train_loss.append(postfix["train_loss"])
            if val_loader is not None:
                scores = evaluate(model, val_loader, loss_fn=loss_fn, device=dev, metrics=names)
                history.val_loss.append(scores["loss"])
                for name in names:
                    history.val_metrics[name].append(scores[name])
                postfix.update({f"val_{k}": v for k, v in scores.items()})
            history.epoch_seconds.append(time.perf_counter() - start)
            bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()})
    return history
