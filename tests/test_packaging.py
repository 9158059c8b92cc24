"""Packaging: the lock, environment.yml and pyproject agree; the layout matches DESIGN.md."""

import re
import sys
from pathlib import Path

import pytest
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-\[\]]+)==([^\s#;]+)")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def test_environment_yml_lists_exactly_the_lock():
    lock, env = pins(ROOT / "requirements-lock.txt"), pins(ROOT / "environment.yml")
    assert lock, "requirements-lock.txt has no pins"
    missing = sorted(set(lock) - set(env))
    extra = sorted(set(env) - set(lock))
    changed = sorted(name for name in set(lock) & set(env) if lock[name] != env[name])
    assert not (missing or extra or changed), (
        f"environment.yml drifted from requirements-lock.txt: missing={missing} extra={extra} "
        f"different versions={changed}. Regenerate environment.yml from the lock."
    )


LOCKS = ("requirements-lock.txt", "requirements-lock-py310.txt")


@pytest.mark.parametrize("lock_file", LOCKS)
def test_lock_pins_cpu_torch_and_every_direct_dependency(lock_file):
    lock = pins(ROOT / lock_file)
    assert lock["torch"] == "2.13.0"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in ("grading", "dev", "data"):
        requirements += project["optional-dependencies"][extra]
    for requirement in requirements:
        if "python_version <" in requirement and lock_file == "requirements-lock.txt":
            continue
        name = re.split(r"[<>=!\[; ]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in lock, f"{name} is not pinned in {lock_file}"


@pytest.mark.parametrize("lock_file", LOCKS)
def test_lock_has_only_exact_pins(lock_file):
    for line in (ROOT / lock_file).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            assert PIN.match(line), f"not an exact pin in {lock_file}: {line!r}"


def test_python310_lock_is_capped_by_the_main_lock():
    """Each package of the 3.10 lock is at most its tested version in the main lock."""
    main, py310 = pins(ROOT / "requirements-lock.txt"), pins(ROOT / "requirements-lock-py310.txt")
    above = sorted(
        f"{name} {version} > {main[name]}"
        for name, version in py310.items()
        if name in main and Version(version) > Version(main[name])
    )
    assert not above, f"requirements-lock-py310.txt is newer than requirements-lock.txt: {above}"


def test_pyproject_ranges_are_loose_so_colab_keeps_its_torch():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert "==" not in requirement, f"pin {requirement!r} in the lock, not in pyproject"
    assert project["scripts"]["autograde"] == "autograde.cli:main"
    assert {"grading", "dev"} <= set(project["optional-dependencies"])


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        "environment.yml",
        "pyproject.toml",
        "Makefile",
        "lib/respai",
        "autograde",
        "solutions",
        "notebooks",
        "tests",
        "benchmarks",
        ".ci/run",
    ],
)
def test_layout(path):
    assert (ROOT / path).exists(), f"{path} is part of the layout in DESIGN.md"


def test_ci_runs_make_test():
    script = (ROOT / ".ci/run").read_text()
    assert "make test" in script


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the main lock is for Python 3.11+")
def test_every_locked_package_installs_on_any_python_311():
    """Requires-Python of each locked package (as installed here) admits 3.11.0 and 3.12.

    Debian 12's python3 is 3.11.2: one pin that needs 3.11.5 (soupsieve 4) stopped
    `make test` there before anything was installed.
    """
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.specifiers import SpecifierSet

    refused = []
    for name, version in pins(ROOT / "requirements-lock.txt").items():
        try:
            meta = distribution(name).metadata
        except PackageNotFoundError:
            continue  # not in this environment (e.g. a CUDA venv's filter): nothing to read
        if Version(meta["Version"]) != Version(version):
            continue
        needs = SpecifierSet(meta.get("Requires-Python") or "")
        bad = [v for v in ("3.11.0", "3.12.0") if not needs.contains(v)]
        if bad:
            refused.append(f"{name}=={version} needs Python {needs} (not {', '.join(bad)})")
    assert not refused, "pin an older release in requirements-lock.txt: " + "; ".join(refused)
