r"""Wall-clock latency of a call, measured so that the number means something.

Four rules, each fixing a classic mistake:

1. **Warm up.** The first calls pay one-off costs (lazy initialisation, memory
   allocation, cuDNN autotuning, CPU caches and frequency scaling); they are
   run and thrown away.
2. **Repeat and report the distribution.** One timing is one draw of a noisy
   quantity. Report the median (robust to a few slow outliers) and tail
   percentiles (p90, p99: what an unlucky user waits), not only the mean.
3. **Synchronise accelerators.** CUDA and MPS calls return before the GPU has
   finished; without ``torch.cuda.synchronize()`` one times the launch, not
   the work.
4. **Use a monotonic high-resolution clock**, :func:`time.perf_counter`, and
   keep the garbage collector out of the timed region (as :mod:`timeit` does).

References
----------
.. [1] T. Hoefler and R. Belli, "Scientific Benchmarking of Parallel Computing
   Systems: Twelve ways to tell the masses when reporting performance
   results", SC 2015 (rules 5-6: report medians and percentiles, not means
   of noisy runs).
.. [2] PyTorch, "CUDA semantics: asynchronous execution",
   https://pytorch.org/docs/stable/notes/cuda.html#asynchronous-execution
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from respai._validation import check_finite_array, check_non_negative_int, check_positive_int
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["LatencyStats", "summarize_latency", "measure_latency", "synchronize"]


@dataclass(frozen=True)
class LatencyStats:
    """Summary of repeated timings of one call, in milliseconds.

    Attributes
    ----------
    median_ms, mean_ms, p90_ms, p99_ms, min_ms, std_ms : float
        Percentiles use linear interpolation between order statistics
        (``numpy.percentile``'s default); ``std_ms`` is the sample standard
        deviation (``ddof=1``; 0 for one sample).
    repeats : int
        Number of timed calls (warm-up calls excluded).
    samples_ms : tuple of float
        Every timed call, in the order run.
    """

    median_ms: float
    mean_ms: float
    p90_ms: float
    p99_ms: float
    min_ms: float
    std_ms: float
    repeats: int
    samples_ms: tuple[float, ...]

    def __str__(self) -> str:
        return (
            f"median {self.median_ms:.3g} ms, p90 {self.p90_ms:.3g} ms, "
            f"p99 {self.p99_ms:.3g} ms (n={self.repeats})"
        )


def summarize_latency(samples_ms: Sequence[float]) -> LatencyStats:
    r"""Summarise timings (ms) into a :class:`LatencyStats`.

    The :math:`q`-th percentile is :math:`x_{(\lfloor r \rfloor)} + (r - \lfloor r
    \rfloor)(x_{(\lfloor r \rfloor + 1)} - x_{(\lfloor r \rfloor)})` with
    :math:`r = q(n-1)/100` over the sorted samples :math:`x_{(0)} \le \dots`.

    Parameters
    ----------
    samples_ms : sequence of float
        At least one finite, non-negative timing in milliseconds.

    Examples
    --------
    >>> s = summarize_latency([1.0, 2.0, 3.0, 4.0, 100.0])
    >>> s.median_ms, s.mean_ms, s.p90_ms
    (3.0, 22.0, 61.6)
    """
    values = check_finite_array("samples_ms", samples_ms).ravel()
    if values.size == 0:
        raise ParameterValueError("`samples_ms` must contain at least one timing; got [].")
    if np.any(values < 0):
        raise ParameterValueError(
            f"`samples_ms` must be non-negative durations; got minimum {values.min()!r}."
        )
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return LatencyStats(
        median_ms=float(p50),
        mean_ms=float(values.mean()),
        p90_ms=float(p90),
        p99_ms=float(p99),
        min_ms=float(values.min()),
        std_ms=float(values.std(ddof=1)) if values.size > 1 else 0.0,
        repeats=int(values.size),
        samples_ms=tuple(float(v) for v in values),
    )


def _find_device(args: tuple, kwargs: dict) -> torch.device:
    """Device of the first tensor or module among the arguments, else the CPU."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value.device
        if isinstance(value, torch.nn.Module):
            for tensor in value.parameters():
                return tensor.device
    return torch.device("cpu")


def _check_device(device: object, args: tuple, kwargs: dict) -> torch.device:
    if device is None:
        return _find_device(args, kwargs)
    try:
        return torch.device(device)
    except (TypeError, RuntimeError) as err:
        raise ParameterValueError(
            f"`device` must be None, a torch.device or a string like 'cuda'; got {device!r}."
        ) from err


def synchronize(device: torch.device | str) -> None:
    """Wait until every kernel queued on ``device`` has finished (no-op on CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure_latency(
    fn: Callable,
    *args,
    warmup: int = 10,
    repeats: int = 50,
    device: torch.device | str | None = None,
    **kwargs,
) -> LatencyStats:
    """Time ``fn(*args, **kwargs)``: ``warmup`` untimed calls, then ``repeats`` timed ones.

    Each timed call is bracketed by a device synchronisation and
    :func:`time.perf_counter` reads; garbage collection is paused while
    timing (and restored after).

    Parameters
    ----------
    fn : callable
        The call to time, e.g. a model in ``eval()`` mode inside
        ``torch.no_grad()`` (wrap it in a lambda or pass the model and input).
    *args, **kwargs
        Passed to ``fn``.
    warmup : int, default 10
        Calls run first and discarded (>= 0).
    repeats : int, default 50
        Timed calls (>= 1). Tail percentiles need many: p99 of 50 samples is
        an interpolation between the two slowest.
    device : torch.device or str, optional
        Device to synchronise. By default the device of the first tensor or
        module among the arguments, else the CPU (no synchronisation): pass it
        when ``fn`` is a closure over a GPU model.

    Returns
    -------
    LatencyStats
        Median, mean, p90, p99, min and standard deviation in milliseconds.

    Examples
    --------
    >>> stats = measure_latency(sum, range(1000), warmup=2, repeats=5)
    >>> stats.repeats, stats.min_ms <= stats.median_ms <= stats.p99_ms
    (5, True)
    """
    if not callable(fn):
        raise ParameterTypeError(f"`fn` must be callable; got {type(fn).__name__}.")
    warmup = check_non_negative_int("warmup", warmup)
    repeats = check_positive_int("repeats", repeats)
    dev = _check_device(device, args, kwargs)

    for _ in range(warmup):
        fn(*args, **kwargs)
    synchronize(dev)

    samples = [math.nan] * repeats
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(repeats):
            start = time.perf_counter()
            fn(*args, **kwargs)
            synchronize(dev)
            samples[i] = (time.perf_counter() - start) * 1e3
    finally:
        if gc_was_enabled:
            gc.enable()
    return summarize_latency(samples)
