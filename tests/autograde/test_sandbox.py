"""The kernel launcher: resource limits, hidden folders, another uid."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograde import sandbox

pytestmark = pytest.mark.skipif(
    sandbox.isolation_level() == "limits-only", reason="needs Linux namespaces"
)

PROBE = """
import json, os
import numpy as np
report = {"uid": os.getuid(), "secret": os.path.exists(SECRET), "nested": os.path.exists(NESTED)}
try:
    open(os.path.join(COURSE, "x.txt"), "w")
    report["write"] = "allowed"
except OSError as error:
    report["write"] = type(error).__name__
try:
    np.ones(8 * 1024**3 // 8)
    report["memory"] = "allowed"
except MemoryError:
    report["memory"] = "MemoryError"
print(json.dumps(report))
"""


def run_probe(tmp_path, hidden):
    course = tmp_path / "course"
    (course / "solutions" / "deep").mkdir(parents=True)
    (course / "solutions" / "secret.ipynb").write_text("hidden tests")
    work = tmp_path / "work"
    work.mkdir()
    policy = sandbox.policy_for(
        work, 2048, tuple(str(course / p) for p in hidden), uid=200_000 + os.getpid()
    )
    code = PROBE.replace("SECRET", repr(str(course / "solutions" / "secret.ipynb")))
    code = code.replace("NESTED", repr(str(course / "solutions" / "deep")))
    code = code.replace("COURSE", repr(str(course)))
    done = run_sandboxed(policy, code, work)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_sandboxed(policy, code, cwd, *args, timeout=120):
    """``python -c code *args`` under ``policy``, started as the grader starts a kernel."""
    env = {**os.environ, sandbox.ENV_VAR: policy.to_env()}
    command = sandbox.wrap_command([sys.executable, "-c", code, *args])
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def test_nested_hidden_folders_are_hidden_and_limits_hold(tmp_path):
    report = run_probe(tmp_path, ["", "solutions", "solutions/deep"])
    assert report["secret"] is False and report["nested"] is False
    assert report["write"] != "allowed"
    assert report["memory"] == "MemoryError"
    if os.geteuid() == 0:
        assert report["uid"] == 200_000 + os.getpid()


def test_outermost_drops_folders_inside_others():
    assert sandbox._outermost(["/a/b", "/a", "/ab", "/a/b/c"]) == ["/a", "/ab"]


def test_policy_round_trips_through_the_environment(tmp_path):
    policy = sandbox.policy_for(tmp_path, 1024, ("/nonexistent",), uid=123)
    assert sandbox.SandboxPolicy.from_env(policy.to_env()) == policy
    assert json.loads(policy.to_env())["memory_mb"] == 1024
    assert str(tmp_path) not in policy.hidden_paths


@pytest.mark.skipif(os.geteuid() != 0, reason="another uid needs root")
def test_exposed_folder_under_a_closed_parent_stays_reachable(tmp_path):
    closed = tmp_path / "closed"  # like `mktemp -d`: mode 700, owned by root
    (closed / "pkg").mkdir(parents=True)
    (closed / "pkg" / "module.txt").write_text("shared")
    (closed / "secret.txt").write_text("private")
    closed.chmod(0o700)
    work = Path(tempfile.mkdtemp(prefix="autograde-test-"))  # graders' scratch lives in /tmp
    policy = sandbox.policy_for(work, 2048, (), uid=200_000 + os.getpid())
    policy = sandbox.SandboxPolicy(
        **{**policy.__dict__, "exposed_paths": (*policy.exposed_paths, str(closed / "pkg"))}
    )
    code = (
        "import os, json; print(json.dumps(["
        f"open({str(closed / 'pkg' / 'module.txt')!r}).read(), "
        f"os.path.exists({str(closed / 'secret.txt')!r})]))"
    )
    try:
        done = run_sandboxed(policy, code, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["shared", False]


MAPPINGS_PROBE = """
import json, mmap
report = {}
# Read-only private mappings stand for shared libraries (a CUDA build of torch maps 3.4 GiB):
# address space beyond memory_mb, no private memory.
private = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
code = mmap.mmap(-1, 1536 * 1024**2, flags=private, prot=mmap.PROT_READ)
report["library_like"] = "allowed"
try:
    heap = bytearray(768 * 1024**2)  # private memory beyond memory_mb
    report["private"] = "allowed"
except MemoryError:
    report["private"] = "MemoryError"
try:
    shared = mmap.mmap(-1, 3 * 1024**3)  # shared anonymous: not RLIMIT_DATA, but address space
    report["shared"] = "allowed"
except OSError as error:
    report["shared"] = type(error).__name__
print(json.dumps(report))
"""


def test_private_memory_is_capped_but_mapped_libraries_have_room(tmp_path):
    """memory_mb caps private memory (RLIMIT_DATA); the address space gets mapped_code_mb more.

    The old address-space-only cap failed every torch notebook under a CUDA build of torch.
    """
    policy = sandbox.SandboxPolicy(memory_mb=512, mapped_code_mb=2048)
    done = run_sandboxed(policy, MAPPINGS_PROBE, None)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"library_like": "allowed", "private": "MemoryError", "shared": "OSError"}


NETWORK_PROBE = """
import socket
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=5).close()
    print("reached")
except OSError as error:
    print(type(error).__name__)
"""


def test_a_sandboxed_process_has_no_network(tmp_path):
    # A server on the grader's loopback: reachable from outside the sandbox, not from inside.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        policy = sandbox.policy_for(tmp_path, 2048, uid=200_000 + os.getpid())
        assert policy.network is False, "namespaces are available here: no network"
        code = NETWORK_PROBE.replace("PORT", str(port))
        outside = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        inside = run_sandboxed(policy, code, tmp_path, timeout=60)
    assert outside.stdout.strip() == "reached", "the probe itself must work"
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() in ("OSError", "ConnectionRefusedError"), inside.stdout


def test_a_kernel_without_network_is_reached_over_unix_sockets(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    from autograde.core.kernel import execute_cells

    # As grading does: a scratch folder the kernel's uid can reach (pytest's tmp_path is not).
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
        nb = new_notebook(cells=[new_code_cell("print(6 * 7)")])
        run = execute_cells(
            nb, cwd=Path(scratch), cell_timeout=60, notebook_timeout=120, policy=policy
        )
    assert run.status == "completed", run.reason
    assert "42" in nb.cells[0].outputs[0]["text"]


def test_where_namespaces_are_blocked_kernels_still_run_with_limits(monkeypatch):
    # A container without CAP_SYS_ADMIN: root, but unshare() fails. Kernels must still start.
    from nbformat.v4 import new_code_cell, new_notebook

    from autograde.core.kernel import execute_cells

    assert sandbox.namespaces_work(), "tried in a child process, and they work here"
    monkeypatch.setattr(sandbox, "namespaces_work", lambda: False)
    reachable = sandbox._python_reachable_by_others()
    other_uid = os.geteuid() == 0 and reachable  # only root can switch to another uid
    assert sandbox.isolation_level() == ("uid" if other_uid else "limits-only")
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
        assert (policy.private_view, policy.network) == (False, True)
        assert (policy.uid is not None) == reachable
        nb = new_notebook(cells=[new_code_cell("import os\nprint(os.getuid())")])
        run = execute_cells(
            nb, cwd=Path(scratch), cell_timeout=60, notebook_timeout=120, policy=policy
        )
    assert run.status == "completed", run.reason
    expected_uid = policy.uid if other_uid else os.geteuid()
    assert nb.cells[0].outputs[0]["text"].strip() == str(expected_uid)


TEMPORARY_FOLDERS_PROBE = """
import json, os
report = {"left": os.path.exists(LEFT), "scratch": sorted(os.listdir("."))}
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    with open(os.path.join(folder, "from-the-kernel.txt"), "w") as handle:
        handle.write("a note for the next kernel")
    report[folder] = sorted(os.listdir(folder))
with open("result.txt", "w") as handle:
    handle.write("kept")
print(json.dumps(report))
"""


def test_a_kernel_gets_empty_temporary_folders_but_keeps_its_scratch():
    # What another kernel or an old clone of the course left in /tmp is not visible, and what
    # this kernel writes there is gone with it; its scratch folder (inside /tmp) stays usable.
    written = [Path(f, "from-the-kernel.txt") for f in ("/tmp", "/var/tmp", "/dev/shm")]
    assert not any(path.exists() for path in written), "leftovers of an earlier run"
    left = Path(tempfile.mkdtemp(prefix="autograde-test-left-")) / "solution.ipynb"
    try:
        left.write_text("a solution left in /tmp")
        with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
            Path(scratch, "data.csv").write_text("x\n1\n")
            policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
            assert {"/tmp", "/var/tmp", "/dev/shm"} <= set(policy.fresh_tmp_paths)
            code = TEMPORARY_FOLDERS_PROBE.replace("LEFT", repr(str(left)))
            done = run_sandboxed(policy, code, scratch)
            kept = Path(scratch, "result.txt").read_text() if done.returncode == 0 else None
        leaked = [str(path) for path in written if path.exists()]
    finally:
        shutil.rmtree(left.parent, ignore_errors=True)
        for path in written:
            path.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["left"] is False, "a file another process left in /tmp is visible"
    assert report["scratch"] == ["data.csv"]
    assert report["/var/tmp"] == report["/dev/shm"] == ["from-the-kernel.txt"]
    assert "from-the-kernel.txt" in report["/tmp"] and left.parent.name not in report["/tmp"]
    assert kept == "kept", "the scratch folder must stay writable"
    assert not leaked, f"the kernel wrote to the real temporary folders: {leaked}"


@pytest.mark.skipif(os.geteuid() != 0, reason="another uid needs root")
def test_a_connection_file_outside_the_scratch_folder_is_copied_in(tmp_path):
    # A kernel spec that wraps the launcher passes a connection file from the runtime folder,
    # which the kernel (another uid, /tmp and ~ covered) could not read; it gets a copy.
    elsewhere = tmp_path / "runtime"
    elsewhere.mkdir()
    connection = elsewhere / "kernel-1.json"
    connection.write_text('{"key": "k"}')
    connection.chmod(0o600)
    code = "import sys; print(sys.argv[2] + ' ' + open(sys.argv[2]).read())"
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
        done = run_sandboxed(policy, code, scratch, "-f", str(connection))
    assert done.returncode == 0, done.stderr
    path, content = done.stdout.strip().split(" ", 1)
    assert path == os.path.join(os.path.realpath(scratch), sandbox.CONNECTION_FILE)
    assert content == '{"key": "k"}'


SHARED_TMP_PROBE = """
import errno, json
written = {}
for folder in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(folder + "/block.bin", "wb") as handle:
            handle.write(bytes(5 * 1024 * 1024))
        written[folder] = "ok"
    except OSError as error:
        written[folder] = errno.errorcode[error.errno]
print(json.dumps(written))
"""


def test_the_temporary_folders_share_one_size_limit():
    # tmpfs pages are RAM outside RLIMIT_DATA: tmp_mb bounds all the folders together,
    # not each (5 MiB fits in 8 MiB once, not twice).
    with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
        policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
        policy = dataclasses.replace(policy, tmp_mb=8)
        done = run_sandboxed(policy, SHARED_TMP_PROBE, scratch)
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout.strip().splitlines()[-1])
    assert written == {"/tmp": "ok", "/var/tmp": "ENOSPC", "/dev/shm": "ENOSPC"}


def test_a_copy_of_the_course_outside_the_system_folders_is_hidden():
    # Another clone of the course (its solutions world-readable) in /srv, /opt, /mnt, ...
    # must not be readable from a kernel; the Python and respai it imports stay reachable.
    top = next((t for t in ("/srv", "/opt", "/mnt") if os.access(t, os.W_OK)), None)
    if top is None:
        pytest.skip("no writable top-level folder to leave a copy in")
    copy = Path(tempfile.mkdtemp(prefix="autograde-test-copy-", dir=top))
    try:
        copy.chmod(0o755)
        (copy / "solution.ipynb").write_text("the instructor's solution")
        (copy / "solution.ipynb").chmod(0o644)
        code = f"import os, respai; print(os.path.exists({str(copy / 'solution.ipynb')!r}))"
        with tempfile.TemporaryDirectory(prefix="autograde-") as scratch:
            policy = sandbox.policy_for(scratch, 2048, uid=200_000 + os.getpid())
            assert top in policy.hidden_paths
            done = run_sandboxed(policy, code, scratch)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", "a kernel can read a copy of the course in " + top


LOOPBACK_PROBE = """
import socket
with socket.create_server(("127.0.0.1", 0)) as server:
    with socket.create_connection(server.getsockname(), timeout=5) as client:
        peer, _ = server.accept()
        client.sendall(b"ping")
        print(peer.recv(4).decode())
"""


def test_a_kernel_can_reach_itself_over_its_own_loopback(tmp_path):
    # A Dask LocalCluster or torch.distributed in a notebook talks to itself over 127.0.0.1.
    policy = sandbox.policy_for(tmp_path, 2048, uid=200_000 + os.getpid())
    done = run_sandboxed(policy, LOOPBACK_PROBE, tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ping"
