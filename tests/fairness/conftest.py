"""Real predictions shared by the fairness tests: Adult and COMPAS with a logistic regression.

Built once per session; each fixture is a DataFrame with ``y_true``,
``y_pred``, ``y_score`` and the sensitive columns, so tests can slice groups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

ADULT_NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
ADULT_CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship", "race", "sex"]


def _design(df: pd.DataFrame, numeric: list[str], categorical: list[str]) -> np.ndarray:
    num = df[numeric].astype(float)
    num = (num - num.mean()) / num.std()
    cat = pd.get_dummies(df[categorical].fillna("missing"), dtype=float)
    return pd.concat([num, cat], axis=1)


@pytest.fixture(scope="session")
def adult_predictions() -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression

    from respai.data import load_adult

    train, test = load_adult("train"), load_adult("test")
    both = pd.concat([train, test], keys=["train", "test"])
    x = _design(both, ADULT_NUMERIC, ADULT_CATEGORICAL)
    # Every second training row keeps the fit quick; the metrics are computed on the test split.
    model = LogisticRegression(max_iter=300).fit(
        x.loc["train"].iloc[::2], train["income_over_50k"].iloc[::2]
    )
    score = model.predict_proba(x.loc["test"])[:, 1]
    return pd.DataFrame(
        {
            "y_true": test["income_over_50k"].to_numpy(),
            "y_pred": (score >= 0.5).astype(int),
            "y_score": score,
            "sex": test["sex"].to_numpy(),
            "race": test["race"].to_numpy(),
        }
    )


@pytest.fixture(scope="session")
def compas_predictions() -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    from respai.data import load_compas

    df = load_compas()
    x = _design(
        df,
        ["age", "priors_count", "juv_fel_count", "juv_misd_count"],
        ["c_charge_degree", "sex"],
    )
    # Out-of-fold scores (5 deterministic folds): every defendant gets a held-out prediction.
    score = cross_val_predict(
        LogisticRegression(max_iter=300), x, df["two_year_recid"], cv=5, method="predict_proba"
    )[:, 1]
    race4 = df["race"].where(
        df["race"].isin(["African-American", "Caucasian", "Hispanic"]), "Other"
    )
    return pd.DataFrame(
        {
            "y_true": df["two_year_recid"].to_numpy(),
            "y_pred": (score >= 0.5).astype(int),
            "y_score": score,
            "decile_score": df["decile_score"].to_numpy(),
            "sex": df["sex"].to_numpy(),
            "race": df["race"].to_numpy(),
            "race4": race4.to_numpy(),
        }
    )
