"""The one place that names the course's public repository: Colab badge and setup cell.

Every solution notebook's cell tagged ``setup`` must equal
:func:`setup_cell_source`, and its title cell must link :func:`colab_url`;
``tests/notebooks/test_anatomy.py`` checks both, so moving the repository
means changing :data:`COURSE_REPOSITORY` and re-running ``autograde release``.
"""

from __future__ import annotations

__all__ = ["COURSE_REPOSITORY", "setup_cell_source", "colab_url", "colab_badge"]

#: Public repository (GitHub "owner/name") that Colab opens and installs from.
COURSE_REPOSITORY = "responsible-foundation-models/course"


def setup_cell_source() -> str:
    """Source of the setup cell: installs ``respai`` on Colab, does nothing elsewhere."""
    return (
        "# Setup: on Colab, install the course library `respai`; "
        "elsewhere it is already installed.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "respai @ git+https://github.com/{COURSE_REPOSITORY}"'
    )


def colab_url(assignment_id: str) -> str:
    """Colab link of the released (student) notebook of ``assignment_id``."""
    return (
        f"https://colab.research.google.com/github/{COURSE_REPOSITORY}/blob/main/"
        f"notebooks/{assignment_id}/{assignment_id}.ipynb"
    )


def colab_badge(assignment_id: str) -> str:
    """Markdown of the "Open in Colab" badge."""
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(assignment_id)})"
    )
