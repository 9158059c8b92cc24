"""Turn arrays into PyTorch data loaders, with explicit randomness."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from respai._validation import check_positive_int
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["make_loader", "as_torch_generator"]


def as_torch_generator(generator: object) -> torch.Generator | None:
    """Normalise ``generator``: None, a :class:`torch.Generator`, or an int seed for a new one.

    Torch generators are not cryptographically secure; they decide shuffling
    and dropout here, never privacy noise in deployed systems.
    """
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return torch.Generator().manual_seed(int(generator))
    raise ParameterTypeError(
        f"`generator` must be None, an int seed or a torch.Generator; got {generator!r}."
    )


def _as_tensor(name: str, value: object) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise ParameterTypeError(
                f"`{name}` must be an array of numbers; got dtype {arr.dtype}. "
                "Encode categories as numbers first."
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.ndim == 0:
        raise ParameterValueError(f"`{name}` must have one row per example; got a scalar.")
    # Integer/boolean targets become class labels (int64); features and real targets float32.
    return t.float() if t.is_floating_point() else t.long()


def make_loader(
    X: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    *,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator | int | None = None,
) -> DataLoader:
    """Wrap arrays in a :class:`~torch.utils.data.DataLoader` of ``(x, y)`` batches.

    Parameters
    ----------
    X : array or tensor, shape (n, ...)
        Features, converted to ``float32``.
    y : array or tensor, shape (n,) or (n, k)
        Targets: integers or booleans become ``int64`` class labels, real
        numbers ``float32``.
    batch_size : int
        Examples per batch (the last batch may be smaller).
    shuffle : bool
        Reshuffle the order every epoch (training) or not (evaluation).
    generator : torch.Generator or int, optional
        Source of the shuffling order; an int seeds a new generator, so the
        order is reproducible without touching global state.

    Returns
    -------
    torch.utils.data.DataLoader

    Examples
    --------
    >>> loader = make_loader(np.zeros((5, 2)), np.arange(5), batch_size=2, shuffle=False)
    >>> [len(xb) for xb, yb in loader]
    [2, 2, 1]
    >>> next(iter(loader))[1].dtype
    torch.int64
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if not isinstance(shuffle, bool):
        raise ParameterTypeError(f"`shuffle` must be True or False; got {shuffle!r}.")
    Xt = _as_tensor("X", X).float()
    yt = _as_tensor("y", y)
    if len(Xt) != len(yt):
        raise ParameterValueError(
            f"`y` must have one target per row of `X` ({len(Xt)}); got {len(yt)}."
        )
    generator = as_torch_generator(generator)
    return DataLoader(
        TensorDataset(Xt, yt), batch_size=batch_size, shuffle=shuffle, generator=generator
    )
