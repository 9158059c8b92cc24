"""Tests for respai.train: the loop learns, records history, and accepts any optimizer."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.models import MLP, LogisticRegression
from respai.train import METRICS, History, evaluate, fit, make_loader


def _blobs(n_per_class=64, classes=2, seed=0):
    """Linearly separable Gaussian blobs, centred 6 standard deviations apart."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(classes, 2 if classes <= 2 else classes)
    X = np.concatenate([rng.normal(c, 1.0, size=(n_per_class, len(c))) for c in centres])
    y = np.repeat(np.arange(classes), n_per_class)
    return X.astype(np.float32), y


def _loaders(X, y, batch_size=16):
    return (
        make_loader(X, y, batch_size=batch_size, shuffle=True, generator=0),
        make_loader(X, y, batch_size=64, shuffle=False),
    )


def test_fit_reduces_loss_on_separable_binary_problem():
    torch.manual_seed(0)
    X, y = _blobs()
    train, val = _loaders(X, y)
    model = LogisticRegression(2)
    before = evaluate(model, val, device="cpu")
    history = fit(model, train, epochs=15, lr=0.05, device="cpu", val_loader=val, progress=False)
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < 0.5 * before["loss"]
    assert history.val_metrics["accuracy"][-1] >= 0.98


def test_fit_multiclass_defaults_to_cross_entropy():
    torch.manual_seed(0)
    X, y = _blobs(classes=3)
    train, val = _loaders(X, y)
    model = MLP(3, (16,), 3)
    history = fit(model, train, epochs=10, lr=0.02, device="cpu", val_loader=val, progress=False)
    assert history.val_metrics["accuracy"][-1] >= 0.95
    assert history.val_loss[-1] < np.log(3) / 2  # well below chance-level cross-entropy


def test_fit_accepts_an_external_optimizer_and_loss():
    torch.manual_seed(0)
    X, y = _blobs()
    train, val = _loaders(X, y)
    model = LogisticRegression(2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    history = fit(
        model, train, epochs=5, optimizer=optimizer, loss_fn=nn.BCEWithLogitsLoss(),
        device="cpu", progress=False,
    )  # fmt: skip
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_loss == [] and history.val_metrics == {}


def test_fit_works_with_an_opacus_dp_optimizer():
    opacus = pytest.importorskip("opacus")
    torch.manual_seed(0)
    X, y = _blobs(n_per_class=32)
    model = MLP(2, (8,), 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    loader = make_loader(X, y, batch_size=16, shuffle=True, generator=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus warns that its secure RNG is off
        engine = opacus.PrivacyEngine()
        model, optimizer, loader = engine.make_private(
            module=model, optimizer=optimizer, data_loader=loader,
            noise_multiplier=0.5, max_grad_norm=1.0,
        )  # fmt: skip
        history = fit(model, loader, epochs=3, optimizer=optimizer, device="cpu", progress=False)
    assert history.epochs == 3 and all(np.isfinite(history.train_loss))
    assert engine.accountant.history, "the DP optimizer's steps must reach Opacus' accountant"


def test_history_to_frame_and_plot():
    torch.manual_seed(0)
    X, y = _blobs(n_per_class=16)
    train, val = _loaders(X, y)
    history = fit(LogisticRegression(2), train, epochs=3, device="cpu", val_loader=val,
                  progress=False)  # fmt: skip
    frame = history.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == [1, 2, 3] and frame.index.name == "epoch"
    assert list(frame.columns) == ["train_loss", "val_loss", "val_accuracy", "seconds"]
    assert (frame["seconds"] > 0).all()
    import matplotlib.pyplot as plt

    ax = history.plot()
    assert ax.get_xlabel().startswith("epoch")
    plt.close("all")


def test_history_without_validation_has_only_training_columns():
    history = History(train_loss=[1.0, 0.5], epoch_seconds=[0.1, 0.1])
    assert list(history.to_frame().columns) == ["train_loss", "seconds"]


def test_generator_makes_dropout_reproducible_without_touching_global_rng():
    X, y = _blobs(n_per_class=16)

    def run():
        torch.manual_seed(1)
        model = MLP(2, (16,), 1, dropout=0.5)
        loader = make_loader(X, y, batch_size=8, shuffle=True, generator=3)
        fit(model, loader, epochs=2, device="cpu", progress=False, generator=7)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    first = run()
    state = torch.get_rng_state()
    second = run()
    assert torch.equal(first, second)
    torch.manual_seed(1)
    MLP(2, (16,), 1, dropout=0.5)  # same initialisation draws as inside run()
    assert torch.equal(torch.get_rng_state(), state), "fit must restore the global RNG state"


def test_evaluate_restores_training_mode_and_counts_every_example():
    model = nn.Linear(1, 1)
    nn.init.constant_(model.weight, 1.0)
    nn.init.zeros_(model.bias)
    X = np.array([[-2.0], [-1.0], [1.0], [3.0], [0.5]])
    y = np.array([0, 0, 1, 1, 0])  # the last example is misclassified
    loader = make_loader(X, y, batch_size=2, shuffle=False)
    model.train()
    scores = evaluate(model, loader, device="cpu")
    assert model.training
    assert scores["accuracy"] == pytest.approx(4 / 5)
    expected = nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(X[:, 0]), torch.tensor(y, dtype=torch.float64)
    )
    assert scores["loss"] == pytest.approx(expected.item(), rel=1e-6)


def test_evaluate_without_metrics_returns_only_loss():
    loader = make_loader(np.zeros((3, 2)), np.array([0, 1, 2]), batch_size=2, shuffle=False)
    assert set(evaluate(nn.Linear(2, 3), loader, device="cpu", metrics=())) == {"loss"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epochs": 0}, ParameterValueError, r"^`epochs` must be a positive integer; got 0\.$"),
        ({"epochs": 1.5}, ParameterTypeError, "`epochs` must be a positive integer"),
        ({"epochs": 1, "lr": -1.0}, ParameterValueError, "`lr` must be a finite number > 0"),
        ({"epochs": 1, "metrics": ("auc",)}, ParameterValueError, "`metrics` must contain only"),
        ({"epochs": 1, "metrics": "accuracy"}, ParameterTypeError, "`metrics` must be a sequence"),
        ({"epochs": 1, "optimizer": "adam"}, ParameterTypeError, "`optimizer` must be a torch"),
        ({"epochs": 1, "generator": 1.0}, ParameterTypeError, "`generator` must be None"),
        ({"epochs": 1, "progress": 1}, ParameterTypeError, "`progress` must be True or False"),
    ],
)
def test_fit_validates_before_training(kwargs, error, match):
    model = nn.Linear(2, 1)
    before = [p.detach().clone() for p in model.parameters()]
    loader = make_loader(np.zeros((4, 2)), np.zeros(4), batch_size=2, shuffle=False)
    with pytest.raises(error, match=match):
        fit(model, loader, **{"device": "cpu", "progress": False, **kwargs})
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_fit_refuses_lr_together_with_an_optimizer():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = make_loader(np.zeros((4, 2)), np.zeros(4), batch_size=2, shuffle=False)
    with pytest.raises(ParameterValueError, match="`lr` must be None when an `optimizer`"):
        fit(model, loader, epochs=1, optimizer=optimizer, lr=0.01, progress=False)


def test_fit_refuses_non_models_and_non_loaders():
    loader = make_loader(np.zeros((4, 2)), np.zeros(4), batch_size=2, shuffle=False)
    with pytest.raises(ParameterTypeError, match="`model` must be a torch.nn.Module"):
        fit("model", loader, epochs=1)
    with pytest.raises(ParameterTypeError, match="`train_loader` must be an iterable"):
        fit(nn.Linear(2, 1), 5, epochs=1)


def test_make_loader_dtypes_batches_and_reproducible_shuffling():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    loader = make_loader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert batches[0][0].dtype == torch.float32 and batches[0][1].dtype == torch.int64
    real = next(iter(make_loader(X, y.astype(float), batch_size=4, shuffle=False)))[1]
    assert real.dtype == torch.float32

    def order(seed):
        return torch.cat([yb for _, yb in make_loader(X, y, batch_size=3, shuffle=True,
                                                      generator=seed)])  # fmt: skip

    assert torch.equal(order(0), order(0))
    assert not torch.equal(order(0), order(1))
    assert sorted(order(0).tolist()) == list(range(10))


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "error", "match"),
    [
        (np.zeros((3, 2)), np.zeros(4), {}, ParameterValueError, "one target per row"),
        (np.array([["a"], ["b"]]), np.zeros(2), {}, ParameterTypeError, "`X` must be an array of"),
        (np.zeros((3, 2)), np.zeros(3), {"batch_size": 0}, ParameterValueError, "`batch_size`"),
        (np.zeros((3, 2)), np.zeros(3), {"shuffle": "yes"}, ParameterTypeError, "`shuffle`"),
    ],
)
def test_make_loader_validates(X, y, kwargs, error, match):
    args = {"batch_size": 2, "shuffle": False, **kwargs}
    with pytest.raises(error, match=match):
        make_loader(X, y, **args)


def test_metrics_registry_names():
    assert "accuracy" in METRICS
