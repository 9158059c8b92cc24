"""Progress of a grading run, on stderr.

On a terminal: a tqdm bar with the rate and ETA and the running count per
status. Elsewhere (a CI log, a pipe): one line per graded submission.
``quiet`` prints nothing.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import TextIO

from autograde.core.grading import STATUSES, GradeResult

__all__ = ["Progress"]


class Progress:
    """Report each result as it arrives.

    Parameters
    ----------
    quiet : bool, keyword-only
        Print nothing.
    stream : file, keyword-only
        Default ``sys.stderr``.
    bar : bool, keyword-only
        Force the bar on or off (default: on iff ``stream`` is a terminal).
    """

    def __init__(
        self, *, quiet: bool = False, stream: TextIO | None = None, bar: bool | None = None
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.counts: Counter[str] = Counter()
        self._use_bar = (not quiet) and (self.stream.isatty() if bar is None else bar)
        self._bar = None

    def start(self, total: int, resumed: int = 0) -> None:
        """``total`` submissions to grade now; ``resumed`` reused from an earlier run."""
        if resumed and not self.quiet:
            print(f"resuming: {resumed} already graded, {total} to grade", file=self.stream)
        if self._use_bar and total:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, file=self.stream, unit="nb", desc="grading", dynamic_ncols=True
            )

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, student: str, result: GradeResult) -> None:
        self.counts[result.status] += 1
        if self.quiet:
            return
        if self._bar is not None:
            order = [*STATUSES, *sorted(set(self.counts) - set(STATUSES))]
            self._bar.set_postfix_str(
                " ".join(f"{s}={self.counts[s]}" for s in order if self.counts[s]), refresh=False
            )
            self._bar.update(1)
            return
        print(
            f"{student:<20} {result.assignment:<22} {result.total:>5g} / {result.max_total:<5g} "
            f"{result.status}",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
