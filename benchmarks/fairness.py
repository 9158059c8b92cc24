"""Demographic-parity-constrained training on Adult: respai's Lagrangian vs fairlearn's reduction.

Adult's standard split (``adult.data`` for training, ``adult.test`` for
testing), ``sex`` as the sensitive feature, the same features for every model:
the eight categorical columns one-hot encoded (missing values as their own
category) and the five numeric ones standardized (``fnlwgt`` left out). One
run of each:

``unconstrained``
    ``sklearn.linear_model.LogisticRegression(max_iter=1000)``.
``respai``
    ``FairLagrangianClassifier("demographic_parity", epsilon=0.01)``: one
    logistic model, 1,000 full-batch gradient descent–ascent iterations.
``fairlearn``
    ``ExponentiatedGradient(LogisticRegression(max_iter=1000),
    DemographicParity(), eps=0.01)``: refits the logistic regression at every
    iteration; its predictions are randomized (``random_state=0``).

Reported on the test split: ``accuracy``, ``dp_difference`` and
``eo_difference`` (between groups, :mod:`respai.fairness.metrics`) and
``fit_s``, the wall-clock seconds of ``fit``. Goals: respai's DP difference
<= 0.02, its accuracy at most 0.5 points below fairlearn's, and its
``fit_s`` at most a quarter of fairlearn's.

    .venv/bin/python benchmarks/fairness.py [--json] [--threads N] [--device cpu]

``--threads`` caps BLAS and torch threads for every model (default 1: on a
shared machine extra threads only contend); ``--json`` prints
``{"dataset": "adult", "respai": {...}, "fairlearn": {...}, "unconstrained": {...}}``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

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
EPSILON = 0.01


def adult_features():
    """One-hot + standardized features of Adult's train and test splits, labels and sex."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from respai.data import load_adult

    train, test = load_adult("train"), load_adult("test")
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

    def columns(df):
        return df[CATEGORICAL + NUMERIC].fillna({c: "missing" for c in CATEGORICAL})

    X_train = design.fit_transform(columns(train))
    X_test = design.transform(columns(test))
    return (
        (X_train, train["income_over_50k"].to_numpy(), train["sex"].to_numpy()),
        (X_test, test["income_over_50k"].to_numpy(), test["sex"].to_numpy()),
    )


def evaluate(y_true, y_pred, sex, fit_s):
    from respai.fairness.metrics import (
        demographic_parity_difference,
        equalized_odds_difference,
    )

    return {
        "accuracy": round(float(np.mean(y_true == y_pred)), 4),
        "dp_difference": round(
            float(demographic_parity_difference(y_true, y_pred, sensitive_features=sex)), 4
        ),
        "eo_difference": round(
            float(equalized_odds_difference(y_true, y_pred, sensitive_features=sex)), 4
        ),
        "fit_s": round(fit_s, 2),
    }


def run(device: str | None) -> dict:
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient
    from sklearn.linear_model import LogisticRegression

    from respai.fairness.mitigation import FairLagrangianClassifier

    (X, y, sex), (X_test, y_test, sex_test) = adult_features()
    results = {"dataset": "adult"}

    start = time.perf_counter()
    respai_model = FairLagrangianClassifier("demographic_parity", EPSILON, device=device)
    respai_model.fit(X, y, sensitive_features=sex)
    fit_s = time.perf_counter() - start
    results["respai"] = evaluate(y_test, respai_model.predict(X_test), sex_test, fit_s)

    start = time.perf_counter()
    fairlearn_model = ExponentiatedGradient(
        LogisticRegression(max_iter=1000), DemographicParity(), eps=EPSILON
    )
    fairlearn_model.fit(X, y, sensitive_features=sex)
    fit_s = time.perf_counter() - start
    predictions = fairlearn_model.predict(X_test, random_state=0)
    results["fairlearn"] = evaluate(y_test, predictions, sex_test, fit_s)

    start = time.perf_counter()
    plain = LogisticRegression(max_iter=1000).fit(X, y)
    fit_s = time.perf_counter() - start
    results["unconstrained"] = evaluate(y_test, plain.predict(X_test), sex_test, fit_s)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (1)")
    parser.add_argument("--device", default=None, help="torch device for respai (default: best)")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        results = run(args.device)
    if args.json:
        print(json.dumps(results))
        return
    print(f"Adult, sex, demographic parity (epsilon = {EPSILON}), {args.threads} thread(s)")
    print(f"{'':15s} {'accuracy':>9s} {'DP diff':>8s} {'EO diff':>8s} {'fit (s)':>8s}")
    for name in ("unconstrained", "respai", "fairlearn"):
        r = results[name]
        print(
            f"{name:15s} {r['accuracy']:9.4f} {r['dp_difference']:8.4f} "
            f"{r['eo_difference']:8.4f} {r['fit_s']:8.2f}"
        )
    ours, theirs = results["respai"], results["fairlearn"]
    print(
        f"goals: DP <= 0.02: {ours['dp_difference'] <= 0.02}; "
        f"accuracy >= fairlearn - 0.005: {ours['accuracy'] >= theirs['accuracy'] - 0.005}; "
        f"fit_s <= 0.25 x fairlearn: {ours['fit_s'] <= 0.25 * theirs['fit_s']}"
    )


if __name__ == "__main__":
    main()
