"""Noise-adding mechanisms: Laplace, randomized response, Gaussian."""

from respai.privacy.mechanisms.gaussian import (
    analytic_gaussian_sigma,
    classical_gaussian_sigma,
    gaussian_delta,
    gaussian_mechanism,
)
from respai.privacy.mechanisms.laplace import laplace_mechanism, laplace_scale
from respai.privacy.mechanisms.randomized_response import (
    randomized_response,
    randomized_response_estimate,
    randomized_response_probability,
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
    "gaussian_mechanism",
]
