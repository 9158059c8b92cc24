"""Fixtures of the autograde tests.

Notebook executions dominate test time (2-3 s of kernel start-up each), so
each module grades its submissions in one parallel batch from a module-scoped
fixture. Slow end-to-end tests on the real notebooks are marked ``slow`` and
grouped per module (``xdist_group``) so ``pytest -n 2 --dist loadgroup`` runs
each expensive batch once.
"""

from __future__ import annotations

import pytest

from autograde.core.course import Course
from tests.autograde.course_helpers import copy_course


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: end-to-end test that executes real notebooks")


@pytest.fixture(scope="session")
def fixture_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """Released fixture course; read-only for tests (copy it with ``copy_course`` to edit)."""
    return copy_course(tmp_path_factory.mktemp("course") / "course")
