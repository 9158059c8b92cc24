"""The sandbox's probe must pass wherever the kernel may create namespaces.

``tests/autograde/test_sandbox.py`` skips itself where ``isolation_level()``
is ``"limits-only"``; a bug in the probe would make that happen everywhere,
and every sandbox test would skip instead of fail. This test asks the kernel
directly (``unshare`` in a child, no mounts) and fails if the probe disagrees.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograde import sandbox
from autograde.cli import main
from tests.autograde.course_helpers import FIXTURE_ID, write_submission

UNSHARE = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
new_mount_and_network = 0x00020000 | 0x40000000
new_user = 0x10000000 if os.geteuid() != 0 else 0
raise SystemExit(0 if libc.unshare(new_mount_and_network | new_user) == 0 else 1)
"""


def _kernel_allows_namespaces() -> bool:
    return subprocess.run([sys.executable, "-c", UNSHARE], timeout=60).returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="namespaces are Linux only")
def test_the_probe_passes_where_the_kernel_allows_namespaces():
    if not _kernel_allows_namespaces():
        pytest.skip("this machine does not allow mount and network namespaces")
    failure = sandbox.probe_failure()
    assert failure == "", f"the sandbox's probe fails where unshare works: {failure}"
    assert sandbox.isolation_level() in ("full", "namespaces")


def test_a_failing_probe_says_why(monkeypatch):
    def failing_run(*args, **kwargs):
        return subprocess.CompletedProcess(args, 1, "", "Traceback ...\nOSError: umount: busy")

    monkeypatch.setattr(sandbox.subprocess, "run", failing_run)
    assert sandbox.probe_failure() == "exit status 1: OSError: umount: busy"


def test_grade_says_why_kernels_get_no_private_view(fixture_course, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "namespaces_work", lambda: False)
    monkeypatch.setattr(sandbox, "probe_failure", lambda: "exit status 1: OSError: no unshare")
    write_submission(tmp_path / "subs", "dave", FIXTURE_ID, "{ not json")  # no kernel needed
    root = ["--root", str(fixture_course.root)]
    main([*root, "grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--workers", "1"])
    said = capsys.readouterr().err
    if sys.platform == "linux":
        assert "no private view: exit status 1: OSError: no unshare" in said
