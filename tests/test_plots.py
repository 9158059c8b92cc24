"""Tests for respai.plots: palette, style, and labelled plots (MPLBACKEND=Agg in CI)."""

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import pytest

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.plots import (
    COURSE_RC,
    OKABE_ITO,
    plot_history,
    privacy_utility_plot,
    use_course_style,
)
from respai.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_okabe_ito_palette_is_the_published_one():
    published = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                 "#CC79A7"}  # fmt: skip
    assert set(OKABE_ITO.values()) == published
    assert all(mcolors.is_color_like(c) for c in OKABE_ITO.values())


def test_use_course_style_sets_palette_and_grid_and_can_be_scoped():
    default_cycle = matplotlib.rcParams["axes.prop_cycle"]
    with matplotlib.rc_context():
        use_course_style()
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert colours == list(OKABE_ITO.values())
        assert matplotlib.rcParams["axes.grid"] is True
    assert matplotlib.rcParams["axes.prop_cycle"] == default_cycle
    assert "backend" not in COURSE_RC


def test_privacy_utility_plot_labels_log_axis_and_sorts_points():
    ax = privacy_utility_plot([1.0, 0.1, 10.0], [0.2, 0.9, 0.05], label="Laplace",
                              ylabel="mean absolute error (people)", baseline=0.01)  # fmt: skip
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "privacy budget ε"
    assert ax.get_ylabel() == "mean absolute error (people)"
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, [0.1, 1.0, 10.0])
    np.testing.assert_array_equal(y, [0.9, 0.2, 0.05])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["Laplace", "no privacy"]


def test_privacy_utility_plot_draws_on_given_axes_linear():
    _, ax = plt.subplots()
    out = privacy_utility_plot([0.0, 1.0], [1.0, 0.5], ax=ax, logx=False)
    assert out is ax and ax.get_xscale() == "linear"


@pytest.mark.parametrize(
    ("eps", "err", "kwargs", "error", "match"),
    [
        ([1.0, 2.0], [0.1], {}, ParameterValueError, "one value per epsilon"),
        ([0.0, 1.0], [0.1, 0.2], {}, ParameterValueError, "`epsilons` must be > 0 on a log axis"),
        ([1.0, np.nan], [0.1, 0.2], {}, ParameterValueError, "`epsilons` must be a non-empty"),
        ([], [], {}, ParameterValueError, "`epsilons` must be a non-empty"),
        (["a"], [0.1], {}, ParameterTypeError, "`epsilons` must be a sequence of numbers"),
        ([1.0], [0.1], {"ax": "ax"}, ParameterTypeError, "`ax` must be a matplotlib Axes"),
    ],
)
def test_privacy_utility_plot_validates(eps, err, kwargs, error, match):
    with pytest.raises(error, match=match):
        privacy_utility_plot(eps, err, **kwargs)


def test_plot_history_draws_both_curves_with_labelled_axes():
    history = History(train_loss=[1.0, 0.6, 0.4], val_loss=[1.1, 0.7, 0.5])
    ax = plot_history(history)
    assert len(ax.lines) == 2
    assert "epoch" in ax.get_xlabel() and "loss" in ax.get_ylabel()
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])


def test_plot_history_rejects_empty_and_foreign_objects():
    with pytest.raises(ParameterValueError, match="at least one epoch"):
        plot_history(History())
    with pytest.raises(ParameterTypeError, match="`history` must be a respai.train.History"):
        plot_history({"train_loss": [1.0]})
