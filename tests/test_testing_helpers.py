"""The anti-shortcut check used by hidden tests."""

import inspect

import numpy as np
import pytest

from respai.privacy import mechanisms
from respai.privacy.mechanisms import laplace_mechanism as aliased_reference
from respai.testing import assert_not_reference, is_copy_of


def honest(value, sensitivity, epsilon, *, rng=None):
    rng = np.random.default_rng(rng)
    return value + rng.laplace(0.0, sensitivity / epsilon)


def delegating(value, sensitivity, epsilon, *, rng=None):
    return aliased_reference(value, sensitivity, epsilon, rng=rng)


def nested(value, sensitivity, epsilon, *, rng=None):
    helper = lambda: mechanisms.laplace_mechanism(value, sensitivity, epsilon, rng=rng)  # noqa: E731
    return helper()


def test_an_honest_answer_passes_and_its_result_is_returned():
    assert assert_not_reference(
        honest, mechanisms.laplace_mechanism, 0.0, 1.0, 1.0, rng=0
    ) == honest(0.0, 1.0, 1.0, rng=0)


@pytest.mark.parametrize("student", [delegating, nested, mechanisms.laplace_mechanism])
def test_calling_or_being_the_reference_fails(student):
    with pytest.raises(AssertionError, match="reference implementation"):
        assert_not_reference(student, mechanisms.laplace_mechanism, 0.0, 1.0, 1.0, rng=0)


def test_a_copy_made_with_inspect_fails():
    namespace = dict(vars(mechanisms.laplace))
    exec(inspect.getsource(mechanisms.laplace.laplace_mechanism), namespace)  # noqa: S102
    copied = namespace["laplace_mechanism"]
    assert copied is not mechanisms.laplace_mechanism
    assert is_copy_of(copied, mechanisms.laplace_mechanism)
    with pytest.raises(AssertionError, match="or a copy of it"):
        assert_not_reference(copied, mechanisms.laplace_mechanism, 0.0, 1.0, 1.0, rng=0)


def test_profile_hook_is_restored_even_when_the_student_raises():
    import sys

    def broken(*args, **kwargs):
        raise NotImplementedError

    with pytest.raises(NotImplementedError):
        assert_not_reference(broken, mechanisms.laplace_mechanism)
    assert sys.getprofile() is None
