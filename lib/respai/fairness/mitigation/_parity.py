r"""Parity constraints as a matrix: group rates are averages of predictions.

For a constraint with events :math:`e` (demographic parity: one event, "all
examples"; equalized odds: :math:`Y = 0` and :math:`Y = 1`) and groups
:math:`g`, the rate of group :math:`g` on event :math:`e` is a linear function
of the predictions :math:`h \in [0, 1]^n`,

.. math::

    r_{e,g}(h) = \frac{1}{n_{e,g}} \sum_{i:\, e_i = e,\, g_i = g} h_i = (R\, h)_{e,g},

so every rate difference is a row of a matrix times :math:`h`. With hard
predictions :math:`h_i \in \{0, 1\}` these are selection rates (demographic
parity) or false/true positive rates (equalized odds); with probabilities they
are their differentiable relaxations.
"""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def rate_matrix(constraint: str, y: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Return :math:`R` of shape (events * groups, n): row (e, g) averages over cell (e, g).

    Rows are ordered event-major: ``row = event * n_groups + group``. For
    demographic parity there is one event (every example); for equalized
    odds the events are the labels 0 (false positive rates) and 1 (true
    positive rates).
    """
    events = np.zeros_like(y) if constraint == "demographic_parity" else y
    n_events = 1 if constraint == "demographic_parity" else 2
    cells = events * n_groups + codes
    counts = np.bincount(cells, minlength=n_events * n_groups).astype(float)
    matrix = np.zeros((n_events * n_groups, y.size))
    matrix[cells, np.arange(y.size)] = 1.0 / counts[cells]
    return matrix


def pair_indices(constraint: str, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (a, b) of :math:`R` whose difference :math:`r_a - r_b` is constrained.

    Every ordered pair of distinct groups within the same event, so that
    :math:`r_a - r_b \\le \\varepsilon` for all pairs is exactly
    :math:`\\max_g r_{e,g} - \\min_g r_{e,g} \\le \\varepsilon` for every event.
    """
    n_events = 1 if constraint == "demographic_parity" else 2
    first, second = [], []
    for event in range(n_events):
        for a in range(n_groups):
            for b in range(n_groups):
                if a != b:
                    first.append(event * n_groups + a)
                    second.append(event * n_groups + b)
    return np.asarray(first), np.asarray(second)
