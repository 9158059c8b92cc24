"""Tests for respai.runtime: device selection and global seeding."""

import random

import numpy as np
import pytest
import torch

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.runtime import device, seed_everything


@pytest.fixture(autouse=True)
def _restore_global_rngs():
    # seed_everything changes process-wide state; give it back to other tests.
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    yield
    random.setstate(states[0])
    np.random.set_state(states[1])
    torch.set_rng_state(states[2])


def test_device_default_is_best_available():
    expected = "cuda" if torch.cuda.is_available() else None
    dev = device()
    assert isinstance(dev, torch.device)
    assert dev.type in {"cuda", "mps", "cpu"}
    if expected:
        assert dev.type == expected


def test_device_prefer_cpu_always_works():
    assert device("cpu") == torch.device("cpu")
    assert device("CPU") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_prefer_unavailable_is_an_error_not_a_fallback():
    with pytest.raises(ParameterValueError, match="`prefer` must name an available device"):
        device("cuda")


@pytest.mark.parametrize("bad", ["tpu", "gpu", ""])
def test_device_rejects_unknown_names(bad):
    with pytest.raises(ParameterValueError, match="`prefer` must be one of"):
        device(bad)


def test_device_rejects_non_strings():
    with pytest.raises(ParameterTypeError, match="`prefer`"):
        device(0)


def _draws():
    return random.random(), np.random.rand(), torch.rand(1).item()


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(123)
    first = _draws()
    seed_everything(123)
    assert _draws() == first
    seed_everything(124)
    assert _draws() != first


def test_seed_everything_accepts_numpy_integers_and_extremes():
    seed_everything(np.int64(7))
    seed_everything(0)
    seed_everything(2**32 - 1)


@pytest.mark.parametrize("bad", [1.5, "0", None, True])
def test_seed_everything_rejects_non_integers(bad):
    with pytest.raises(ParameterTypeError, match="`seed` must be a non-negative integer"):
        seed_everything(bad)


@pytest.mark.parametrize("bad", [-1, 2**32])
def test_seed_everything_rejects_out_of_range(bad):
    with pytest.raises(
        ParameterValueError, match=r"`seed` must be an integer in \[0, 2\*\*32 - 1\]"
    ):
        seed_everything(bad)
