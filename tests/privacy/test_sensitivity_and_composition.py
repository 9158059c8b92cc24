import numpy as np
import pytest

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.composition import sequential_composition, split_budget
from respai.privacy.sensitivity import (
    bounded_sum_sensitivity,
    clipped_mean_sensitivity,
    count_sensitivity,
)


def brute_force_sensitivity(query, lower, upper, n, grid=5):
    """Max |f(x) - f(x')| over n-value datasets on a grid in [lower, upper], one record replaced."""
    values = np.linspace(lower, upper, grid)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(300):
        x = rng.choice(values, size=n)
        for i in range(n):
            for v in values:
                y = x.copy()
                y[i] = v
                worst = max(worst, abs(query(x) - query(y)))
    return worst


def test_sensitivities_match_brute_force_over_neighbouring_datasets():
    lower, upper, n = -2.0, 5.0, 4
    assert bounded_sum_sensitivity(lower, upper) == pytest.approx(
        brute_force_sensitivity(np.sum, lower, upper, n)
    )
    assert clipped_mean_sensitivity(lower, upper, n) == pytest.approx(
        brute_force_sensitivity(np.mean, lower, upper, n)
    )
    count_positive = lambda x: float(np.sum(x > 0))  # noqa: E731
    assert count_sensitivity() == brute_force_sensitivity(count_positive, lower, upper, n)


@pytest.mark.parametrize("lower, upper", [(1, 1), (2, 1), (0, float("inf")), (float("nan"), 1)])
def test_bad_bounds(lower, upper):
    with pytest.raises(
        ParameterValueError, match="`lower` and `upper` must be finite with lower < upper"
    ):
        bounded_sum_sensitivity(lower, upper)


def test_bad_n():
    with pytest.raises(ParameterValueError, match="`n` must be a positive integer; got 0"):
        clipped_mean_sensitivity(0, 1, 0)
    with pytest.raises(ParameterTypeError, match="`n` must be a positive integer"):
        clipped_mean_sensitivity(0, 1, 2.5)


def test_split_budget_sums_to_total_and_composes_back():
    for total, k in [(1.0, 1), (1.0, 3), (0.3, 7)]:
        parts = split_budget(total, k)
        assert parts.shape == (k,)
        assert np.allclose(parts, total / k)
        assert sequential_composition(parts) == pytest.approx(total)


def test_composition_bad_input():
    with pytest.raises(
        ParameterValueError, match=r"`epsilons\[1\]` must be a finite number > 0; got -0.5"
    ):
        sequential_composition([1.0, -0.5])
    with pytest.raises(ParameterValueError, match="`epsilons` must be non-empty"):
        sequential_composition([])
    with pytest.raises(ParameterValueError, match="`total_epsilon`"):
        split_budget(0, 3)
    with pytest.raises(ParameterValueError, match="`n_queries`"):
        split_budget(1.0, 0)
