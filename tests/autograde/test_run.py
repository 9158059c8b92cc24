"""``autograde run``: statuses, recorded claims and structured failures in results.json."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest

from autograde.cli import main
from autograde.core import run as run_module
from respai.results import RESULTS_FILE_ENV
from tests.autograde.course_helpers import FIXTURE_ID, copy_course

pytestmark = pytest.mark.xdist_group("run")


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    """Run three copies of the fixture in one call: fine, claim out of range, raising cell."""
    course = copy_course(tmp_path_factory.mktemp("run") / "course")
    source = course.solutions_dir / FIXTURE_ID
    for name in ("01_claims", "02_broken"):
        target = course.solutions_dir / name
        shutil.copytree(source, target)
        (target / f"{FIXTURE_ID}.ipynb").rename(target / f"{name}.ipynb")
    claims = course.solutions_dir / "01_claims" / "claims.toml"
    claims.write_text(claims.read_text().replace("[5.4, 5.6]", "[0.0, 1.0]"))
    broken = course.solutions_dir / "02_broken" / "02_broken.ipynb"
    nb = nbformat.read(broken, as_version=4)
    nb.cells[7].source = "raise ValueError('broken on purpose')"
    nbformat.write(nb, broken)
    out = course.root / "_build" / "run"
    code = main(["--root", str(course.root), "run", "--mode", "smoke", "--workers", "2"])
    return code, json.loads((out / "results.json").read_text()), out


def test_exit_code_and_statuses(run_output):
    code, results, _ = run_output
    assert code == 1
    statuses = {k: v["status"] for k, v in results["notebooks"].items()}
    assert statuses == {FIXTURE_ID: "ok", "01_claims": "claims_failed", "02_broken": "failed"}


def test_recorded_numbers_and_executed_copies(run_output):
    _, results, out = run_output
    assert results["notebooks"][FIXTURE_ID]["recorded"] == {"fixture_total": 5.5}
    assert "outside its smoke range" in results["notebooks"]["01_claims"]["problems"][0]
    executed = nbformat.read(out / f"{FIXTURE_ID}.ipynb", as_version=4)
    assert any(c.get("outputs") for c in executed.cells)


def test_failure_names_the_cell_and_exception(run_output):
    _, results, _ = run_output
    broken = results["notebooks"]["02_broken"]
    assert (broken["ename"], broken["evalue"]) == ("ValueError", "broken on purpose")
    assert broken["cell_index"] is not None


def _count_papermill_calls(monkeypatch, first_kernel: str) -> list[str]:
    """Make the first call use ``first_kernel``; return the kernel names used, call by call."""
    real = run_module.papermill.execute_notebook
    calls: list[str] = []

    def execute_notebook(*args, kernel_name, **kwargs):
        calls.append(first_kernel if not calls else kernel_name)
        return real(*args, kernel_name=calls[-1], **kwargs)

    monkeypatch.setattr(run_module.papermill, "execute_notebook", execute_notebook)
    return calls


def _run_fixture(course, tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_FILE_ENV, "")  # _run_one sets it; restored after the test
    source = course.source_notebook(FIXTURE_ID)
    return run_module._run_one(
        str(source),
        str(tmp_path / "out.ipynb"),
        str(tmp_path / "out.results.jsonl"),
        str(course.claims_file(FIXTURE_ID)),
        FIXTURE_ID,
        "smoke",
    )


def test_a_kernel_that_fails_to_start_is_started_again(tmp_path, monkeypatch):
    course = copy_course(tmp_path / "course")
    calls = _count_papermill_calls(monkeypatch, first_kernel="no-such-kernel")
    result = _run_fixture(course, tmp_path, monkeypatch)
    assert calls == ["no-such-kernel", "python3"]
    assert result.status == "ok", result.problems
    assert result.recorded == {"fixture_total": 5.5}


def test_a_kernel_that_dies_in_a_cell_is_not_run_again(tmp_path, monkeypatch):
    course = copy_course(tmp_path / "course")
    source = course.source_notebook(FIXTURE_ID)
    nb = nbformat.read(source, as_version=4)
    nb.cells[7].source = "import os\nos._exit(1)"
    nbformat.write(nb, source)
    calls = _count_papermill_calls(monkeypatch, first_kernel="python3")
    result = _run_fixture(course, tmp_path, monkeypatch)
    assert calls == ["python3"], "cells already ran: a second run could repeat their effects"
    assert result.status == "failed"
