"""The anti-shortcut check used by hidden tests."""

import importlib
import inspect
import sys

import numpy as np
import pytest

from respai.privacy import mechanisms
from respai.privacy.mechanisms import laplace_mechanism as aliased_reference
from respai.testing import (
    SHORTCUT_PREFIX,
    assert_not_reference,
    call_watching,
    is_copy_of,
    is_shortcut_message,
)


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


def test_a_pasted_copy_fails_even_when_compiled_elsewhere():
    source = inspect.getsource(mechanisms.laplace.laplace_mechanism)
    namespace = dict(vars(mechanisms.laplace))
    # compiled as a notebook cell would be, without the module's __future__ flags
    exec(compile(source.replace('"""', "'''", 2), "<ipython-input-1>", "exec"), namespace)  # noqa: S102
    assert is_copy_of(namespace["laplace_mechanism"], mechanisms.laplace_mechanism)


def test_a_trivial_correct_answer_is_not_a_copy():
    from respai.privacy.sensitivity import count_sensitivity

    def student_count_sensitivity():
        return 1.0

    assert not is_copy_of(student_count_sensitivity, count_sensitivity)
    assert assert_not_reference(student_count_sensitivity, count_sensitivity) == 1.0


def test_split_budget_copy_is_detected():
    from respai.privacy.composition import split_budget

    namespace = dict(vars(importlib.import_module("respai.privacy.composition")))
    exec(inspect.getsource(split_budget), namespace)  # noqa: S102
    assert is_copy_of(namespace["split_budget"], split_budget)


def test_call_watching_sees_aliased_and_nested_calls_and_restores_the_profiler():
    def outer_hook(frame, event, arg):
        return None

    sys.setprofile(outer_hook)
    try:
        result, ran = call_watching(mechanisms.laplace_mechanism, nested, 0.0, 1.0, 1.0, rng=0)
        assert ran and np.isfinite(result)
        assert sys.getprofile() is outer_hook
        assert call_watching(mechanisms.laplace_mechanism, delegating, 0.0, 1.0, 1.0, rng=0)[1]
        assert call_watching(mechanisms.laplace_mechanism, honest, 0.0, 1.0, 1.0, rng=0)[1] is False
        with pytest.raises(ZeroDivisionError):
            call_watching(mechanisms.laplace_mechanism, lambda: 1 / 0)
        assert sys.getprofile() is outer_hook
    finally:
        sys.setprofile(None)


def test_a_function_that_switches_the_watch_off_fails_the_check():
    def _reference(x):
        return x + 1

    def switches_it_off(x):
        getattr(sys, "setpro" + "file")(None)  # dodges a static scan for sys.setprofile
        return _reference(x)

    def swaps_it_and_back(x):
        watch = sys.getprofile()
        sys.setprofile(None)
        result = _reference(x)
        sys.setprofile(watch)
        return result

    for blinding in (switches_it_off, swaps_it_and_back):
        with pytest.raises(AssertionError, match="changed the interpreter's profiling hook") as err:
            assert_not_reference(blinding, _reference, 1)
        assert is_shortcut_message(str(err.value))
        assert sys.getprofile() is None, "the previous hook is back"
    assert assert_not_reference(lambda x: x + 1, _reference, 1) == 2, "honest code passes"


def test_only_the_exact_shortcut_messages_are_recognised():
    def _reference(x):
        return x

    def cheat(x):
        return _reference(x)

    with pytest.raises(AssertionError) as err:
        assert_not_reference(cheat, _reference, 1)
    assert is_shortcut_message(str(err.value))
    # A submission can raise the prefix itself, with a hidden test's source after it.
    assert not is_shortcut_message(f"{SHORTCUT_PREFIX} assert np.isclose(hidden(3), 7)")
    assert not is_shortcut_message(str(err.value) + " assert hidden(3) == 7")
