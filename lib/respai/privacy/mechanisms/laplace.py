"""The Laplace mechanism for numeric queries under pure :math:`\\varepsilon`-DP."""

from __future__ import annotations

import numpy as np

from respai._validation import check_epsilon, check_finite_array, check_rng, check_sensitivity

__all__ = ["laplace_scale", "laplace_mechanism"]


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    r"""Scale :math:`b = \Delta_1 / \varepsilon` of the Laplace noise for an ε-DP release.

    Parameters
    ----------
    sensitivity : float
        L1 sensitivity :math:`\Delta_1 > 0` of the query, in the query's units.
    epsilon : float
        Privacy budget :math:`\varepsilon > 0` (dimensionless).

    Returns
    -------
    float
        The scale :math:`b`, in the query's units. The noise has standard
        deviation :math:`\sqrt{2}\,b` and mean absolute value :math:`b`.

    Examples
    --------
    >>> laplace_scale(sensitivity=1.0, epsilon=0.5)
    2.0
    """
    return check_sensitivity(sensitivity) / check_epsilon(epsilon)


def laplace_mechanism(
    value: float | np.ndarray,
    sensitivity: float,
    epsilon: float,
    *,
    rng: np.random.Generator | int | None = None,
) -> float | np.ndarray:
    r"""Release ``value`` with ε-differential privacy by adding Laplace noise.

    .. math::

        M(x) = f(x) + (Z_1, \dots, Z_k), \qquad
        Z_i \overset{\text{iid}}{\sim}
            \operatorname{Lap}\!\left(0, \frac{\Delta_1 f}{\varepsilon}\right),

    where :math:`\Delta_1 f = \max_{x \sim x'} \lVert f(x) - f(x') \rVert_1` is the
    L1 sensitivity over neighbouring datasets. Each coordinate of an array
    gets its own independent noise draw; ``sensitivity`` must bound the L1
    norm of the change of the *whole* vector.

    Parameters
    ----------
    value : float or array_like
        True answer :math:`f(x)` (finite).
    sensitivity : float
        L1 sensitivity :math:`\Delta_1 f > 0`, same units as ``value``.
    epsilon : float
        Privacy budget :math:`\varepsilon > 0`.
    rng : numpy.random.Generator, int or None, keyword-only
        Source of randomness (a seed gives a reproducible release). NumPy's
        generators are not cryptographically secure and floating-point
        Laplace sampling leaks through its low bits (Mironov 2012); use a
        hardened library such as OpenDP for a deployed release.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar input, otherwise an array of the input's shape.

    Raises
    ------
    ParameterValueError
        If ``epsilon`` or ``sensitivity`` is not a finite number > 0, or
        ``value`` holds NaN or infinity.

    References
    ----------
    Dwork, McSherry, Nissim & Smith (2006), "Calibrating Noise to Sensitivity
    in Private Data Analysis", TCC. Dwork & Roth (2014), *The Algorithmic
    Foundations of Differential Privacy*, Theorem 3.6.

    Examples
    --------
    >>> noisy = laplace_mechanism(100.0, sensitivity=1.0, epsilon=1.0, rng=0)
    >>> round(noisy, 2)
    100.32
    """
    scale = laplace_scale(sensitivity, epsilon)
    true_value = check_finite_array("value", value)
    generator = check_rng(rng)
    noisy = true_value + generator.laplace(loc=0.0, scale=scale, size=true_value.shape)
    return float(noisy) if noisy.ndim == 0 else noisy
