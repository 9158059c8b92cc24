"""PRV (privacy loss distribution) accountant for DP-SGD (Gopi, Lee & Wutschitz 2021)."""

from __future__ import annotations

from respai._validation import check_positive
from respai.exceptions import ParameterValueError
from respai.privacy.accounting._analysis.prv import prv_epsilon
from respai.privacy.accounting.accountant import Accountant

__all__ = ["PRVAccountant"]


class PRVAccountant(Accountant):
    r"""Numerical composition of privacy loss random variables (near-exact ε).

    Each step's privacy loss distribution is discretised on one grid and all
    steps are composed by FFT (Gopi, Lee & Wutschitz 2021, Theorem 5.5). The
    returned ε is the *upper bound* :math:`\varepsilon(\delta - \delta_{err}) +
    \varepsilon_{err}` — a guarantee, as in Opacus's ``PRVAccountant`` (Opacus's
    default accountant) — so it is the exact value plus at most about
    :math:`2\varepsilon_{err}`. :meth:`get_epsilon_bounds` gives the estimate too.

    Parameters
    ----------
    eps_error : float, default 0.01
        Additive error allowed on ε (sets the grid's mesh).
    delta_error : float or None, default None
        Error allowed on δ; ``None`` means ``delta / 1000``.

    Examples
    --------
    >>> acc = PRVAccountant()
    >>> acc.step(noise_multiplier=1.1, sample_rate=256 / 60000, steps=14063)
    >>> round(acc.get_epsilon(delta=1e-5), 3)
    2.392
    >>> round(acc.get_epsilon_bounds(delta=1e-5)[1], 3)  # estimate; exact PLD value 2.382
    2.382
    """

    name = "prv"

    def __init__(self, eps_error: float = 0.01, delta_error: float | None = None) -> None:
        super().__init__()
        self.eps_error = check_positive("eps_error", eps_error)
        self.delta_error = (
            None if delta_error is None else check_positive("delta_error", delta_error)
        )

    def _delta_error(self, delta: float) -> float:
        err = delta / 1000.0 if self.delta_error is None else self.delta_error
        if err >= delta:
            raise ParameterValueError(
                f"`delta_error` must be smaller than `delta`; got {err!r} >= {delta!r}. "
                "Leave it as None (delta / 1000)."
            )
        return err

    def get_epsilon_bounds(self, delta: float) -> tuple[float, float, float]:
        """``(lower, estimate, upper)`` bounds on ε; all 0.0 if no step was recorded."""
        eps = self.get_epsilon(delta)  # validates delta, handles the empty history
        if not self.history:
            return eps, eps, eps
        return self._bounds(delta)

    def _bounds(self, delta: float) -> tuple[float, float, float]:
        try:
            return prv_epsilon(
                self.history, delta, eps_error=self.eps_error, delta_error=self._delta_error(delta)
            )
        except ValueError as err:
            if isinstance(err, ParameterValueError):
                raise
            raise ParameterValueError(str(err)[0].upper() + str(err)[1:]) from err

    def _epsilon_floor(self, delta: float) -> float:
        return self.eps_error  # the upper bound adds eps_error to an estimate >= 0

    def _epsilon(self, delta: float) -> float:
        return self._bounds(delta)[2]
