"""respai.efficiency.measure.reuse_freed_cpu_memory: freed memory is reused, not faulted in again.

The allocator setting is process-wide, so each case runs in a fresh Python
process. The measured quantity is the kernel's count of minor page faults
(``getrusage``): a buffer of fresh pages costs one fault per 4 KiB page on its
first touch, a reused buffer none.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from respai.efficiency.measure import _allocator, reuse_freed_cpu_memory

glibc_only = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="mallopt settings are glibc's"
)

# Two 12 MiB buffers (the size of one MiniLM FFN activation, batch 32 x 64
# tokens) taken with malloc (PyTorch's CPU allocator calls posix_memalign, which
# shares its heap), touched and freed, 20 times, after 5 rounds of warm-up.
FAULTS_SCRIPT = """
import ctypes, json, resource, sys
from respai.efficiency.measure import reuse_freed_cpu_memory
applied = reuse_freed_cpu_memory() if sys.argv[1] == "reuse" else None
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 12 * 2**20
def rounds(k):
    for _ in range(k):
        x = libc.malloc(size); ctypes.memset(x, 1, size)
        y = libc.malloc(size); ctypes.memset(y, 1, size)
        libc.free(x); libc.free(y)
rounds(5)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
rounds(20)
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"applied": applied, "faults": after - before, "pages": size // 4096}))
"""


def page_faults(mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", FAULTS_SCRIPT, mode],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@glibc_only
def test_freed_buffers_are_reused_without_page_faults():
    reused = page_faults("reuse")
    assert reused["applied"] is True
    # 20 rounds x 2 buffers x 3072 pages would be 122,880 faults if every
    # buffer came fresh; reuse leaves fewer than one fresh buffer in all 40.
    assert reused["faults"] < reused["pages"], reused


@glibc_only
def test_default_glibc_faults_the_same_buffers_in_again():
    """The control: without the setting this pattern pays the faults, so the test above can fail."""
    default, reused = page_faults("default"), page_faults("reuse")
    assert default["faults"] >= 10 * default["pages"], default
    assert default["faults"] > 20 * max(reused["faults"], 1), (default, reused)


def test_other_c_libraries_are_left_alone(monkeypatch):
    monkeypatch.setattr(_allocator, "_glibc", lambda: None)
    assert reuse_freed_cpu_memory() is False


def test_a_refused_setting_raises(monkeypatch):
    class RefusingLibc:
        @staticmethod
        def mallopt(option, value):
            return 0

    monkeypatch.setattr(_allocator, "_glibc", lambda: RefusingLibc())
    with pytest.raises(RuntimeError, match="M_MMAP_THRESHOLD"):
        reuse_freed_cpu_memory()
