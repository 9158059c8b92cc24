"""Start a grading kernel in a sandbox: resource limits, a private view of the files, another uid.

A graded notebook is untrusted code. The kernel that runs it is started
through this module (``python -m autograde.sandbox -- <kernel command>``),
which applies a :class:`SandboxPolicy` to its own process and then ``exec``\\ s
the kernel, so every limit holds for the kernel and all its children:

* **resource limits** (``setrlimit``): private memory (``memory_mb``, as
  ``RLIMIT_DATA``: heap and anonymous mappings, where every array lives),
  address space as a backstop for shared mappings (``memory_mb`` plus
  ``mapped_code_mb`` for the shared libraries the kernel maps: importing a
  CUDA build of torch takes 3.4 GiB of address space, most of it library
  code, so a plain 4 GiB address-space cap left notebooks no room), number of
  processes of the uid (``max_processes``, bounds a fork bomb), size of any
  written file (``max_file_mb``), no core dumps;
* **a private mount namespace** (Linux, as root or through an unprivileged
  user namespace): each path in ``hidden_paths`` is covered by an empty,
  read-only ``tmpfs`` (the instructor's solutions and hidden tests, the
  gradebook and ``grades.csv``, other students' folders, every top-level
  folder that is not the system's); the temporary folders start empty;
  each path in ``exposed_paths`` (the installed library, the virtual
  environment) is bound back inside, read-only;
* **no network** (with the mount namespace): the kernel gets its own network
  namespace, with nothing in it but its own loopback device (up, so code
  that talks to itself over 127.0.0.1 works), so a
  submission cannot send the hidden tests it runs anywhere, nor reach the
  grader's network; the grader then talks to the kernel over Unix sockets in
  its scratch folder (ZeroMQ's ``ipc`` transport) instead of TCP;
* **another uid** (as root): the kernel runs as ``uid``, a number no other
  submission uses at the same time, so it cannot write to anything it does
  not own, cannot signal other kernels, and its fork bomb counts against its
  own process limit only. :func:`kill_uid` removes every process it left.

Where namespaces are not available (macOS, a container without
``CAP_SYS_ADMIN``: tried once in a child process, :func:`namespaces_work`)
the kernel keeps the network and sees every file its uid may read: it then
runs under its own uid with the resource limits where that uid can reach the
Python installation, else with the limits only. :func:`isolation_level`
says which level a policy gets on this machine, and ``autograde grade``
prints it.

The policy reaches the launcher in the environment variable
``AUTOGRADE_SANDBOX`` (JSON), which is removed before the kernel starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import json
import os
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "SandboxPolicy",
    "ENV_VAR",
    "CONNECTION_FILE",
    "policy_for",
    "wrap_command",
    "isolation_level",
    "kill_uid",
    "namespaces_work",
    "probe_failure",
    "main",
]

ENV_VAR = "AUTOGRADE_SANDBOX"
#: Name of the kernel's connection file in its scratch folder (readable by ``policy.uid``).
CONNECTION_FILE = ".kernel-connection.json"

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY = 1
_MS_NOSUID = 2
_MS_NODEV = 4
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2
_TEMPORARY_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm")
#: Top-level folders a kernel keeps seeing: the operating system's (``nix`` and ``gnu``
#: hold the libraries of Nix and Guix installations). Every other one (``/home``,
#: ``/opt``, ``/srv``, ``/mnt``, ``/run``, ...) holds someone's files, perhaps another
#: copy of the course with its solutions, and is hidden.
_SYSTEM_FOLDERS = frozenset(
    {"bin", "dev", "etc", "gnu", "lib", "lib32", "lib64", "libx32", "nix", "proc", "sbin"}
    | {"sys", "tmp", "usr", "var"}
)


@dataclass(frozen=True)
class SandboxPolicy:
    """What a graded kernel may use.

    Parameters
    ----------
    memory_mb : int
        Private memory of the kernel process, MiB (``RLIMIT_DATA``: heap,
        anonymous and other private writable mappings; Linux >= 4.7). Importing
        torch with numpy, scipy and transformers takes about 400 MiB of it
        (CPU build) or 950 MiB (CUDA build).
    mapped_code_mb : int
        Address space allowed beyond ``memory_mb`` (``RLIMIT_AS`` is set to
        their sum), for shared libraries and other file mappings, which
        ``RLIMIT_DATA`` does not count. It bounds what ``RLIMIT_DATA`` misses
        (shared anonymous memory, ``mmap.mmap(-1, n)``). A CUDA build of torch
        maps about 3.4 GiB of address space at import, a CPU build 0.9 GiB.
    max_processes : int
        Processes and threads the kernel's uid may have (``RLIMIT_NPROC``);
        effective when the kernel runs under its own ``uid``.
    max_file_mb : int
        Largest file the kernel may write, MiB (``RLIMIT_FSIZE``).
    hidden_paths : tuple of str
        Folders replaced by an empty read-only tmpfs inside the sandbox.
    exposed_paths : tuple of str
        Folders inside hidden ones that stay visible, read-only.
    fresh_tmp_paths : tuple of str
        Temporary folders (``/tmp``, ``/var/tmp``, ``/dev/shm``, ``$TMPDIR``)
        replaced by empty writable folders of one shared tmpfs: the kernel
        neither sees what others left there (copies of the course, other
        kernels' files) nor leaves anything there for later kernels. The
        scratch folder inside them stays visible.
    tmp_mb : int
        Size of the fresh temporary folders together, MiB. A tmpfs is kept in
        memory but not counted in ``RLIMIT_DATA``, so this is what a kernel
        may hold in RAM beyond ``memory_mb``.
    private_view : bool
        Build the private view (mount namespace) at all; False where the
        machine does not allow namespaces (:func:`namespaces_work`).
    network : bool
        Keep the machine's network. False gives the kernel a network namespace
        of its own (no network), where namespaces are available; the kernel
        must then be reached over Unix sockets (``ipc`` transport).
    uid : int or None
        Run as this uid (and gid) when started as root.
    workdir : str or None
        The kernel's scratch folder: given to ``uid`` so the kernel can write there.
    """

    memory_mb: int = 4096
    mapped_code_mb: int = 8192
    max_processes: int = 256
    max_file_mb: int = 256
    hidden_paths: tuple[str, ...] = field(default_factory=tuple)
    exposed_paths: tuple[str, ...] = field(default_factory=tuple)
    fresh_tmp_paths: tuple[str, ...] = field(default_factory=tuple)
    tmp_mb: int = 256
    private_view: bool = True
    network: bool = True
    uid: int | None = None
    workdir: str | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls, text: str) -> SandboxPolicy:
        data = json.loads(text)
        data["hidden_paths"] = tuple(data.get("hidden_paths", ()))
        data["exposed_paths"] = tuple(data.get("exposed_paths", ()))
        data["fresh_tmp_paths"] = tuple(data.get("fresh_tmp_paths", ()))
        return cls(**data)


def wrap_command(command: list[str]) -> list[str]:
    """The kernel command, started through this launcher."""
    return [sys.executable, "-m", "autograde.sandbox", "--", *command]


def isolation_level() -> str:
    """What a graded kernel gets on this machine.

    ``"full"`` (root: private view, no network, own uid), ``"namespaces"``
    (private view and no network through an unprivileged user namespace),
    ``"uid"`` (root where namespaces are blocked, e.g. a container without
    ``CAP_SYS_ADMIN``: own uid and limits, if that uid can reach the Python
    installation) or ``"limits-only"``. Namespaces are tried once, in a child
    process (:func:`namespaces_work`), rather than assumed: a root that cannot
    create them would otherwise fail every kernel.
    """
    root = os.geteuid() == 0
    if sys.platform == "linux" and namespaces_work():
        return "full" if root else "namespaces"
    return "uid" if root and _python_reachable_by_others() else "limits-only"


def _python_reachable_by_others() -> bool:
    """Can another uid run this Python without the private view (every folder above it o+x)?"""
    for path in {os.path.realpath(sys.executable), os.path.realpath(sys.prefix)}:
        for folder in [*Path(path).parents, Path(path)]:
            if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH:
                return False
    return True


@functools.lru_cache(maxsize=1)
def namespaces_work() -> bool:
    """True if this process may build the sandbox's private view (tried in a child process).

    Tried twice before giving up: the answer holds for the whole grading run,
    and one probe can fail for a passing reason (its 60 s timeout on a loaded
    machine).
    """
    return sys.platform == "linux" and (probe_failure() == "" or probe_failure() == "")


def probe_failure() -> str:
    """Build the private view in a child process; ``""`` if it works, else why not."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "autograde.sandbox", "--probe"],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != ENV_VAR},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if done.returncode == 0:
        return ""
    said = done.stderr.strip().splitlines()
    return f"exit status {done.returncode}" + (f": {said[-1]}" if said else "")


def _probe() -> None:
    """Build a private view (a hidden folder, a fresh tmp with a scratch folder, no network).

    Exits 0 if it works.
    """
    with tempfile.TemporaryDirectory(prefix="autograde-probe-") as folder:
        hidden, fresh = os.path.join(folder, "hidden"), os.path.join(folder, "tmp")
        work = os.path.join(fresh, "work")
        os.makedirs(hidden)
        os.makedirs(work)
        policy = SandboxPolicy(
            hidden_paths=(hidden,), fresh_tmp_paths=(fresh,), network=False, workdir=work
        )
        _private_view(policy, other_uid=False)
        # fresh has two mounts: the tmpfs and, on top, the bind of its folder "0".
        for path in (work, fresh, fresh, hidden):
            _check(_libc().umount2(path.encode(), _MNT_DETACH), f"umount {path}")


# --- the policy of a graded kernel ---


def policy_for(
    workdir: str | os.PathLike, memory_mb: int, hidden_paths: tuple[str, ...] = (), *, uid: int
) -> SandboxPolicy:
    """Limits and file view of one graded kernel.

    Hidden: the given folders, the grader's working folder, the home folder,
    the course that ``respai`` is installed from (its solutions and hidden
    tests) and every top-level folder that is not the system's
    (:data:`_SYSTEM_FOLDERS`), where other copies of the course may lie.
    Exposed again, read-only: the Python installation, the virtual
    environment, the installed ``respai`` package and, inside the hidden
    top-level folders, what the kernel may need to import or load: the
    folders on ``sys.path`` and ``LD_LIBRARY_PATH`` and those of the shared
    libraries this process has mapped (a conda Python under ``/opt``). A
    folder that contains the scratch folder is never hidden. The temporary folders start
    empty (``fresh_tmp_paths``), except for the scratch folder. No network
    wherever namespaces work (:func:`namespaces_work`; the ``uid`` level keeps
    it).
    """
    hidden = {os.path.realpath(p) for p in (*hidden_paths, os.getcwd(), Path.home())}
    exposed = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    spec = importlib.util.find_spec("respai")
    for location in (spec.submodule_search_locations or []) if spec else []:
        exposed.add(os.path.realpath(location))
        course = Path(location).resolve().parents[1]
        if (course / "solutions").is_dir():
            hidden.add(str(course))
    others = _non_system_top_level_folders()
    exposed |= {
        p
        for p in _folders_the_kernel_loads_from()
        if _inside_any(p, others) and not _inside_any(p, hidden)
    }
    hidden |= others
    scratch = os.path.realpath(workdir)
    hidden = {
        p
        for p in hidden
        if p != "/" and not scratch.startswith(p.rstrip("/") + "/") and p != scratch
    }
    return SandboxPolicy(
        memory_mb=memory_mb,
        hidden_paths=tuple(sorted(hidden)),
        exposed_paths=tuple(sorted(exposed)),
        fresh_tmp_paths=tuple(
            sorted({os.path.realpath(p) for p in (*_TEMPORARY_FOLDERS, tempfile.gettempdir())})
        ),
        private_view=namespaces_work(),
        network=not namespaces_work(),
        # Without the private view, another uid cannot reach a Python under a closed
        # folder (/root/.pyenv): the kernel then keeps the grader's uid (limits only).
        uid=uid if namespaces_work() or _python_reachable_by_others() else None,
        workdir=scratch,
    )


def _non_system_top_level_folders() -> set[str]:
    """The top-level folders not in :data:`_SYSTEM_FOLDERS` (symlinks such as /lib are kept)."""
    with os.scandir("/") as entries:
        return {
            e.path
            for e in entries
            if e.name not in _SYSTEM_FOLDERS
            and not e.is_symlink()
            and e.is_dir(follow_symlinks=False)
        }


def _folders_the_kernel_loads_from() -> set[str]:
    """Existing folders on ``sys.path`` and ``LD_LIBRARY_PATH``, and of this process's libraries."""
    folders = [p for p in sys.path if p]
    folders += os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split(maxsplit=5)
                if len(fields) == 6 and fields[5].startswith("/"):
                    folders.append(os.path.dirname(fields[5].strip()))
    except OSError:  # not Linux: no private view to build anyway
        pass
    return {os.path.realpath(p) for p in folders if p and os.path.isdir(p)}


# --- inside the launcher ----------------------------------------------------


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data=None):
    _check(
        libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _outermost(paths) -> list[str]:
    """Drop folders inside another one of ``paths``: covering the outer one hides them."""
    kept: list[str] = []
    for path in sorted({os.path.realpath(p) for p in paths}):
        if not any(path.startswith(outer.rstrip("/") + "/") for outer in kept):
            kept.append(path)
    return kept


def _write_map(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _closed_ancestors(paths: list[str], keep_open: str | None) -> list[str]:
    """Folders above ``paths`` that other users cannot enter (no ``o+x``, e.g. ``mktemp -d``).

    A kernel running under another uid could not reach an exposed folder
    through them; covering them like hidden folders (and binding the exposed
    ones back) makes the path walkable without opening the rest of them.
    """
    closed = set()
    for path in paths:
        for folder in Path(path).parents:
            text = str(folder)
            if text == "/" or (keep_open and (keep_open + "/").startswith(text + "/")):
                continue
            try:
                if not os.stat(text).st_mode & 0o001:
                    closed.add(text)
            except OSError:
                continue
    return sorted(closed)


def _private_view(policy: SandboxPolicy, *, other_uid: bool) -> None:
    """Cover hidden and temporary folders with tmpfs, then bind back what the kernel may use.

    Hidden folders get an empty read-only tmpfs, the temporary folders
    (``fresh_tmp_paths``) an empty writable folder each of one tmpfs of
    ``tmp_mb`` MiB (:func:`_fresh_temporary_folders`). The
    exposed folders come back read-only and the scratch folder read-write,
    bound from file descriptors opened before anything was covered
    (``/proc/self/fd/N`` still reaches a covered folder), so no staging folder
    is left behind on the real file system.
    """
    libc = _libc()
    exposed = [p for p in policy.exposed_paths if os.path.isdir(p)]
    hidden = [p for p in policy.hidden_paths if os.path.isdir(p)]
    if other_uid:
        hidden += _closed_ancestors(exposed, policy.workdir)
    fresh = {os.path.realpath(p) for p in policy.fresh_tmp_paths if os.path.isdir(p)}
    covered = _outermost([*hidden, *fresh])
    if not covered and policy.network:
        return
    flags = _CLONE_NEWNS | (0 if policy.network else _CLONE_NEWNET)
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0:
        flags |= _CLONE_NEWUSER
    _check(libc.unshare(flags), "unshare")
    if uid != 0:
        _write_map("/proc/self/setgroups", "deny")
        _write_map("/proc/self/uid_map", f"0 {uid} 1")
        _write_map("/proc/self/gid_map", f"0 {gid} 1")
    if not policy.network:
        _bring_loopback_up()
    _mount(libc, None, "/", None, _MS_REC | _MS_PRIVATE)
    # Folders to bring back, outer ones first: (path, read_only).
    back = [(p, True) for p in exposed]
    if policy.workdir and _inside_any(policy.workdir, covered):
        back.append((os.path.realpath(policy.workdir), False))
    back.sort()
    handles = [
        (path, read_only, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path, read_only in back
    ]
    try:
        for path in covered:
            if path not in fresh:
                _mount(libc, "tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16m,mode=755")
        _fresh_temporary_folders(libc, [p for p in covered if p in fresh], policy.tmp_mb)
        for path, read_only, handle in handles:
            os.makedirs(path, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{handle}", path, None, _MS_BIND | _MS_REC)
            if read_only:
                _mount(libc, None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY)
    finally:
        for _path, _read_only, handle in handles:
            os.close(handle)
    for path in covered:
        if path not in fresh:
            _mount(libc, None, path, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _bring_loopback_up() -> None:
    """Set ``lo`` up in the kernel's new network namespace, where it starts down.

    Code that talks to itself over 127.0.0.1 (a Dask ``LocalCluster``,
    ``torch.distributed`` on one machine) then works; the namespace has no
    other device, so nothing outside it is reachable. ``ioctl(SIOCGIFFLAGS)``
    and ``ioctl(SIOCSIFFLAGS)`` on ``struct ifreq`` (netdevice(7)).
    """
    import fcntl  # Unix only, and this runs on Linux only

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as handle:
        request = struct.pack("16sH22x", b"lo", 0)  # ifr_name, ifr_flags; 40 bytes in all
        flags = struct.unpack("16sH22x", fcntl.ioctl(handle, siocgifflags, request))[1]
        fcntl.ioctl(handle, siocsifflags, struct.pack("16sH22x", b"lo", flags | iff_up))


def _fresh_temporary_folders(libc: ctypes.CDLL, paths: list[str], size_mb: int) -> None:
    """Cover each of ``paths`` with an empty writable folder of one ``size_mb`` MiB tmpfs.

    One tmpfs for all of them, so that its size bounds what the kernel keeps
    in them together (a tmpfs each would allow ``len(paths)`` times more).
    The tmpfs is mounted on the first path, a folder is made in it for every
    path, and each folder is bound onto its path (the first one too, which
    covers the tmpfs's root and the other folders).
    """
    if not paths:
        return
    root = paths[0]
    _mount(libc, "tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={size_mb}m,mode=1777")
    handles = []
    try:
        for index in range(len(paths)):
            folder = os.path.join(root, str(index))
            os.mkdir(folder)
            os.chmod(folder, 0o1777)  # every user, like /tmp; mkdir's mode is cut by the umask
            handles.append(os.open(folder, os.O_PATH | os.O_DIRECTORY))
        for path, handle in zip(paths, handles, strict=True):
            _mount(libc, f"/proc/self/fd/{handle}", path, None, _MS_BIND)
    finally:
        for handle in handles:
            os.close(handle)


def _inside_any(path: str, folders: list[str]) -> bool:
    path = os.path.realpath(path)
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def _resource_limits(policy: SandboxPolicy) -> None:
    mib = 1024 * 1024
    # Private memory is what a notebook allocates; the address space also counts every mapped
    # library (a CUDA build of torch alone maps 3.4 GiB), so it is only the backstop.
    _limit(resource.RLIMIT_DATA, policy.memory_mb * mib)
    _limit(resource.RLIMIT_AS, (policy.memory_mb + policy.mapped_code_mb) * mib)
    _limit(resource.RLIMIT_FSIZE, policy.max_file_mb * mib)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NPROC, policy.max_processes)


def _give_to_uid(command: list[str], policy: SandboxPolicy) -> list[str]:
    """Hand the scratch folder and a copy of the connection file to ``policy.uid``."""
    uid = policy.uid
    if policy.workdir:
        for folder, _dirs, files in os.walk(policy.workdir):
            os.chown(folder, uid, uid)
            for name in files:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
        os.chmod(policy.workdir, 0o700)
    # jupyter_client writes the connection file 0600 for root; the kernel reads it. The
    # grader writes it into the scratch folder (chowned above); one written elsewhere (a
    # kernel spec that wraps this launcher) is copied there, as the kernel's /tmp and ~
    # are covered.
    if "-f" in command and policy.workdir:
        at = command.index("-f") + 1
        if not _inside_any(command[at], [os.path.realpath(policy.workdir)]):
            copy = os.path.join(policy.workdir, CONNECTION_FILE)
            with open(command[at], "rb") as source, open(copy, "wb") as target:
                target.write(source.read())
            os.chown(copy, uid, uid)
            os.chmod(copy, 0o600)
            command = [*command[:at], copy, *command[at + 1 :]]
    return command


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def kill_uid(uid: int) -> int:
    """SIGKILL every process owned by ``uid`` (what a fork bomb or a ``setsid`` child left)."""
    killed = 0
    for _ in range(20):  # a fork bomb may still be forking: sweep until none is left
        found = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if entry.stat().st_uid == uid:
                    os.kill(int(entry.name), signal.SIGKILL)
                    found += 1
            except (ProcessLookupError, FileNotFoundError, PermissionError):
                continue
        killed += found
        if not found:
            break
    return killed


def main(argv: list[str] | None = None) -> None:
    """Apply the policy from ``$AUTOGRADE_SANDBOX`` to this process, then exec the kernel."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--probe"]:
        _probe()
        return
    if "--" not in args or args.index("--") == len(args) - 1:
        raise SystemExit("usage: python -m autograde.sandbox -- KERNEL COMMAND ...")
    command = args[args.index("--") + 1 :]
    policy = SandboxPolicy.from_env(os.environ.pop(ENV_VAR, "{}"))
    use_uid = policy.uid is not None and os.geteuid() == 0
    if use_uid:
        command = _give_to_uid(command, policy)
    if sys.platform == "linux" and policy.private_view:
        _private_view(policy, other_uid=use_uid)
    if use_uid:
        os.environ["HOME"] = policy.workdir or "/tmp"
        _drop_privileges(policy.uid)
    _resource_limits(policy)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
