"""Adult with one-hot + standardized features, for the mitigation tests (built once, cached).

The standard train/test split of Adult; ``sex`` is the sensitive feature. Tests
subsample the training rows (``adult_sample``) to stay fast.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

CATEGORICAL = [
    "workclass",
    "education",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "native_country",
]
NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]


@lru_cache(maxsize=1)
def adult_design():
    """(X_train, y_train, sex_train, race_train, X_test, y_test, sex_test)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from respai.data import load_adult

    train, test = load_adult("train"), load_adult("test")

    def columns(df: pd.DataFrame) -> pd.DataFrame:
        return df[CATEGORICAL + NUMERIC].fillna({c: "missing" for c in CATEGORICAL})

    design = ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                CATEGORICAL,
            ),
            ("numeric", StandardScaler(), NUMERIC),
        ]
    )
    X_train = design.fit_transform(columns(train))
    X_test = design.transform(columns(test))
    return (
        X_train,
        train["income_over_50k"].to_numpy(),
        train["sex"].to_numpy(),
        train["race"].to_numpy(),
        X_test,
        test["income_over_50k"].to_numpy(),
        test["sex"].to_numpy(),
    )


def adult_sample(n: int, seed: int = 0):
    """n random training rows: (X, y, sex, race)."""
    X, y, sex, race, *_ = adult_design()
    rows = np.random.default_rng(seed).choice(len(y), n, replace=False)
    return X[rows], y[rows], sex[rows], race[rows]
