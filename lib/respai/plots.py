"""One plotting style for the whole course: colour-blind-safe, labelled, readable.

Colours come from the Okabe-Ito palette [1]_, which stays distinguishable
under the common forms of colour-vision deficiency and in greyscale print.
Nothing here selects a matplotlib backend: notebooks use the inline one and
tests set ``MPLBACKEND=Agg``.

References
----------
.. [1] M. Okabe and K. Ito, "Color Universal Design (CUD): How to make figures
   and presentations that are friendly to colorblind people", 2008.
   https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["OKABE_ITO", "COURSE_RC", "use_course_style", "privacy_utility_plot", "plot_history"]

#: The eight Okabe-Ito colours, in the order the course cycles through them
#: (yellow and black last: yellow is faint on white, black is kept for references).
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: rcParams applied by :func:`use_course_style`; usable with ``matplotlib.rc_context``.
COURSE_RC: dict[str, Any] = {
    "axes.prop_cycle": cycler(color=list(OKABE_ITO.values())),
    "axes.grid": True,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "grid.alpha": 0.3,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
}


def use_course_style() -> None:
    """Apply :data:`COURSE_RC` to matplotlib's global settings.

    Call it once in a notebook's setup cell. To style a single figure
    without changing global state, use
    ``with matplotlib.rc_context(COURSE_RC): ...`` instead.
    """
    mpl.rcParams.update(COURSE_RC)


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
        return ax
    if not isinstance(ax, Axes):
        raise ParameterTypeError(
            f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}."
        )
    return ax


def _finite_1d(name: str, values: object) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise ParameterTypeError(
            f"`{name}` must be a sequence of numbers; got {values!r}."
        ) from err
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ParameterValueError(
            f"`{name}` must be a non-empty 1-D sequence of finite numbers; got {values!r}."
        )
    return arr


def privacy_utility_plot(
    epsilons: object,
    errors: object,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    xlabel: str = "privacy budget ε",
    ylabel: str = "error",
    logx: bool = True,
    baseline: float | None = None,
) -> Axes:
    r"""Plot error against privacy budget :math:`\varepsilon`: the privacy-utility trade-off.

    Smaller :math:`\varepsilon` means stronger privacy and usually larger
    error, so the curve falls from left to right. Call it once per method on
    the same ``ax`` to compare methods.

    Parameters
    ----------
    epsilons : sequence of float
        Privacy budgets (dimensionless, > 0 on a log axis).
    errors : sequence of float
        Error at each budget, same length. Put its unit in ``ylabel``
        (e.g. ``"mean absolute error (people)"``, ``"test error (%)"``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure by default.
    label : str, optional
        Legend entry for this curve.
    xlabel, ylabel : str
        Axis labels, with units.
    logx : bool, default True
        Logarithmic :math:`\varepsilon` axis (budgets usually span decades).
    baseline : float, optional
        Error without privacy, drawn as a dashed black reference line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    eps = _finite_1d("epsilons", epsilons)
    err = _finite_1d("errors", errors)
    if len(eps) != len(err):
        raise ParameterValueError(
            f"`errors` must have one value per epsilon ({len(eps)}); got {len(err)}."
        )
    if logx and np.any(eps <= 0):
        raise ParameterValueError(
            f"`epsilons` must be > 0 on a log axis; got {epsilons!r}. Pass logx=False."
        )
    ax = _axes(ax)
    order = np.argsort(eps)
    ax.plot(eps[order], err[order], marker="o", label=label)
    if baseline is not None:
        ax.axhline(float(baseline), color=OKABE_ITO["black"], linestyle="--", label="no privacy")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if label is not None or baseline is not None:
        ax.legend()
    return ax


def plot_history(history: Any, ax: Axes | None = None) -> Axes:
    """Plot training and validation loss per epoch from a :class:`respai.train.History`.

    Parameters
    ----------
    history : respai.train.History
        Anything with per-epoch lists ``train_loss`` and ``val_loss``.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not hasattr(history, "train_loss") or not hasattr(history, "val_loss"):
        raise ParameterTypeError(
            f"`history` must be a respai.train.History; got {type(history).__name__}."
        )
    if len(history.train_loss) == 0:
        raise ParameterValueError("`history` must hold at least one epoch; got none.")
    ax = _axes(ax)
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, marker="o", label="training")
    if len(history.val_loss):
        ax.plot(epochs[: len(history.val_loss)], history.val_loss, marker="s", label="validation")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (passes over the training set)")
    ax.set_ylabel("loss (mean per example)")
    ax.legend()
    return ax
