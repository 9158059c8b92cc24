"""The shared base class of every privacy accountant."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from respai._validation import check_delta, check_positive, check_positive_int
from respai.exceptions import ParameterValueError

__all__ = ["Accountant", "check_sample_rate"]


def check_sample_rate(sample_rate: object) -> float:
    """Validate a Poisson sampling rate :math:`q \\in (0, 1]`."""
    q = check_positive("sample_rate", sample_rate)
    if q > 1.0:
        raise ParameterValueError(
            f"`sample_rate` must be in (0, 1]; got {sample_rate!r}. "
            "It is batch_size / dataset_size, the chance each example joins a batch."
        )
    return q


class Accountant(ABC):
    """Record DP-SGD steps and report the ε spent for a given δ.

    Subclasses implement only :meth:`_epsilon` (the math lives in
    :mod:`respai.privacy.accounting._analysis`); :meth:`step`, :attr:`history`
    and the input validation are shared, so every accountant behaves the same.

    Contract, for every subclass: an accountant that has taken no step has
    spent nothing, and ``get_epsilon`` returns exactly ``0.0`` (a mechanism
    that releases nothing is (0, 0)-DP); ``delta`` is validated even then.

    Attributes
    ----------
    history : list of (float, float, int)
        ``(noise_multiplier, sample_rate, steps)``; consecutive steps with the
        same parameters are merged into one entry.
    """

    #: Name under which :mod:`respai.privacy.accounting.registry` knows the class.
    name: ClassVar[str]

    def __init__(self) -> None:
        self.history: list[tuple[float, float, int]] = []

    def step(self, *, noise_multiplier: float, sample_rate: float, steps: int = 1) -> None:
        """Record ``steps`` steps of the Poisson-subsampled Gaussian mechanism.

        Parameters
        ----------
        noise_multiplier : float, keyword-only
            σ > 0: noise standard deviation divided by the clipping norm.
        sample_rate : float, keyword-only
            Poisson sampling rate q in (0, 1].
        steps : int, default 1, keyword-only
            How many identical steps to record.
        """
        sigma = check_positive("noise_multiplier", noise_multiplier)
        q = check_sample_rate(sample_rate)
        n = check_positive_int("steps", steps)
        if self.history and self.history[-1][:2] == (sigma, q):
            self.history[-1] = (sigma, q, self.history[-1][2] + n)
        else:
            self.history.append((sigma, q, n))

    @property
    def steps(self) -> int:
        """Total number of steps recorded."""
        return sum(n for _, _, n in self.history)

    def reset(self) -> None:
        """Forget every recorded step."""
        self.history.clear()

    def get_epsilon(self, delta: float) -> float:
        """ε spent so far at ``delta`` (0.0 if no step was recorded).

        Parameters
        ----------
        delta : float
            δ in (0, 1).
        """
        dlt = check_delta(delta)
        if not self.history:
            return 0.0
        return float(self._epsilon(dlt))

    def _epsilon_floor(self, delta: float) -> float:
        """Infimum of ε over all noise levels (no σ can do better); 0 by default."""
        return 0.0

    @abstractmethod
    def _epsilon(self, delta: float) -> float:
        """ε for a validated ``delta`` and a non-empty history."""

    def __len__(self) -> int:
        return len(self.history)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(steps={self.steps}, history={self.history!r})"
