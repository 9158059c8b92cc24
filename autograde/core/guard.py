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
2. **A runtime restore**: :data:`SNAPSHOT_SOURCE` runs before any student
   code and saves the namespaces of the modules tests rely on;
   :data:`RESTORE_SOURCE` runs before every test segment and puts them back,
   clears tracing hooks and IPython's extension points, and hides student
   globals that shadow a builtin or a module alias the tests use (they are
   put back after the test).

Neither layer is a proof against an adversary who reads this file; the
sandbox (:mod:`autograde.sandbox`) is what protects the machine, the other
students and the hidden tests' files.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["Finding", "find_tampering", "SNAPSHOT_SOURCE", "RESTORE_SOURCE", "UNSHADOW_SOURCE"]

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
_SETTABLE = ("pandas.options", "numpy.random.seed")

_SUSPICIOUS_CALLS = {
    ("sys", "settrace"): "installs a tracing hook",
    ("sys", "setprofile"): "installs a profiling hook",
    ("sys", "_getframe"): "reads the interpreter's frames",
    ("inspect", "currentframe"): "reads the interpreter's frames",
    ("inspect", "stack"): "reads the interpreter's frames",
    ("gc", "get_referrers"): "searches the interpreter's objects",
    ("gc", "get_objects"): "searches the interpreter's objects",
    ("threading", "settrace"): "installs a tracing hook",
}
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
    def __init__(self, module_aliases: dict[str, str]) -> None:
        self.aliases = dict(module_aliases)
        self.shells = {"get_ipython"}  # names bound to the IPython shell
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
            full = f"{node.module}.{alias.name}" if node.module else alias.name
            if full in GUARDED_MODULES or full.startswith(("numpy.testing", "builtins")):
                self.aliases[alias.asname or alias.name] = full

    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._check_target(element)
            return
        if isinstance(target, ast.Attribute):
            dotted = _dotted(target.value)
            module = self._module_of(dotted) if dotted else None
            guarded = {m.split(".")[0] for m in GUARDED_MODULES}
            full = f"{module}.{target.attr}" if module else ""
            if module and module.split(".")[0] in guarded and not full.startswith(_SETTABLE):
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
        if "autograde" in node.name:
            self._flag(node, f"defines the grader's {node.name}")
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
            if target == "__builtins__" or self._module_of(target):
                self._flag(node, f"{dotted}() on module {target}")
        if dotted in ("exec", "eval", "compile") and node.args:
            if not isinstance(node.args[0], ast.Constant):
                self._flag(node, f"{dotted}() of computed code (not graded code)")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _IPYTHON_HOOKS and _root_name(node.value) in self.shells:
            self._flag(node, f"IPython .{node.attr}: {_IPYTHON_HOOKS[node.attr]}")
        if node.attr in ("f_back", "f_globals", "f_locals", "gi_frame", "tb_frame"):
            self._flag(node, f".{node.attr}: reads the interpreter's frames")
        self.generic_visit(node)


def find_tampering(cells: list[tuple[int, str]]) -> list[Finding]:
    """Scan ``(cell_index, source)`` pairs of student code; return what reaches into grading.

    IPython line magics and shell escapes are blanked before parsing; a cell
    that still does not parse is skipped (running it raises anyway).

    Examples
    --------
    >>> [str(f) for f in find_tampering([(3, "import numpy as np\\nnp.isclose = lambda *a: True")])]
    ['cell 3, line 2: rebinds numpy.isclose']
    """
    findings: list[Finding] = []
    aliases: dict[str, str] = {}
    for index, source in cells:
        lines = [
            "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
        ]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        scanner = _Scanner(aliases)
        scanner.visit(tree)
        aliases = scanner.aliases  # imports carry over to later cells, as in the kernel
        findings.extend(Finding(index, line, what) for line, what in scanner.findings)
    return findings


# --- runtime ---------------------------------------------------------------

#: Runs first, before any student code: remember the pristine state.
SNAPSHOT_SOURCE = f"""\
def __autograde_make_guard():
    import builtins, importlib, sys
    modules = []
    for name in {list(GUARDED_MODULES)!r}:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            pass
    saved = [(module, dict(vars(module))) for module in modules]
    shell = get_ipython()
    hooks = (
        list(shell.input_transformers_cleanup),
        list(shell.input_transformers_post),
        list(shell.ast_transformers),
        {{event: list(callbacks) for event, callbacks in shell.events.callbacks.items()}},
    )
    originals = ("run_cell", "run_cell_async", "showtraceback")
    builtin_names = [name for name in dir(builtins) if not name.startswith("_")]
    # IPython's own entries (exit, quit, ...) are not student shadows.
    initial = {{name: shell.user_ns[name] for name in builtin_names if name in shell.user_ns}}
    aliases = {{"np": "numpy", "pd": "pandas", "math": "math", "stats": "scipy.stats"}}
    hidden = {{}}

    def restore():
        for module, namespace in saved:
            current = vars(module)
            for key, value in namespace.items():
                if current.get(key, restore) is not value:
                    current[key] = value
        sys.settrace(None)
        sys.setprofile(None)
        shell.input_transformers_cleanup[:] = hooks[0]
        shell.input_transformers_post[:] = hooks[1]
        shell.ast_transformers[:] = hooks[2]
        for event, callbacks in hooks[3].items():
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
        for name, module_name in aliases.items():
            module = sys.modules.get(module_name)
            if module is not None and name in user and user[name] is not module:
                hidden[name] = user[name]
                user[name] = module

    def unshadow():
        shell.user_ns.update(hidden)
        hidden.clear()

    return restore, unshadow


__autograde_restore, __autograde_unshadow = __autograde_make_guard()
del __autograde_make_guard
"""

#: Runs before every test segment.
RESTORE_SOURCE = "__autograde_restore()"

#: Runs after every test segment: the student's own globals come back.
UNSHADOW_SOURCE = "__autograde_unshadow()"
