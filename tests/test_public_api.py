"""Every public name of every respai module imports, and is listed in ``__all__``."""

import importlib
import pkgutil

import pytest

import respai


def all_modules():
    names = ["respai"]
    for info in pkgutil.walk_packages(respai.__path__, prefix="respai."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", all_modules())
def test_every_name_in_all_exists(module_name):
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    for name in exported:
        assert getattr(module, name, None) is not None, (
            f"{module_name}.{name} is in __all__ but missing"
        )
