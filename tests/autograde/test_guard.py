"""The static tamper scan: finds code reaching into the grader, never flags the course."""

from __future__ import annotations

import contextlib
import hashlib

import nbformat
import numpy
import pytest
from IPython.core.interactiveshell import InteractiveShell

from autograde.core.cells import is_test
from autograde.core.guard import (
    SECRET_EXPRESSION,
    SNAPSHOT_SOURCE,
    find_tampering,
    read_restore,
    read_secret,
    restore_expression,
    snapshot_source,
)
from autograde.core.spec import build_spec
from tests.autograde.course_helpers import REAL_COURSE

TAMPERING = {
    "np.isclose": "import numpy as np\nnp.isclose = lambda *a, **k: True",
    "alias import": "import numpy.testing as npt\nnpt.assert_allclose = lambda *a, **k: None",
    "from import": "from numpy import testing\ntesting.assert_array_equal = print",
    "builtins": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "builtins dict": "__builtins__.__dict__['abs'] = lambda x: 0",
    "setattr": "import numpy\nsetattr(numpy, 'isclose', lambda *a: True)",
    "ipython events": "get_ipython().events.register('pre_run_cell', print)",
    "transformers": "ip = get_ipython()\nip.input_transformers_cleanup.append(lambda l: [])",
    "custom exc": "get_ipython().set_custom_exc((Exception,), lambda *a, **k: None)",
    "settrace": "import sys\nsys.settrace(None)",
    "audit hook": "import sys\nsys.addaudithook(lambda event, args: None)",
    "frames": "import sys\nsys._getframe(1).f_globals['x'] = 1",
    "sys.modules": "import sys\nsys.modules['numpy'] = None",
    "grader state": "__autograde_restore = lambda: None",
    "scipy": "from scipy import stats\nstats.kstest = lambda *a, **k: (0, 1.0)",
    "user expressions": "get_ipython().user_expressions = lambda expressions: {}",
    "array protocol": "class Liar(np.ndarray):\n    def __array_ufunc__(self, *a, **k):\n"
    "        return np.True_",
    "array function": "class Liar:\n    __array_function__ = lambda *a, **k: True",
    "isinstance": "class Meta(type):\n    def __instancecheck__(cls, obj):\n        return True",
    "caller's source": "import traceback\ndef f():\n    return traceback.format_stack()",
    "from import of a hook": "from sys import settrace\nsettrace(None)",
    "cell sources": "from linecache import getlines",
}

HONEST = {
    "answer": "def laplace_mechanism(value, sensitivity, epsilon, *, rng=None):\n"
    "    rng = np.random.default_rng(rng)\n"
    "    return value + rng.laplace(0, sensitivity / epsilon, size=np.shape(value))",
    "arrays": "import numpy as np\nx = np.zeros(3)\nx[0] = 1\nnp.random.seed(0)",
    "pandas options": "import pandas as pd\npd.options.display.max_rows = 5",
    "magics": "%matplotlib inline\n!ls\nimport math\nmath.sqrt(2)",
    "shadowing a name": "total = sum([1, 2])\nresult = max(total, 3)",
    "own eval": "def eval(model, data):\n    return model(data)\nscore = eval(len, [1, 2])",
    "numpy opt-out": "class Value:\n    __array_ufunc__ = None",
    "setattr on torch": "import torch\nsetattr(torch.backends.cudnn, 'benchmark', False)",
    "a class": "class Point:\n    def __init__(self, x):\n        self.x = x\n\n"
    "    def __eq__(self, other):\n        return self.x == other.x",
}


@pytest.mark.parametrize("name", TAMPERING)
def test_tampering_is_found(name):
    assert find_tampering([(1, TAMPERING[name])]), f"{name} was not flagged"


@pytest.mark.parametrize("name", HONEST)
def test_honest_code_is_not_flagged(name):
    assert find_tampering([(1, HONEST[name])]) == []


@pytest.mark.parametrize(
    "ipython_line", ["np.mean?", "files = !ls", "%time x = 1", "get_ipython().system('ls')"]
)
def test_tampering_next_to_ipython_syntax_is_found(ipython_line):
    # A help query or a shell capture made the whole cell unparsable, so it was skipped.
    cell = f"import numpy as np\n{ipython_line}\nnp.isclose = lambda *a, **k: True"
    (finding,) = find_tampering([(1, cell)])
    assert str(finding) == "cell 1, line 3: rebinds numpy.isclose"


def test_a_cell_that_parses_neither_way_is_skipped():
    assert find_tampering([(1, "import numpy as np\nnp.isclose = (")]) == []


def test_imports_carry_over_between_cells():
    cells = [(1, "import numpy.testing as npt"), (2, "npt.assert_equal = print")]
    (finding,) = find_tampering(cells)
    assert str(finding) == "cell 2, line 1: rebinds numpy.testing.assert_equal"


@pytest.mark.parametrize("assignment_id", REAL_COURSE.assignment_ids())
def test_no_solution_notebook_is_flagged(assignment_id):
    """The instructor's answers and narrative pass the scan grading applies to them.

    Grading scans answer and other cells, not the instructor's test cells, which students
    cannot change.
    """
    nb = nbformat.read(REAL_COURSE.source_notebook(assignment_id), as_version=4)
    cells = [
        (i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code" and not is_test(c)
    ]
    guarded = build_spec(REAL_COURSE, assignment_id).guarded_modules
    assert find_tampering(cells, guarded) == []


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ntorch.equal = lambda *a: True",
        "import torch as t\nsetattr(t, 'allclose', lambda *a, **k: True)",
        "from torch import nn\nnn.Module.__call__ = print",
        "from sklearn import metrics\nmetrics.roc_curve = print",
    ],
)
def test_rebinding_a_module_the_tests_call_is_found(source):
    assert find_tampering([(0, source)]) == []  # torch and sklearn are not guarded everywhere
    assert find_tampering([(0, source)], ("torch", "torch.nn", "sklearn.metrics")) != []


def test_torch_settings_are_not_tampering():
    source = "import torch\ntorch.backends.cudnn.benchmark = False\n" + (
        "setattr(torch.backends.cudnn, 'deterministic', True)"
    )
    assert find_tampering([(0, source)], ("torch",)) == []


def test_a_restore_answer_is_trusted_only_with_the_right_token():
    secret, nonce = "5ec7e7", "n0nce"
    token = hashlib.sha256((secret + nonce).encode()).hexdigest()
    assert read_restore(repr(token), secret, nonce) == []
    found = ["numpy.isclose was replaced", "a tracing or profiling hook was installed"]
    assert read_restore(repr("\n".join([token, *found])), secret, nonce) == found
    assert read_restore(repr(token), secret, "another nonce") is None, "a replayed answer"
    assert read_restore(repr(token), None, nonce) is None, "no secret: nothing can be trusted"
    for forged in (None, "", "''", repr(nonce), "42", "not python", repr([token])):
        assert read_restore(forged, secret, nonce) is None, forged
    assert read_secret(repr(secret)) == secret
    assert read_secret(repr("")) is None and read_secret(None) is None


def test_the_secret_is_given_once():
    shell = InteractiveShell.instance()
    try:
        shell.run_cell(SNAPSHOT_SOURCE)
        secret = read_secret(repr(shell.ev(SECRET_EXPRESSION)))
        assert secret and len(secret) == 32
        assert shell.ev(SECRET_EXPRESSION) == "", "a later call (student code) must get nothing"
        nonce, expression = restore_expression()
        shell.run_cell("import numpy\nvars(numpy)['isclose'] = lambda *a, **k: True")
        assert read_restore(repr(shell.ev(expression)), secret, nonce) == [
            "numpy.isclose was replaced"
        ]
        assert shell.ev("numpy.isclose(1, 2)") is numpy.False_, "the restore put numpy back"
        shell.run_cell("import sys, types\nsys.modules.update(numpy=types.ModuleType('numpy'))")
        assert read_restore(repr(shell.ev(expression)), secret, nonce) == [
            "sys.modules['numpy'] was replaced"
        ]
        assert shell.ev("__import__('numpy')") is numpy
        assert read_restore(repr(shell.ev(expression)), secret, nonce) == [], "nothing undone now"
    finally:
        InteractiveShell.clear_instance()


@contextlib.contextmanager
def _guarded_shell(modules=(), names=()):
    """An IPython shell past the guard's snapshot, and a call that runs one restore."""
    shell = InteractiveShell.instance()
    try:
        shell.run_cell(snapshot_source(modules, names))
        secret = read_secret(repr(shell.ev(SECRET_EXPRESSION)))
        nonce, expression = restore_expression()
        yield shell, lambda: read_restore(repr(shell.ev(expression)), secret, nonce)
    finally:
        InteractiveShell.clear_instance()


def test_modules_classes_and_names_the_tests_use_are_put_back():
    import torch

    names = (("nn", "torch", "nn"), ("reference", "math", "sqrt"))
    with _guarded_shell(("torch", "torch.nn"), names) as (shell, restore):
        shell.run_cell(
            "import torch, math\nfrom torch import nn\nreference = math.sqrt\n"
            "setattr(torch, 'eq' + 'ual', lambda *a: True)\n"
            "setattr(torch.Tensor, 'to' + 'list', lambda self: [1.0])\n"
            "reference, nn = (lambda x: 3.0), None"
        )
        found = restore()
        assert "torch.equal was replaced" in found
        assert "torch.Tensor.tolist was replaced" in found
        assert shell.ev("torch.equal(torch.zeros(1), torch.ones(1))") is False
        assert shell.ev("torch.zeros(2).tolist()") == [0.0, 0.0]
        assert shell.ev("reference(4.0)") == 2.0, "the instructor's import is bound again"
        assert shell.ev("nn") is torch.nn
        assert restore() == [], "nothing undone now"


RIGGED_VALUES = {
    "AlwaysEqual": "AlwaysEqual = type('AlwaysEqual', (float,), {'__eq__': lambda s, o: True})",
    "RiggedTensor": "import torch\nRiggedTensor = type('RiggedTensor', (torch.Tensor,), "
    "{'__torch_function__': classmethod(lambda *a, **k: True)})",
    "ListsOne": "import numpy as np\nListsOne = type('ListsOne', (np.ndarray,), "
    "{'tolist': lambda s: [1]})",
    "float64": "import numpy as np\nF = type('float64', (np.float64,), "
    "{'__module__': 'numpy', '__abs__': lambda s: 0.0})",  # poses as numpy.float64
}


def _about(found: list[str], classname: str) -> list[str]:
    # Classes of earlier tests stay alive in this process; a kernel starts with none.
    return [f for f in found if f.startswith(f"class {classname},")]


@pytest.mark.parametrize("classname", RIGGED_VALUES)
def test_value_classes_made_in_the_notebook_are_reported_once(classname):
    with _guarded_shell(("torch",)) as (shell, restore):
        result = shell.run_cell(RIGGED_VALUES[classname])
        assert result.success, result.error_in_exec
        found = restore()
        assert len(_about(found, classname)) == 1, found
        assert "made in the notebook" in _about(found, classname)[0]
        assert _about(restore(), classname) == [], "reported once"


def test_honest_classes_and_library_values_are_not_reported():
    with _guarded_shell(("torch",)) as (shell, restore):
        shell.run_cell(
            "import enum, torch, numpy as np\n"
            "class Mode(enum.IntEnum):\n    TRAIN = 1\n    EVAL = 2\n"
            "class Point:\n    def __eq__(self, other):\n        return True\n"
            "class Epsilon(float):\n    def __repr__(self):\n        return 'eps'\n"
            "p = torch.nn.Parameter(torch.zeros(2))\nx = np.float64(1.0) == 1.0"
        )
        found = restore()
        for classname in ("Mode", "Point", "Epsilon", "Parameter", "bool"):
            assert _about(found, classname) == [], found
        # numpy's own float64 overrides float's arithmetic (a disguised copy only __abs__).
        assert not any("__add__" in f for f in _about(found, "float64")), found
