"""Keep a submission's code from changing how the instructor's tests run.

Two layers, because a notebook's code and its tests share one Python process:

1. **A static scan** (:func:`find_tampering`) of the student's code cells for
   code that reaches into the grading machinery: rebinding attributes of
   imported modules (``np.testing.assert_allclose = ...``), changing
   ``builtins``, IPython's hooks (``get_ipython().events``, input and AST
   transformers, custom exception handlers), tracing hooks, ``sys.modules``,
   the interpreter's frames. A finding makes the submission ``tampered``: its
   points are still the ones the (restored) tests give, and the instructor
   sees why in the reason.
2. **A runtime restore**: :func:`snapshot_source` runs before any student
   code and saves the namespaces of the modules tests rely on
   (:data:`GUARDED_MODULES`, and each assignment's own, found by
   :func:`tested_modules` in the instructor's notebook: ``torch`` where the
   tests call ``torch.equal``), the methods of :data:`GUARDED_CLASSES`, and
   the objects the instructor's imports bind to names the tests use; before every
   test segment, and again right after it, :func:`restore_expression` puts
   them back, clears tracing hooks and IPython's extension points, and hides
   student globals that shadow a builtin or a module alias the tests use
   (:data:`UNSHADOW_SOURCE` puts them back after the test). It runs as the
   cell's *user expression*, which ipykernel evaluates with a plain
   ``eval`` after the cell: an input or AST transformer that a submission
   installed (to turn every later cell, tests included, into ``pass``)
   rewrites cells, never that expression. The restore answers with a token
   (SHA-256 of a secret drawn in the kernel before any student code ran, and
   a fresh nonce) and with what it had to undo; the grader checks the token
   (:func:`read_restore`), so a restore that was removed, replaced or never
   ran fails the test that relied on it, and anything found undone makes
   the submission ``tampered``, even when the code that did it hid from the
   static scan. The restore also reports, once each, subclasses of ``int``,
   ``float``, ``complex``, NumPy arrays and scalars and ``torch.Tensor`` that a
   cell made and that override methods (``__eq__``, ``__torch_function__``,
   ``tolist``): values that can answer a test's comparison themselves. It
   cannot undo them: a test that such a value passes keeps its points, and
   the instructor reads why the submission is ``tampered``. Values of plain
   types with instance attributes over their methods (a tensor whose
   ``t.float`` was set) are not found: only the tests can refuse those.

Neither layer is a proof against an adversary who reads this file; the
sandbox (:mod:`autograde.sandbox`) is what protects the machine, the other
students and the hidden tests' files. The kernel checks its own honesty, so
code in it that hides from the scan (``getattr`` with a computed name, for
one) can still forge a pass. Routes a red-team review found (2026-12-07),
each giving a blank notebook full marks with no finding:

* read the secret from the restore function's closure (``__closure__``) and
  answer every restore with a valid token;
* an IPython ``post_execute`` callback that undoes a patch after the test
  body but before the restore expression runs, and unregisters itself;
* wrapping the kernel's ``Session.send`` to drop ``error`` messages and
  turn error replies into ``ok``.

Closing them needs the verdict decided outside the student's process (the
tests run against the answers in a second, clean process), not more checks
inside it. Until then: a result is as trustworthy as nbgrader's, which runs
tests in the student's kernel too; read the code of a submission whose
marks surprise you.
"""

from __future__ import annotations

import ast
import hashlib
import re
import secrets
from dataclasses import dataclass

__all__ = [
    "Finding",
    "find_tampering",
    "SNAPSHOT_SOURCE",
    "snapshot_source",
    "tested_modules",
    "GUARDED_CLASSES",
    "SECRET_EXPRESSION",
    "RESTORE_SOURCE",
    "restore_expression",
    "read_secret",
    "read_restore",
    "UNSHADOW_SOURCE",
]

#: Modules whose attributes tests call; rebinding any of them is tampering.
GUARDED_MODULES = (
    "builtins",
    "math",
    "numpy",
    "numpy.testing",
    "numpy.random",
    "scipy",
    "scipy.stats",
    "pandas",
    "respai",
    "respai.testing",
)
#: Attribute paths under a guarded module that are meant to be set (display settings).
_SETTABLE = ("pandas.options", "numpy.random.seed", "torch.backends")

#: Methods that let an object decide the outcome of the numpy/torch calls tests make on it.
_PROTOCOL_OVERRIDES = (
    "__array_ufunc__",
    "__array_function__",
    "__torch_function__",
    "__torch_dispatch__",
    "__instancecheck__",
    "__subclasscheck__",
)
_SUSPICIOUS_CALLS = {
    ("sys", "settrace"): "installs a tracing hook",
    ("sys", "setprofile"): "installs a profiling hook",
    ("sys", "addaudithook"): "installs an audit hook: it sees every later cell and check",
    ("sys", "_getframe"): "reads the interpreter's frames",
    ("inspect", "currentframe"): "reads the interpreter's frames",
    ("inspect", "stack"): "reads the interpreter's frames",
    ("gc", "get_referrers"): "searches the interpreter's objects",
    ("gc", "get_objects"): "searches the interpreter's objects",
    ("threading", "settrace"): "installs a tracing hook",
    ("traceback", "extract_stack"): "reads the source of the code calling it",
    ("traceback", "format_stack"): "reads the source of the code calling it",
    ("traceback", "print_stack"): "reads the source of the code calling it",
    ("traceback", "walk_stack"): "reads the interpreter's frames",
    ("linecache", "getline"): "reads the source of cells it did not write",
    ("linecache", "getlines"): "reads the source of cells it did not write",
}
#: Where the kernel keeps the guard (in ``sys.modules``).
_GUARD_MODULE = "_autograde_guard"
#: Builtins that IPython and ipykernel themselves swap around each cell (not tampering).
_SHELL_BUILTINS = ("display", "exit", "get_ipython", "input", "quit", "raw_input")
#: Shell methods a submission could replace on the instance; the restore removes such overrides.
_SHELL_METHODS = ("run_cell", "run_cell_async", "showtraceback", "user_expressions")
_IPYTHON_HOOKS = {
    "events": "registers IPython event callbacks",
    "input_transformers_cleanup": "rewrites cells before they run",
    "input_transformers_post": "rewrites cells before they run",
    "ast_transformers": "rewrites cells before they run",
    "set_custom_exc": "replaces IPython's exception handling",
    "run_cell": "replaces how IPython runs cells",
    "run_cell_async": "replaces how IPython runs cells",
    "showtraceback": "replaces IPython's exception handling",
    "register_magic_function": "adds magics",
    "user_expressions": "replaces how the grader's checks are evaluated",
}


@dataclass(frozen=True)
class Finding:
    """One suspicious construct: which cell, which line, what it does."""

    cell_index: int
    line: int
    what: str

    def __str__(self) -> str:
        return f"cell {self.cell_index}, line {self.line}: {self.what}"


def _root_name(node: ast.AST) -> str | None:
    """The name at the bottom of ``a.b().c[0].d``."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(
        self,
        module_aliases: dict[str, str],
        defined: set[str] | None = None,
        guarded: tuple[str, ...] = GUARDED_MODULES,
    ) -> None:
        self.aliases = dict(module_aliases)
        self.guarded = guarded
        self.guarded_heads = {m.split(".")[0] for m in guarded}
        self.shells = {"get_ipython"}  # names bound to the IPython shell
        self.defined = defined if defined is not None else set()  # the student's own functions
        self.findings: list[tuple[int, str]] = []

    def _flag(self, node: ast.AST, what: str) -> None:
        self.findings.append((getattr(node, "lineno", 0), what))

    def _module_of(self, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        if head not in self.aliases:
            return None
        return f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[(alias.asname or alias.name).split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if (node.module, alias.name) in _SUSPICIOUS_CALLS:
                what = _SUSPICIOUS_CALLS[(node.module, alias.name)]
                self._flag(node, f"imports {node.module}.{alias.name}: {what}")
            full = f"{node.module}.{alias.name}" if node.module else alias.name
            if full in self.guarded or full.startswith(("numpy.testing", "builtins")):
                self.aliases[alias.asname or alias.name] = full

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
            return
        if isinstance(target, ast.Attribute):
            dotted = _dotted(target.value)
            module = self._module_of(dotted) if dotted else None
            full = f"{module}.{target.attr}" if module else ""
            if (
                module
                and module.split(".")[0] in self.guarded_heads
                and not full.startswith(_SETTABLE)
            ):
                self._flag(target, f"rebinds {full}")
            elif dotted in ("__builtins__",):
                self._flag(target, f"rebinds builtin {target.attr}")
        if isinstance(target, ast.Subscript):
            dotted = _dotted(target.value)
            module = self._module_of(dotted) if dotted else None
            if dotted and (
                dotted == "sys.modules"
                or dotted.startswith("__builtins__")
                or (module or "").startswith("builtins")
            ):
                self._flag(target, f"replaces an entry of {dotted}")
        if isinstance(target, ast.Name) and target.id == "__builtins__":
            self._flag(target, "replaces __builtins__")
        if isinstance(target, ast.Name) and "autograde" in target.id:
            self._flag(target, f"rebinds the grader's {target.id}")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        if _root_name(node.value) in self.shells:
            self.shells.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.defined.add(node.name)  # a student's own `eval(model, data)` is not the builtin
        if "autograde" in node.name:
            self._flag(node, f"defines the grader's {node.name}")
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            opts_out = isinstance(item, ast.Assign) and (
                isinstance(item.value, ast.Constant) and item.value.value is None
            )  # `__array_ufunc__ = None` makes numpy defer to the class's operators: honest
            if (
                isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Assign))
                and not opts_out
            ):
                names = (
                    [t.id for t in item.targets if isinstance(t, ast.Name)]
                    if isinstance(item, ast.Assign)
                    else [item.name]
                )
                for name in set(names) & set(_PROTOCOL_OVERRIDES):
                    self._flag(item, f"class {node.name} defines {name}: it can answer the "
                                     "tests' numpy or torch checks itself")  # fmt: skip
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_target(target)

    def visit_Name(self, node: ast.Name) -> None:
        if "autograde" in node.id and isinstance(node.ctx, ast.Load):
            self._flag(node, f"uses the grader's {node.id}")

    def visit_Call(self, node: ast.Call) -> None:
        dotted = _dotted(node.func) or ""
        head, _, attr = dotted.rpartition(".")
        module = self._module_of(head) if head else None
        if (module, attr) in _SUSPICIOUS_CALLS:
            self._flag(node, f"{dotted}(): {_SUSPICIOUS_CALLS[(module, attr)]}")
        if dotted in ("setattr", "delattr") and node.args:
            target = _dotted(node.args[0]) or ""
            module = self._module_of(target) or ""
            if target == "__builtins__" or (
                module.split(".")[0] in self.guarded_heads and not module.startswith(_SETTABLE)
            ):
                self._flag(node, f"{dotted}() on module {target}")
        if dotted in ("exec", "eval", "compile") and dotted not in self.defined and node.args:
            if not isinstance(node.args[0], ast.Constant):
                self._flag(node, f"{dotted}() of computed code (not graded code)")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _IPYTHON_HOOKS and _root_name(node.value) in self.shells:
            self._flag(node, f"IPython .{node.attr}: {_IPYTHON_HOOKS[node.attr]}")
        if node.attr in ("f_back", "f_globals", "f_locals", "gi_frame", "tb_frame"):
            self._flag(node, f".{node.attr}: reads the interpreter's frames")
        self.generic_visit(node)


def find_tampering(
    cells: list[tuple[int, str]], guarded_modules: tuple[str, ...] = ()
) -> list[Finding]:
    """Scan ``(cell_index, source)`` pairs of student code; return what reaches into grading.

    Rebinding an attribute of :data:`GUARDED_MODULES` or of ``guarded_modules``
    (those the assignment's tests call, :func:`tested_modules`) is tampering.

    IPython line magics and shell escapes are blanked before parsing (so the
    body of a ``%%time`` cell is scanned as code); a cell that still does not
    parse (``np.mean?``, ``x = !ls`` inside other code) is parsed as IPython
    runs it, after its input transformers; one that parses neither way is
    skipped (running it raises anyway).

    Examples
    --------
    >>> [str(f) for f in find_tampering([(3, "import numpy as np\\nnp.isclose = lambda *a: True")])]
    ['cell 3, line 2: rebinds numpy.isclose']
    """
    findings: list[Finding] = []
    aliases: dict[str, str] = {}
    defined: set[str] = set()
    for index, source in cells:
        tree = _parse_student_cell(source)
        if tree is None:
            continue
        scanner = _Scanner(aliases, defined, (*GUARDED_MODULES, *guarded_modules))
        scanner.visit(tree)
        aliases = scanner.aliases  # imports carry over to later cells, as in the kernel
        findings.extend(Finding(index, line, what) for line, what in scanner.findings)
    return findings


def tested_modules(
    setup_sources: list[str], test_sources: list[str]
) -> tuple[tuple[str, ...], tuple[tuple[str, str, str | None], ...]]:
    """What an assignment's tests reach through modules: to guard them like numpy.

    Parameters
    ----------
    setup_sources : list of str
        The instructor's code cells other than answers and tests (imports,
        narrative), in notebook order.
    test_sources : list of str
        The test cells, hidden parts included.

    Returns
    -------
    modules : tuple of str
        Modules imported by a test, or imported by a setup cell under a name
        that a test uses (``torch`` for ``torch.equal``, ``torch.nn.utils.prune``
        for ``torch_prune.l1_unstructured``). Some may name a function rather
        than a module (``from a import f``): the kernel skips what it cannot
        import.
    names : tuple of (str, str, str or None)
        ``(name, module, attribute)`` for each setup import whose name a test
        uses: ``("nn", "torch", "nn")`` for ``from torch import nn``,
        ``("np", "numpy", None)`` for ``import numpy as np``. Before each test
        the name is bound to that object again, whatever the student bound to it.

    Examples
    --------
    >>> tested_modules(["import torch\nimport numpy as np"], ["assert torch.equal(a, b)"])
    (('torch',), (('torch', 'torch', None),))
    """
    bound: dict[str, tuple[str, str | None]] = {}  # name -> (module, attribute)
    rebound: set[str] = set()  # names the instructor's cells also assign: theirs to change
    for source in setup_sources:
        tree = _parse_student_cell(source)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                rebound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                rebound.add(node.name)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = (alias.name, None)
                    else:
                        head = alias.name.split(".")[0]
                        bound[head] = (head, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        bound[alias.asname or alias.name] = (node.module, alias.name)
    modules: dict[str, None] = {}
    used: dict[str, None] = {}
    for source in test_sources:
        tree = _parse_student_cell(source)
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Import):
                modules.update(dict.fromkeys(alias.name for alias in node.names))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules[node.module] = None
                modules.update(dict.fromkeys(f"{node.module}.{a.name}" for a in node.names))
            elif isinstance(node, ast.Name) and node.id in bound and node.id not in rebound:
                used[node.id] = None
    for name in used:
        module, attribute = bound[name]
        modules[module] = None
        if attribute is not None:
            modules[f"{module}.{attribute}"] = None
    names = tuple((name, *bound[name]) for name in used)
    return tuple(m for m in modules if m.split(".")[0] != "__future__"), names


def _parse_student_cell(source: str) -> ast.Module | None:
    """The cell's syntax tree, magics blanked, else as IPython transforms it; None if neither."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # IPython missing, or code that does not parse: nothing to scan
        return None


# --- runtime ---------------------------------------------------------------

#: Value types (besides int, float, complex) whose subclasses made in a notebook are reported.
_VALUE_ROOTS = (("numpy", "ndarray"), ("numpy", "generic"), ("torch", "Tensor"))
#: What such a subclass may define without being reported: it does not change a value's answers.
_HARMLESS_OVERRIDES = (
    "__dict__", "__doc__", "__module__", "__qualname__", "__weakref__", "__slots__",
    "__init__", "__new__", "__repr__", "__str__", "__format__", "__init_subclass__",
    "__annotations__", "__firstlineno__", "__static_attributes__", "__orig_bases__",
    "__parameters__", "__hash__", "__reduce__", "__reduce_ex__", "__getnewargs__",
    "__getnewargs_ex__", "__getstate__", "__setstate__",
)  # fmt: skip

#: Classes whose methods tests call on values; watched when their module is guarded.
GUARDED_CLASSES = ("torch.Tensor", "torch.nn.Module")


def snapshot_source(
    modules: tuple[str, ...] = (), names: tuple[tuple[str, str, str | None], ...] = ()
) -> str:
    """The guard cell that runs first, before any student code: remember the pristine state.

    Parameters
    ----------
    modules : tuple of str
        Modules the tests call besides :data:`GUARDED_MODULES` (from
        :func:`tested_modules`): imported here, and their public functions,
        classes and submodules put back before every test.
    names : tuple of (str, str, str or None)
        ``(name, module, attribute)``: names the instructor's cells import and
        the tests use, bound to the imported object again before every test.
    """
    return f"""\
def __autograde_make_guard():
    import builtins, hashlib, importlib, os, sys, types
    modules = []
    for name in {[*GUARDED_MODULES, *modules]!r}:
        parent, _, last = name.rpartition(".")
        try:
            if parent:
                owner = importlib.import_module(parent)
                if not isinstance(getattr(owner, last, owner), types.ModuleType):
                    continue  # a function or class of `parent` (guarded with it), not a module
            module = importlib.import_module(name)
        except Exception:  # a broken optional module must not break grading
            continue
        if all(m is not module for m in modules):
            modules.append(module)
    if any(m.__name__ == "torch" for m in modules):
        # torch._dynamo rebinds torch.manual_seed when first imported: do that before the snapshot.
        try:
            importlib.import_module("torch._dynamo")
        except Exception:
            pass

    def public(module):
        # What a test can call through a module: its public functions, classes and submodules.
        return {{
            key: value for key, value in vars(module).items()
            if not key.startswith("_") and (callable(value) or isinstance(value, types.ModuleType))
        }}

    base = {list(GUARDED_MODULES)!r}
    saved = [
        (module, dict(vars(module)) if module.__name__ in base else public(module))
        for module in modules
    ]
    shell = get_ipython()

    def function_in(value):
        # The Python function behind a value (numpy's dispatchers, methods, properties).
        for attribute in ("_implementation", "__func__", "fget"):
            try:
                inner = object.__getattribute__(value, attribute)
            except Exception:
                continue
            if isinstance(inner, types.FunctionType):
                return inner
        return value if isinstance(value, types.FunctionType) else None

    def functions(target):
        # name -> (value, function, code, defaults, keyword defaults): code can be swapped in place.
        table = {{}}
        for name, value in list(vars(target).items()):
            function = function_in(value)
            if function is not None or callable(value):
                kwdefaults = getattr(function, "__kwdefaults__", None)
                table[name] = (
                    value, function, getattr(function, "__code__", None),
                    getattr(function, "__defaults__", None),
                    kwdefaults, dict(kwdefaults) if kwdefaults else None,
                )
        return table

    def added(target, table):
        # Callables put on an instance over its class's, or on a class over a base class's.
        if isinstance(target, type):
            shadows = lambda name: any(name in vars(base) for base in target.__mro__[1:])
        else:
            shadows = lambda name: hasattr(type(target), name)
        return [
            name for name, now in list(vars(target).items())
            if name not in table and name != "CustomTB" and callable(now) and shadows(name)
        ]

    # What runs a cell: the shell, its transformer manager and compiler, the kernel, and
    # their classes. A submission can replace a method there (shell.transform_cell, the
    # kernel's do_execute) to turn every test into `pass`.
    machinery = []
    parts = (shell, shell.input_transformer_manager, shell.compile, getattr(shell, "kernel", None))
    for part in parts:
        if part is None:
            continue
        label = type(part).__name__
        machinery.append((label, part, functions(part)))
        machinery += [
            (f"{{cls.__module__}}.{{cls.__qualname__}}", cls, functions(cls))
            for cls in type(part).__mro__ if cls is not object
        ]
    watched = machinery + [(module.__name__, module, functions(module)) for module in modules]
    for path in {list(GUARDED_CLASSES)!r}:
        owner, _, attribute = path.rpartition(".")
        cls = getattr(sys.modules.get(owner), attribute, None)
        if isinstance(cls, type) and any(m.__name__ == owner for m in modules):
            watched.append((path, cls, functions(cls)))
    hooks = (
        list(shell.input_transformers_cleanup),
        list(shell.input_transformers_post),
        list(shell.ast_transformers),
        {{event: list(callbacks) for event, callbacks in shell.events.callbacks.items()}},
    )
    originals = {list(_SHELL_METHODS)!r}
    builtin_names = [name for name in dir(builtins) if not name.startswith("_")]
    # IPython's own entries (exit, quit, ...) are not student shadows.
    initial = {{name: shell.user_ns[name] for name in builtin_names if name in shell.user_ns}}
    bindings = {{}}  # names the tests use -> the object the instructor's cells bind them to
    aliases = {{"np": "numpy", "pd": "pandas", "math": "math", "stats": "scipy.stats"}}
    for name, module_name in aliases.items():
        if module_name in sys.modules:
            bindings[name] = sys.modules[module_name]
    for name, module_name, attribute in {list(names)!r}:
        try:
            value = importlib.import_module(module_name)
            if attribute is not None:
                try:
                    value = getattr(value, attribute)
                except AttributeError:  # a submodule not imported yet
                    value = importlib.import_module(module_name + "." + attribute)
        except Exception:
            continue
        bindings[name] = value
    hidden = {{}}
    secret, revealed = os.urandom(16).hex(), []
    tracers = (sys.gettrace(), sys.getprofile())  # the grading environment's own, if any
    events = {{}}  # the student's event callbacks (e.g. %matplotlib inline), off during tests
    sha256 = hashlib.sha256

    def reveal():
        # Once, to the grader, before any student code: later calls get nothing.
        if revealed:
            return ""
        revealed.append(True)
        return secret

    rigged = set()  # value classes already reported
    harmless = frozenset({sorted(_HARMLESS_OVERRIDES)!r})
    pristine = dict(sys.modules)  # the modules before any student code, for made_in_notebook

    def undone():
        found = []
        for module, namespace in saved:
            if sys.modules.get(module.__name__) is not module:
                found.append(f"sys.modules[{{module.__name__!r}}] was replaced")
            current = vars(module)
            for key, value in namespace.items():
                if current.get(key, undone) is not value and not key.startswith("_"):
                    if module is builtins and key in {sorted(_SHELL_BUILTINS)!r}:
                        continue
                    if callable(value) or isinstance(value, types.ModuleType):
                        found.append(f"{{module.__name__}}.{{key}} was replaced")
        for label, target, table in watched:
            current = vars(target)
            for name, (value, function, code, defaults, kwdefaults, items) in table.items():
                now = current.get(name, undone)
                if name == "CustomTB":
                    continue  # set_custom_exc, which restore() calls, rebinds it
                if now is not value:
                    if not isinstance(target, types.ModuleType):  # modules: checked above
                        found.append(f"{{label}}.{{name}} was replaced")
                elif function is not None and (
                    function.__code__ is not code
                    or function.__defaults__ is not defaults
                    or function.__kwdefaults__ is not kwdefaults
                    or (items and any(kwdefaults.get(k, undone) is not v for k, v in items.items()))
                ):
                    found.append(f"the code of {{label}}.{{name}} was replaced")
            if not isinstance(target, types.ModuleType):
                found += [
                    f"{{label}}.{{name}} was replaced"
                    for name in added(target, table)
                ]
        if sys.gettrace() is not tracers[0] or sys.getprofile() is not tracers[1]:
            found.append("a tracing or profiling hook was installed")
        lists = ("input_transformers_cleanup", "input_transformers_post", "ast_transformers")
        for name, before in zip(lists, hooks):
            if list(getattr(shell, name)) != before:
                found.append(f"IPython's {{name}} were changed")
        if shell.custom_exceptions:
            found.append("a custom exception handler was set")
        replaced = [name for name in originals if name in shell.__dict__]
        found += [f"IPython's {{name}} was replaced" for name in replaced]
        if shell.user_ns.get("__builtins__") is not builtins:
            found.append("__builtins__ was replaced")
        return found + rigged_values()

    def made_in_notebook(cls):
        # Not importable under its own name: made by a cell, not by a library. Read through
        # type's own descriptors, which a metaclass cannot override.
        module_name = type.__dict__["__module__"].__get__(cls)
        qualname = type.__dict__["__qualname__"].__get__(cls)
        value = None if module_name == "__main__" else (
            pristine.get(module_name) or sys.modules.get(module_name)
        )
        for part in qualname.split(".") if value is not None else ():
            value = getattr(value, part, None)
        return value is not cls

    def rigged_values():
        # Subclasses of the values tests compare (numbers, arrays, tensors) that a cell made
        # and that override methods: a value that can answer the tests' checks itself. Each
        # class is reported once, when first seen: a class cannot be undone.
        roots = [int, float, complex]
        for module_name, attribute in {list(_VALUE_ROOTS)!r}:
            root = getattr(sys.modules.get(module_name), attribute, None)
            if isinstance(root, type):
                roots.append(root)
        found, seen = [], set()
        for root in roots:
            stack = [root]
            while stack:
                for cls in type.__subclasses__(stack.pop()):
                    if cls in seen:
                        continue
                    seen.add(cls)
                    stack.append(cls)
                    if cls in rigged:
                        continue
                    namespace = type.__dict__["__dict__"].__get__(cls)
                    overrides = sorted(
                        name for name, value in namespace.items()
                        if name not in harmless
                        and (callable(value) or isinstance(value, (property, classmethod)))
                        and not (name.startswith("_") and not name.startswith("__"))
                    )
                    if overrides and made_in_notebook(cls):
                        rigged.add(cls)
                        found.append(
                            f"class {{cls.__qualname__}}, a {{root.__module__}}."
                            f"{{root.__qualname__}} made in the notebook, overrides "
                            f"{{', '.join(overrides[:6])}}: "
                            "a value that can answer the tests' checks itself"
                        )
        return found

    def restore(nonce=""):
        found = undone()
        for module, namespace in saved:
            sys.modules[module.__name__] = module
            current = vars(module)
            for key, value in namespace.items():
                if current.get(key, restore) is not value:
                    current[key] = value
        for label, target, table in watched:
            current = vars(target)
            for name, (value, function, code, defaults, kwdefaults, items) in table.items():
                if current.get(name, restore) is not value:
                    try:
                        setattr(target, name, value)
                    except (AttributeError, TypeError):
                        pass
                if function is not None:
                    function.__code__, function.__defaults__ = code, defaults
                    function.__kwdefaults__ = kwdefaults
                    if items:
                        kwdefaults.clear()
                        kwdefaults.update(items)
            if not isinstance(target, types.ModuleType):
                for name in added(target, table):
                    try:
                        delattr(target, name)
                    except (AttributeError, TypeError):
                        pass
        sys.settrace(tracers[0])
        sys.setprofile(tracers[1])
        shell.input_transformers_cleanup[:] = hooks[0]
        shell.input_transformers_post[:] = hooks[1]
        shell.ast_transformers[:] = hooks[2]
        for event, callbacks in hooks[3].items():
            events.setdefault(event, list(shell.events.callbacks[event]))
            shell.events.callbacks[event][:] = callbacks
        shell.set_custom_exc((), None)
        for name in originals:
            shell.__dict__.pop(name, None)
        user = shell.user_ns
        user["__builtins__"] = builtins
        for name in builtin_names:
            value = user.get(name, restore)
            if value is not restore and value is not getattr(builtins, name):
                if value is not initial.get(name, restore):
                    hidden[name] = user.pop(name)
        for name, value in bindings.items():
            if name in user and user[name] is not value:
                hidden[name] = user[name]
                user[name] = value
        token = sha256((secret + nonce).encode()).hexdigest()
        return "\\n".join([token, *found])

    def unshadow():
        shell.user_ns.update(hidden)
        hidden.clear()
        for event, callbacks in events.items():
            shell.events.callbacks[event][:] = callbacks
        events.clear()

    return reveal, restore, unshadow


def __autograde_install():
    import sys, types
    guard = types.ModuleType({_GUARD_MODULE!r})
    guard.secret, guard.restore, guard.unshadow = __autograde_make_guard()
    # In sys.modules, not only in the notebook's namespace: an honest `%reset -f` empties that.
    sys.modules[guard.__name__] = guard


__autograde_install()
del __autograde_make_guard, __autograde_install
"""


#: The guard cell for tests that call only :data:`GUARDED_MODULES`.
SNAPSHOT_SOURCE = snapshot_source()

#: The snapshot cell's user expression: the kernel's secret, given once to the grader.
SECRET_EXPRESSION = f"__import__('sys').modules[{_GUARD_MODULE!r}].secret()"

#: Source of the cell before every test segment (the restore itself is its user expression).
RESTORE_SOURCE = "# autograde: the pristine state is restored here"

#: Runs after every test segment: the student's own globals come back.
UNSHADOW_SOURCE = f"__import__('sys').modules[{_GUARD_MODULE!r}].unshadow()"


def restore_expression() -> tuple[str, str]:
    """A fresh ``(nonce, expression)`` that restores the pristine state and answers with a token."""
    nonce = secrets.token_hex(8)
    return nonce, f"__import__('sys').modules[{_GUARD_MODULE!r}].restore({nonce!r})"


def read_secret(value: str | None) -> str | None:
    """The secret from the snapshot cell's expression value (its ``repr``), or None."""
    text = _literal_str(value)
    return text or None


def read_restore(value: str | None, secret: str | None, nonce: str) -> list[str] | None:
    """What a restore found undone (``[]``: nothing), or None if its token is not the expected one.

    None means the restore cannot be trusted to have run: it was removed,
    replaced, raised, or its cell failed before it (ipykernel evaluates a user
    expression only after a cell that ran without error).
    """
    text = _literal_str(value)
    if secret is None or text is None:
        return None
    token, *found = text.split("\n")
    expected = hashlib.sha256((secret + nonce).encode()).hexdigest()
    return found if secrets.compare_digest(token, expected) else None


def _literal_str(value: str | None) -> str | None:
    # A student's pretty-printer (rich, %load_ext rich) colours the value: drop the colours.
    value = re.sub(r"\x1b\[[0-9;]*m", "", value) if value else value
    try:
        text = ast.literal_eval(value.strip()) if value else None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return text if isinstance(text, str) else None
