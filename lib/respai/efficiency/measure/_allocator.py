r"""Keep freed CPU memory for reuse, so that latency measures compute, not page faults.

On CPU, PyTorch takes tensor memory from the C library's ``malloc``. GNU libc
(glibc, the C library of most Linux systems, Colab included) serves a request
of at least ``M_MMAP_THRESHOLD`` bytes with fresh pages from the kernel and
gives them back on ``free``; it also returns the free top of its heap to the
kernel once that exceeds ``M_TRIM_THRESHOLD``. Both thresholds start low (128
KiB) and move as the program runs. A transformer's forward pass allocates
activations of several MiB per layer (MiniLM, batch 32 x 64 tokens: 12 MiB
for each FFN activation), so it can end up asking the kernel for the same
memory on every call, and the kernel zero-fills each 4 KiB page on its first
touch. That time lands in the element-wise operations (GELU, additions) that
touch the memory first, and it does not shrink when the matrix products get
faster: it caps the speedup that int8 weights can show.

Allocators built for this pattern (jemalloc, tcmalloc) keep freed memory for
reuse; PyTorch's performance tuning guide recommends them for CPU work
("Switch Memory allocator"). :func:`reuse_freed_cpu_memory` does the same with
glibc's own ``mallopt`` (``man 3 mallopt``), with no library to install: it
fixes ``M_MMAP_THRESHOLD`` at its maximum, 32 MiB on 64-bit systems, and
``M_TRIM_THRESHOLD`` at 1 GiB. The price is memory: the process keeps what it
freed, so its resident size stays near its peak. Blocks above 32 MiB still
come as fresh pages on every allocation; only a replacement allocator
(``LD_PRELOAD`` of jemalloc or tcmalloc) changes that.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys

# From glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc refuses an mmap threshold above HEAP_MAX_SIZE / 2: 32 MiB on 64-bit systems.
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2**30


def _glibc() -> ctypes.CDLL | None:
    """The running glibc, or ``None`` on other C libraries (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") else None


def reuse_freed_cpu_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse, for this whole process.

    Sets ``M_MMAP_THRESHOLD`` to 32 MiB (blocks below it come from the heap,
    not fresh kernel pages) and ``M_TRIM_THRESHOLD`` to 1 GiB (the heap keeps
    up to that much free memory instead of returning it), as jemalloc and
    tcmalloc behave. Call it once, before timing; it lasts until the process
    exits, and it changes no result, only how long allocations take and how
    much memory the process keeps.

    Returns
    -------
    bool
        ``True`` if glibc accepted both settings; ``False`` where the C library
        is not glibc (macOS, Windows, musl), and nothing was changed.

    Raises
    ------
    RuntimeError
        If glibc refused a setting (``mallopt`` returned 0).

    References
    ----------
    ``mallopt(3)``, Linux man-pages. PyTorch performance tuning guide, "CPU
    specific optimizations: Switch Memory allocator",
    https://pytorch.org/tutorials/recipes/recipes/tuning_guide.html

    Examples
    --------
    >>> from respai.efficiency.measure import reuse_freed_cpu_memory
    >>> applied = reuse_freed_cpu_memory()  # doctest: +SKIP
    """
    libc = _glibc()
    if libc is None:
        return False
    for name, option, value in (
        ("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
    ):
        if libc.mallopt(ctypes.c_int(option), ctypes.c_int(value)) != 1:
            raise RuntimeError(f"glibc's mallopt refused {name} = {value} bytes")
    return True
