"""Where computations run and how they are made repeatable.

Two helpers every notebook calls in its first cells:

* :func:`device` picks the fastest available accelerator (CUDA, then Apple
  MPS, then CPU), so the same notebook runs on Colab, a laptop and CI.
* :func:`seed_everything` seeds every global random number generator a
  notebook may touch, from one ``SEED`` parameter.

Library code never calls :func:`seed_everything`: functions that sample take an
explicit ``rng``/``generator`` argument instead. Seeding is the notebook's job.
"""

from __future__ import annotations

import numbers
import random

import numpy as np
import torch

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["device", "seed_everything"]

_DEVICE_TYPES = ("cuda", "mps", "cpu")

# numpy's legacy global seeder only takes 32-bit seeds.
_MAX_SEED = 2**32 - 1


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return _mps_available()
    return True


def device(prefer: str | None = None) -> torch.device:
    """Return the best available :class:`torch.device`.

    Without ``prefer`` the order is CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer : {"cuda", "mps", "cpu"} or None, optional
        Ask for a specific device type. It must be available: asking for
        ``"cuda"`` on a machine without a GPU is an error rather than a silent
        fall-back, so a timing labelled "GPU" is never measured on a CPU.

    Returns
    -------
    torch.device
        ``cuda``, ``mps`` or ``cpu``.

    Raises
    ------
    ParameterTypeError
        If ``prefer`` is not a string or None.
    ParameterValueError
        If ``prefer`` is not a known device type or is not available here.

    Examples
    --------
    >>> device("cpu")
    device(type='cpu')
    """
    if prefer is None:
        for kind in _DEVICE_TYPES:
            if _available(kind):
                return torch.device(kind)
    if not isinstance(prefer, str):
        raise ParameterTypeError(
            f"`prefer` must be None or one of {_DEVICE_TYPES}; got {prefer!r} "
            f"of type {type(prefer).__name__}."
        )
    kind = prefer.lower()
    if kind not in _DEVICE_TYPES:
        raise ParameterValueError(
            f"`prefer` must be one of {_DEVICE_TYPES} or None; got {prefer!r}."
        )
    if not _available(kind):
        raise ParameterValueError(
            f"`prefer` must name an available device; got {prefer!r}, which this machine "
            "does not have. Pass prefer=None to use the best available device."
        )
    return torch.device(kind)


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's (legacy global) and PyTorch's random generators.

    Call it once at the top of a notebook, from the ``SEED`` parameter. It
    makes CPU runs repeatable; GPU kernels may still be nondeterministic
    (see the PyTorch notes on reproducibility [1]_).

    Parameters
    ----------
    seed : int
        A non-negative integer below :math:`2^{32}` (NumPy's legacy limit).

    Raises
    ------
    ParameterTypeError
        If ``seed`` is not an integer (``bool`` is refused).
    ParameterValueError
        If ``seed`` is negative or :math:`\\ge 2^{32}`.

    References
    ----------
    .. [1] PyTorch documentation, "Reproducibility",
       https://pytorch.org/docs/stable/notes/randomness.html

    Examples
    --------
    >>> seed_everything(0)
    >>> a = torch.rand(1)
    >>> seed_everything(0)
    >>> bool(torch.equal(a, torch.rand(1)))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ParameterTypeError(
            f"`seed` must be a non-negative integer; got {seed!r} of type {type(seed).__name__}."
        )
    if not 0 <= seed <= _MAX_SEED:
        raise ParameterValueError(f"`seed` must be an integer in [0, 2**32 - 1]; got {seed!r}.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    # torch.manual_seed also seeds every CUDA device (lazily if CUDA is not yet initialised).
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
