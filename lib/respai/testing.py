"""Helpers for the test cells of the course notebooks.

The hidden tests of an exercise must not give points to an answer that only
calls (or copies) the library's reference implementation of that same
exercise: :func:`assert_not_reference` checks both.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["assert_not_reference", "is_copy_of"]


def _code_of(function: Callable) -> types.CodeType | None:
    return getattr(inspect.unwrap(function), "__code__", None)


def is_copy_of(candidate: Callable, reference: Callable) -> bool:
    """True if ``candidate`` is ``reference`` or compiles to the same bytecode.

    A copy made with ``exec(inspect.getsource(reference))`` or by pasting the
    library's source compiles to identical bytecode, names and constants.
    """
    cand, ref = _code_of(candidate), _code_of(reference)
    if cand is None or ref is None:
        return inspect.unwrap(candidate) is inspect.unwrap(reference)
    if cand is ref:
        return True
    return (cand.co_code, cand.co_names, cand.co_consts[1:]) == (
        ref.co_code,
        ref.co_names,
        ref.co_consts[1:],  # co_consts[0] is the docstring, which a copy may drop
    )


def assert_not_reference(
    student_fn: Callable, reference_fn: Callable, *args: Any, **kwargs: Any
) -> Any:
    """Call ``student_fn(*args, **kwargs)`` and fail if it runs ``reference_fn``.

    Every Python function call made during the student's call is watched
    with :func:`sys.setprofile`; if the reference's code object runs, however
    it was imported or aliased, the check fails. Copies are caught by
    :func:`is_copy_of`.

    Returns
    -------
    Any
        What ``student_fn`` returned, so the test can go on checking it.

    Raises
    ------
    AssertionError
        With a message the student sees in their feedback.
    """
    name = getattr(student_fn, "__name__", repr(student_fn))
    ref_name = f"{reference_fn.__module__}.{reference_fn.__qualname__}"
    if is_copy_of(student_fn, reference_fn):
        raise AssertionError(
            f"`{name}` is the library's reference implementation {ref_name} (or a copy of it). "
            "This exercise asks you to implement it yourself; it earns no points."
        )
    reference_code = _code_of(reference_fn)
    seen = False

    def watch(frame: types.FrameType, event: str, arg: object) -> None:
        nonlocal seen
        if event == "call" and frame.f_code is reference_code:
            seen = True

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = student_fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    if seen:
        raise AssertionError(
            f"`{name}` calls the library's reference implementation {ref_name}. "
            "This exercise asks you to implement it yourself (NumPy is enough); "
            "an answer that delegates to the reference earns no points."
        )
    return result
