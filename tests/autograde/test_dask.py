"""``autograde grade --scheduler``: a Dask cluster gives the grades of the local pool.

One ``LocalCluster`` with two worker processes grades the same three
submissions as ``--workers 2``; ``grades.csv`` must agree on every column but
the timing.
"""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main
from autograde.core.mutants import fill_answers, solution_answers
from tests.autograde.course_helpers import FIXTURE_ID, released, write_submission

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


def rows_without_timing(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def two_gradings(fixture_course, tmp_path_factory):
    root = tmp_path_factory.mktemp("dask")
    subs = root / "submissions"
    blank = released(fixture_course)
    full = fill_answers(
        blank, solution_answers(nbformat.read(fixture_course.source_notebook(FIXTURE_ID), 4))
    )
    write_submission(subs, "alice", FIXTURE_ID, full)
    write_submission(subs, "bob", FIXTURE_ID, fill_answers(full, {"add": "add = lambda a, b: 3"}))
    write_submission(subs, "dave", FIXTURE_ID, "{ not json")
    common = ["--root", str(fixture_course.root), "grade", str(subs), "--quiet"]
    codes = {"local": main([*common, "--out", str(root / "local"), "--workers", "2"])}
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        codes["dask"] = main(
            [*common, "--out", str(root / "dask"), "--scheduler", cluster.scheduler_address]
        )
    return root, codes


def test_dask_cluster_gives_the_local_grades(two_gradings):
    root, codes = two_gradings
    assert codes == {"local": 1, "dask": 1}, "dave's file is not a notebook"
    local = rows_without_timing(root / "local" / "grades.csv")
    assert [(r["student"], r["total"], r["status"]) for r in local] == [
        ("alice", "5", "graded"),
        ("bob", "3", "graded"),
        ("dave", "0", "invalid_notebook"),
    ]
    assert rows_without_timing(root / "dask" / "grades.csv") == local
    for student in ("alice", "bob", "dave"):
        assert (root / "dask" / "feedback" / student / f"{FIXTURE_ID}.html").is_file()
    assert (root / "dask" / "gradebook.db").is_file()


def test_unreachable_scheduler_is_a_usage_error(fixture_course, tmp_path, capsys):
    write_submission(tmp_path / "subs", "ann", FIXTURE_ID, released(fixture_course))
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(
            ["--root", str(fixture_course.root), "grade", str(tmp_path / "subs"), "--quiet"]
            + ["--out", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9"]
        )
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_a_scheduler_without_workers_is_an_error_not_a_wait(fixture_course, tmp_path, monkeypatch):
    from autograde.core import executor

    monkeypatch.setattr(executor, "DASK_WORKER_WAIT_S", 2.0)
    subs = tmp_path / "submissions"
    write_submission(subs, "alice", FIXTURE_ID, released(fixture_course))
    with distributed.LocalCluster(n_workers=0, dashboard_address=None) as cluster:
        code = main(
            ["--root", str(fixture_course.root), "grade", str(subs), "--quiet",
             "--out", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address]
        )  # fmt: skip
    assert code == 2, "no worker is a usage error (exit code 2)"
