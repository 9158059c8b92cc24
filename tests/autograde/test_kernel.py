"""autograde.core.kernel: a kernel that fails to start is started again, never blamed on code."""

from __future__ import annotations

import subprocess
import sys
import time

from nbformat.v4 import new_code_cell, new_notebook

from autograde.core import kernel


def _notebook():
    return new_notebook(cells=[new_code_cell("x = 6 * 7\nprint(x)")])


def _flaky_start(monkeypatch, failures: int) -> list[int]:
    """Make the first ``failures`` kernel starts fail like a port collision does."""
    calls = []
    real = kernel._BoundedClient.setup_kernel

    def setup_kernel(self, **kwargs):
        calls.append(1)
        if len(calls) <= failures:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(self, **kwargs)

    monkeypatch.setattr(kernel._BoundedClient, "setup_kernel", setup_kernel)
    return calls


def test_a_failed_kernel_start_is_retried(monkeypatch, tmp_path):
    calls = _flaky_start(monkeypatch, failures=kernel.KERNEL_START_ATTEMPTS - 1)
    nb = _notebook()
    run = kernel.execute_cells(nb, cwd=tmp_path, cell_timeout=60, notebook_timeout=120)
    assert run.status == "completed", run.reason
    assert len(calls) == kernel.KERNEL_START_ATTEMPTS
    assert "42" in nb.cells[0].outputs[0]["text"]


def test_a_kernel_that_never_starts_is_crashed_with_the_reason(monkeypatch, tmp_path):
    calls = _flaky_start(monkeypatch, failures=99)
    run = kernel.execute_cells(_notebook(), cwd=tmp_path, cell_timeout=60, notebook_timeout=120)
    assert run.status == "crashed"
    assert "kernel failure: RuntimeError: Kernel died before replying" in run.reason
    assert len(calls) == kernel.KERNEL_START_ATTEMPTS
    assert run.cells[0].status == "not_run"


def test_what_the_kernel_writes_to_its_own_fds_never_reaches_the_graders(capfd, tmp_path):
    # A submission can write past IPython's capture (os.write, C code): 3 MB of it here.
    flood = "import os\nfor _ in range(3):\n    os.write(1, b'Y' * 10**6)\n"
    flood += "    os.write(2, b'Z' * 10**6)"
    nb = new_notebook(cells=[new_code_cell(flood), new_code_cell("print('after')")])
    run = kernel.execute_cells(nb, cwd=tmp_path, cell_timeout=60, notebook_timeout=120)
    out, err = capfd.readouterr()
    assert run.status == "completed", run.reason
    assert "YYYY" not in out and "ZZZZ" not in err, "the kernel's raw output reached the grader"
    assert "after" in nb.cells[1].outputs[0]["text"], "the kernel went on after the flood"


def test_a_cell_can_carry_a_user_expression_evaluated_after_it(tmp_path):
    cells = [new_code_cell("x = 6 * 7"), new_code_cell("y = 1"), new_code_cell("1 / 0")]
    cells[0].metadata["autograde"] = {"expression": "x + 1"}
    cells[2].metadata["autograde"] = {"expression": "x"}
    nb = new_notebook(cells=cells)
    run = kernel.execute_cells(nb, cwd=tmp_path, cell_timeout=60, notebook_timeout=120)
    assert run.cells[0].expression == "43"
    assert run.cells[1].expression is None, "no expression was asked for"
    assert run.cells[2].expression is None, "ipykernel evaluates none after an error"


def test_the_output_drain_stops_though_a_stray_child_holds_the_pipe():
    # Without a uid of its own, a child that left the kernel's process group is not killed;
    # it kept the pipe open, and the drain thread and the pipe stayed for good.
    tail = kernel._OutputTail(1024)
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; print('hi', flush=True); time.sleep(60)"],
        stdout=tail.fd,
    )
    try:
        deadline = time.monotonic() + 30
        while tail.text() != "hi" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tail.text() == "hi"
        tail.close()
        tail._thread.join(timeout=5)
        assert not tail._thread.is_alive(), "the drain waits for the stray child"
    finally:
        child.kill()
        child.wait()


def test_a_huge_exception_message_is_cut_to_the_output_limit(tmp_path):
    """A 5 MB evalue (and traceback) would be copied into the reply, the executed notebook
    and the feedback; the cell still fails with the exception's name."""
    cell = new_code_cell("raise ValueError('<script>' + 'x' * 5_000_000)")
    nb = new_notebook(cells=[cell, new_code_cell("y = 2")])
    run = kernel.execute_cells(
        nb, cwd=tmp_path, cell_timeout=60, notebook_timeout=120, output_limit=100_000
    )
    assert run.cells[0].status == "error" and run.cells[0].ename == "ValueError"
    assert len(run.cells[0].evalue) < 60_000, "the reply's evalue is bounded"
    assert "characters dropped" in run.cells[0].evalue
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "ValueError" and len(error.evalue) < 60_000
    assert sum(len(line) for line in error.traceback) < 60_000, "the traceback is bounded"
    assert run.cells[1].status == "ok", "the next cell runs"
