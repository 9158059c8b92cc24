"""One place that maps accountant names (``"rdp"``, ``"prv"``) to classes."""

from __future__ import annotations

from respai.exceptions import ParameterValueError
from respai.privacy.accounting.accountant import Accountant
from respai.privacy.accounting.prv import PRVAccountant
from respai.privacy.accounting.rdp import RDPAccountant

__all__ = ["ACCOUNTANTS", "get_accountant_class", "create_accountant"]

#: Registered accountants by name.
ACCOUNTANTS: dict[str, type[Accountant]] = {cls.name: cls for cls in (RDPAccountant, PRVAccountant)}


def get_accountant_class(name: str) -> type[Accountant]:
    """The accountant class registered as ``name`` (``"rdp"`` or ``"prv"``).

    Examples
    --------
    >>> get_accountant_class("rdp").__name__
    'RDPAccountant'
    """
    try:
        return ACCOUNTANTS[name]
    except (KeyError, TypeError):
        known = ", ".join(repr(k) for k in sorted(ACCOUNTANTS))
        raise ParameterValueError(
            f"`accountant` must be one of {known}; got {name!r}. "
            "'rdp' is Rényi DP (Mironov et al.), 'prv' the near-exact PRV accountant "
            "(Gopi et al.; Opacus's default)."
        ) from None


def create_accountant(name: str) -> Accountant:
    """A fresh, empty accountant of the class registered as ``name``."""
    return get_accountant_class(name)()
