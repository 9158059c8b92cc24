"""Tests for respai.models: shapes, validation, and Opacus compatibility."""

import pytest
import torch
from opacus.validators import ModuleValidator
from torch import nn

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.models import MLP, LogisticRegression, SmallCNN


def test_mlp_shapes_and_layers():
    model = MLP(4, (8, 6), 3, dropout=0.1)
    assert model(torch.zeros(5, 4)).shape == (5, 3)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 8), (8, 6), (6, 3)]
    assert sum(isinstance(m, nn.Dropout) for m in model) == 2


def test_mlp_without_hidden_layers_is_linear():
    model = MLP(4, (), 2)
    assert len(model) == 1 and isinstance(model[0], nn.Linear)


def test_mlp_custom_activation():
    model = MLP(3, (5,), 1, activation=nn.Tanh)
    assert any(isinstance(m, nn.Tanh) for m in model)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: MLP(0, (8,), 2), ParameterValueError, "`in_features` must be a positive integer"),
        (lambda: MLP(4, 64, 2), ParameterTypeError, "`hidden` must be a sequence"),
        (lambda: MLP(4, (8, 0), 2), ParameterValueError, "`hidden` must be a positive integer"),
        (
            lambda: MLP(4, (8,), 2, dropout=1.0),
            ParameterValueError,
            r"`dropout` must be in \[0, 1\)",
        ),
        (lambda: MLP(4, (8,), 2, dropout=-0.1), ParameterValueError, "`dropout`"),
        (lambda: MLP(4, (8,), 2, activation=nn.ReLU()), ParameterTypeError, "`activation`"),
    ],
    ids=[
        "in_features",
        "hidden-int",
        "hidden-zero",
        "dropout-one",
        "dropout-negative",
        "activation",
    ],
)
def test_mlp_validates_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_logistic_regression_is_one_linear_layer():
    model = LogisticRegression(5)
    assert model(torch.zeros(2, 5)).shape == (2, 1)
    assert sum(p.numel() for p in model.parameters()) == 6
    assert LogisticRegression(5, 3)(torch.zeros(2, 5)).shape == (2, 3)


@pytest.mark.parametrize(("channels", "size"), [(1, 28), (3, 32), (1, 8)])
def test_small_cnn_shapes(channels, size):
    model = SmallCNN(channels, 7, image_size=size)
    assert model(torch.zeros(2, channels, size, size)).shape == (2, 7)


def test_small_cnn_rejects_sizes_the_pooling_cannot_halve():
    with pytest.raises(ParameterValueError, match="`image_size` must be a positive multiple of 4"):
        SmallCNN(image_size=30)


def test_small_cnn_uses_groupnorm_not_batchnorm():
    modules = list(SmallCNN().modules())
    assert any(isinstance(m, nn.GroupNorm) for m in modules)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in modules)


@pytest.mark.parametrize(
    "model",
    [
        SmallCNN(),
        SmallCNN(3, 10, image_size=32),
        MLP(10, (16,), 2, dropout=0.5),
        LogisticRegression(3),
    ],
    ids=["cnn-mnist", "cnn-cifar", "mlp", "logreg"],
)
def test_models_are_opacus_compatible(model):
    assert ModuleValidator.validate(model, strict=False) == []
    ModuleValidator.validate(model, strict=True)  # raises if Opacus would refuse it


def test_opacus_validator_would_catch_batchnorm():
    # Guard against a vacuous compatibility test: the validator does flag BatchNorm.
    bad = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    assert ModuleValidator.validate(bad, strict=False)
