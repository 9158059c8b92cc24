"""Noise-adding mechanisms: Laplace, randomized response, Gaussian, snapping."""

from respai.privacy.mechanisms.gaussian import (
    analytic_gaussian_sigma,
    classical_gaussian_sigma,
    gaussian_delta,
    gaussian_epsilon,
    gaussian_mechanism,
)
from respai.privacy.mechanisms.laplace import laplace_mechanism, laplace_scale
from respai.privacy.mechanisms.naive_laplace import (
    naive_laplace_mechanism,
    naive_laplace_sample,
)
from respai.privacy.mechanisms.randomized_response import (
    randomized_response,
    randomized_response_estimate,
    randomized_response_probability,
)
from respai.privacy.mechanisms.snapping import (
    snapping_epsilon,
    snapping_grid,
    snapping_mechanism,
)

__all__ = [
    "laplace_scale",
    "laplace_mechanism",
    "randomized_response_probability",
    "randomized_response",
    "randomized_response_estimate",
    "gaussian_delta",
    "classical_gaussian_sigma",
    "analytic_gaussian_sigma",
    "gaussian_epsilon",
    "gaussian_mechanism",
    "naive_laplace_sample",
    "naive_laplace_mechanism",
    "snapping_grid",
    "snapping_epsilon",
    "snapping_mechanism",
]
