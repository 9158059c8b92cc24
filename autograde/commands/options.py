"""Argument types shared by several subcommands."""

from __future__ import annotations

import argparse

from autograde.core.executor import default_workers

__all__ = ["positive_int", "positive_float", "add_workers"]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
    return value


def add_workers(parser: argparse.ArgumentParser, *, from_config: bool = False) -> None:
    """``--workers N``; with ``from_config`` its default (None) comes from the course config."""
    if from_config:
        parser.add_argument(
            "--workers",
            type=positive_int,
            help=f"parallel grading processes (default: config, else number of cores, "
            f"{default_workers()} here)",
        )
        return
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=default_workers(),
        help="parallel grading processes (default: number of cores, %(default)s here)",
    )
