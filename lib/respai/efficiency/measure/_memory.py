r"""Peak memory of a call: how much more memory it needs at its worst moment.

* **CUDA**: PyTorch's caching allocator keeps exact counters;
  ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` is the
  peak of tensor memory during the call.
* **CPU**: :mod:`tracemalloc` only sees Python's allocator, not the C++
  allocations holding tensor data, so it under-reports PyTorch by orders of
  magnitude. The process's resident set size (RSS) sees everything. On Linux,
  writing ``5`` to ``/proc/self/clear_refs`` resets the kernel's RSS
  high-water mark (``VmHWM``) [1]_, so the peak during the call is read
  exactly; elsewhere RSS is sampled by a background thread every millisecond,
  which can miss shorter peaks (a warning says so). Memory that an earlier
  call freed but the C allocator kept would be reused without raising the RSS,
  so before the call unreachable Python objects are collected and, with
  glibc, ``malloc_trim(0)`` hands cached free memory back to the system [3]_.
* **MPS** has no peak counter in PyTorch; it is refused rather than guessed.

The result is the peak *increase* over the memory in use when the call
starts: tensors that already exist (a model's weights) are not counted, so
measure a function that creates them to include them. Units: MiB
(:math:`2^{20}` bytes), the unit of ``torch.cuda.memory_summary``.

References
----------
.. [1] Linux ``proc(5)`` manual, ``/proc/pid/clear_refs`` (since Linux 4.0).
.. [2] PyTorch, "CUDA semantics: memory management",
   https://pytorch.org/docs/stable/notes/cuda.html#memory-management
.. [3] GNU C Library manual, ``malloc_trim(3)``.
"""

from __future__ import annotations

import ctypes
import gc
import re
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from respai.efficiency.measure._latency import _check_device, synchronize
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["peak_memory_mb"]

_MIB = 2**20
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_high_water_mark() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    rss, hwm = _status_kib("VmRSS"), _status_kib("VmHWM")
    # Reset worked if the high-water mark is back at the current RSS (a few pages of slack).
    return rss is not None and hwm is not None and hwm - rss < 1024


def _release_cached_memory() -> None:
    """Collect garbage and return the C heap's free pages to the OS (glibc only)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


def _cpu_peak_bytes(fn: Callable, args: tuple, kwargs: dict):
    _release_cached_memory()
    if _reset_high_water_mark():
        before = _status_kib("VmRSS")
        result = fn(*args, **kwargs)
        peak = _status_kib("VmHWM")
        return max(peak - before, 0) * 1024, result
    return _sampled_peak_bytes(fn, args, kwargs)


def _sampled_peak_bytes(fn: Callable, args: tuple, kwargs: dict):
    import psutil

    warnings.warn(
        "peak_memory_mb: the RSS high-water mark cannot be reset on this system; sampling RSS "
        "every millisecond instead, which can miss allocations shorter than that.",
        RuntimeWarning,
        stacklevel=3,
    )
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.001):
            peak[0] = max(peak[0], process.memory_info().rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        result = fn(*args, **kwargs)
    finally:
        done.set()
        thread.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return peak[0] - before, result


def peak_memory_mb(
    fn: Callable, *args, device: torch.device | str | None = None, **kwargs
) -> float:
    r"""Peak extra memory (MiB) that ``fn(*args, **kwargs)`` needs while it runs.

    .. math:: \text{peak} = \max_{t \in \text{call}} M(t) - M(t_\text{start})

    with :math:`M` the allocated CUDA memory on a GPU, the process RSS on a
    CPU (see the module docstring for why not :mod:`tracemalloc`).

    Parameters
    ----------
    fn : callable
        The call to measure (run once).
    *args, **kwargs
        Passed to ``fn``.
    device : torch.device or str, optional
        By default the device of the first tensor or module among the
        arguments, else the CPU.

    Returns
    -------
    float
        MiB. On a CPU the RSS counts every thread of the process and the
        allocator's own slack, and memory reused from an earlier free is not
        new, so small calls may read as 0.

    Raises
    ------
    ParameterValueError
        On MPS, which has no peak-memory counter.

    Examples
    --------
    >>> peak_memory_mb(lambda: torch.ones(2**24).sum()) > 50  # a 64 MiB tensor
    True
    """
    if not callable(fn):
        raise ParameterTypeError(f"`fn` must be callable; got {type(fn).__name__}.")
    dev = _check_device(device, args, kwargs)
    if dev.type == "cuda":
        synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
        fn(*args, **kwargs)
        synchronize(dev)
        extra = torch.cuda.max_memory_allocated(dev) - before
    elif dev.type == "cpu":
        extra, _ = _cpu_peak_bytes(fn, args, kwargs)
    else:
        raise ParameterValueError(
            f"`device` must be 'cpu' or 'cuda' for peak memory; got {dev.type!r}. PyTorch "
            "keeps no peak-memory counter on MPS: measure on CPU or CUDA."
        )
    return extra / _MIB
