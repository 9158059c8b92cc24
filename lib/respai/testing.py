"""Helpers for the test cells of the course notebooks.

The hidden tests of an exercise must not give points to an answer that only
calls (or copies) the library's reference implementation of that same
exercise: :func:`assert_not_reference` checks both.
"""

from __future__ import annotations

import ast
import dis
import inspect
import re
import sys
import textwrap
import threading
import types
from collections.abc import Callable
from typing import Any

__all__ = [
    "SHORTCUT_PREFIX",
    "assert_not_reference",
    "call_watching",
    "is_copy_of",
    "is_shortcut_message",
]

#: Starts every message of :func:`assert_not_reference`. The grader shows
#: messages with this prefix in feedback even when the check is hidden: the
#: text is fixed and reveals nothing of the hidden tests.
SHORTCUT_PREFIX = "No points for this exercise:"
#: The messages this module raises, after the prefix; ``{name}`` and ``{reference}`` are
#: the student's function and the library's (identifiers, so they carry no test source).
_SHORTCUT_TEMPLATES = {
    "copy": "`{name}` is the library's reference implementation {reference} (or a copy of it). "
    "This exercise asks you to implement it yourself.",
    "calls": "`{name}` calls the library's reference implementation {reference}. "
    "This exercise asks you to implement it yourself (NumPy is enough).",
    "blinded": "`{name}` changed the interpreter's profiling hook while it ran, so the check that "
    "it does not call the library's reference implementation could not watch it. "
    "Remove that call.",
}
#: Exactly those messages: the only hidden-test failures the grader shows.
_SHORTCUT_MESSAGES = re.compile(
    "|".join(
        re.escape(f"{SHORTCUT_PREFIX} {template}")
        .replace(re.escape("{name}"), r"[A-Za-z_]\w*")
        .replace(re.escape("{reference}"), r"[A-Za-z_][\w.<>]*")
        for template in _SHORTCUT_TEMPLATES.values()
    )
)


def _shortcut(kind: str, **fields: str) -> str:
    return f"{SHORTCUT_PREFIX} " + _SHORTCUT_TEMPLATES[kind].format(**fields)


def is_shortcut_message(text: str) -> bool:
    """True if ``text`` is exactly one of this module's messages (safe to show from a hidden test).

    A message that only starts with :data:`SHORTCUT_PREFIX` is not enough: a
    submission can raise one itself, with the hidden test's source after it.
    """
    return _SHORTCUT_MESSAGES.fullmatch(text) is not None


def _code_of(function: Callable) -> types.CodeType | None:
    return getattr(inspect.unwrap(function), "__code__", None)


def _body_fingerprint(function: Callable) -> str | None:
    """AST of the function body without its docstring, or None if the source is unavailable.

    Comparing syntax trees, not bytecode, makes the check independent of how
    the code was compiled (a module, a notebook cell, ``exec``).
    """
    try:
        source = textwrap.dedent(inspect.getsource(inspect.unwrap(function)))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    definition = next(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ),
        None,
    )
    if definition is None:
        return None
    body = definition.body
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ):
        body = body[1:]  # the docstring: a copy may drop or reword it
    return "\n".join(ast.dump(statement, annotate_fields=False) for statement in body)


def _is_trivial(fingerprint: str) -> bool:
    # "return 1.0" is the right answer, not a copy: only bodies with some
    # substance (several statements' worth of syntax) can be copied.
    return fingerprint.count("(") < _MIN_COPY_NODES


_MIN_COPY_NODES = 12


def is_copy_of(candidate: Callable, reference: Callable) -> bool:
    """True if ``candidate`` is ``reference`` or a copy of its (non-trivial) body.

    A copy is a function whose body, docstring removed, has the same syntax
    tree as the reference's (pasted source, ``exec(inspect.getsource(...))``).
    Where the candidate's source cannot be read, its bytecode, names and
    constants are compared instead. Very short bodies (``return 1.0``) are
    never called copies: a correct answer may well coincide with them.
    """
    if inspect.unwrap(candidate) is inspect.unwrap(reference):
        return True
    reference_print = _body_fingerprint(reference)
    if reference_print is None or _is_trivial(reference_print):
        return False
    candidate_print = _body_fingerprint(candidate)
    if candidate_print is not None:
        return candidate_print == reference_print
    cand, ref = _code_of(candidate), _code_of(reference)
    if cand is None or ref is None:
        return False
    return _instructions(cand) == _instructions(ref)


def _instructions(code: types.CodeType) -> list[tuple[str, object]]:
    # Method loads compile to LOAD_METHOD or LOAD_ATTR depending on how the code
    # was compiled and specialised; both mean the same thing here.
    return [
        (instruction.opname.replace("LOAD_METHOD", "LOAD_ATTR"), repr(instruction.argval))
        for instruction in dis.get_instructions(code)
        if instruction.opname not in ("RESUME", "CACHE", "NOP")
    ]


def call_watching(
    target_fn: Callable, function: Callable, *args: Any, **kwargs: Any
) -> tuple[Any, bool]:
    """Call ``function(*args, **kwargs)`` and tell whether ``target_fn``'s code ran during it.

    Every Python function call made during the call is watched with
    :func:`sys.setprofile`, so the answer holds however ``target_fn`` was
    imported or aliased (decorators are unwrapped). The previous profiling
    hook is put back afterwards, also when ``function`` raises.

    Raises
    ------
    AssertionError
        (a :data:`SHORTCUT_PREFIX` message) if ``function`` calls
        ``sys.setprofile``, ``sys.settrace`` or ``threading.setprofile``, or
        leaves another profiler installed: it could hide the call it is
        watched for.

    Returns
    -------
    tuple
        What ``function`` returned, and whether ``target_fn``'s code object ran.
    """
    target_code = _code_of(target_fn)
    seen = blinded = False
    hooks = (sys.setprofile, sys.settrace, threading.setprofile)

    def watch(frame: types.FrameType, event: str, arg: object) -> None:
        nonlocal seen, blinded
        if event == "call" and frame.f_code is target_code:
            seen = True
        elif event == "c_call" and any(arg is hook for hook in hooks):
            blinded = True  # the call is about to switch the watch off (or swap it)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        result = function(*args, **kwargs)
    finally:
        # Read before our own sys.setprofile call below, which the watch also sees.
        intact = not blinded and sys.getprofile() is watch
        sys.setprofile(previous)
    if not intact:
        raise AssertionError(
            _shortcut("blinded", name=getattr(function, "__name__", "the function"))
        )
    return result, seen


def assert_not_reference(
    student_fn: Callable, reference_fn: Callable, *args: Any, **kwargs: Any
) -> Any:
    """Call ``student_fn(*args, **kwargs)`` and fail if it runs ``reference_fn``.

    Every Python function call made during the student's call is watched
    (:func:`call_watching`); if the reference's code object runs, however
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
        raise AssertionError(_shortcut("copy", name=name, reference=ref_name))
    result, seen = call_watching(reference_fn, student_fn, *args, **kwargs)
    if seen:
        raise AssertionError(_shortcut("calls", name=name, reference=ref_name))
    return result
