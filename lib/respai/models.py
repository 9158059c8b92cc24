"""Small reference architectures shared by the notebooks.

They are deliberately tiny, so a whole notebook trains in seconds on a CPU in
smoke mode, and they avoid layers that break per-sample gradients:
:class:`SmallCNN` normalises with GroupNorm rather than BatchNorm, because
BatchNorm mixes examples within a batch and so cannot be trained with
differentially private SGD [1]_ (Opacus refuses it).

References
----------
.. [1] A. Yousefpour et al., "Opacus: User-Friendly Differential Privacy
   Library in PyTorch", arXiv:2109.12298, 2021.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from respai._validation import check_positive_int, check_probability
from respai.exceptions import ParameterTypeError, ParameterValueError

__all__ = ["MLP", "SmallCNN", "LogisticRegression"]


class MLP(nn.Sequential):
    """A fully connected network: ``Linear -> activation [-> Dropout]`` blocks, then ``Linear``.

    Parameters
    ----------
    in_features : int
        Number of input features.
    hidden : sequence of int, default (64,)
        Width of each hidden layer; ``()`` gives a linear model.
    out_features : int
        Number of outputs (logits), e.g. the number of classes.
    activation : type of nn.Module, default nn.ReLU
        Class of the activation, instantiated once per hidden layer.
    dropout : float, default 0.0
        Dropout probability after each activation, in ``[0, 1)``.

    Examples
    --------
    >>> model = MLP(4, (8, 8), 3)
    >>> model(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int] = (64,),
        out_features: int = 1,
        *,
        activation: type[nn.Module] = nn.ReLU,
        dropout: float = 0.0,
    ) -> None:
        in_features = check_positive_int("in_features", in_features)
        out_features = check_positive_int("out_features", out_features)
        if isinstance(hidden, (int, str)) or not isinstance(hidden, Sequence):
            raise ParameterTypeError(
                f"`hidden` must be a sequence of positive integers, e.g. (64,); got {hidden!r}."
            )
        widths = [check_positive_int("hidden", h) for h in hidden]
        if not (isinstance(activation, type) and issubclass(activation, nn.Module)):
            raise ParameterTypeError(
                f"`activation` must be an nn.Module class such as nn.ReLU; got {activation!r}."
            )
        dropout = check_probability("dropout", dropout)
        if dropout == 1.0:
            raise ParameterValueError("`dropout` must be in [0, 1); got 1.0.")

        layers: list[nn.Module] = []
        width_in = in_features
        for width in widths:
            layers += [nn.Linear(width_in, width), activation()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = width
        layers.append(nn.Linear(width_in, out_features))
        super().__init__(*layers)
        self.in_features = in_features
        self.out_features = out_features


class LogisticRegression(nn.Module):
    r"""Logistic (or softmax) regression as a single linear layer returning logits.

    .. math:: \operatorname{logit} P(y = 1 \mid x) = w^\top x + b

    Pair it with ``nn.BCEWithLogitsLoss`` (``out_features=1``) or
    ``nn.CrossEntropyLoss`` (``out_features > 1``); the sigmoid/softmax lives in
    the loss for numerical stability.

    Parameters
    ----------
    in_features : int
        Number of input features.
    out_features : int, default 1
        1 for binary classification, else the number of classes.

    Examples
    --------
    >>> LogisticRegression(5)(torch.zeros(3, 5)).shape
    torch.Size([3, 1])
    """

    def __init__(self, in_features: int, out_features: int = 1) -> None:
        super().__init__()
        self.linear = nn.Linear(
            check_positive_int("in_features", in_features),
            check_positive_int("out_features", out_features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def _conv_block(c_in: int, c_out: int, groups: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1),
        # GroupNorm normalises within one example, so per-sample gradients stay per-sample.
        nn.GroupNorm(groups, c_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    )


class SmallCNN(nn.Module):
    """A two-block convolutional classifier for small greyscale or colour images.

    ``[Conv3x3 -> GroupNorm -> ReLU -> MaxPool2] x 2 -> Linear(64) -> ReLU -> Linear``,
    with 16 and 32 channels: about 0.1 M parameters for 28x28 inputs. It is
    compatible with Opacus (no BatchNorm) and trains to ~98% accuracy on MNIST.

    Parameters
    ----------
    in_channels : int, default 1
        Image channels (1 for MNIST, 3 for CIFAR).
    num_classes : int, default 10
        Number of output logits.
    image_size : int, default 28
        Height = width of the input in pixels; must be divisible by 4
        (two 2x2 poolings) and at least 4.

    Examples
    --------
    >>> SmallCNN()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    >>> SmallCNN(3, 2, image_size=8)(torch.zeros(1, 3, 8, 8)).shape
    torch.Size([1, 2])
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, *, image_size: int = 28):
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        num_classes = check_positive_int("num_classes", num_classes)
        image_size = check_positive_int("image_size", image_size)
        if image_size % 4:
            raise ParameterValueError(
                f"`image_size` must be a positive multiple of 4; got {image_size!r}. "
                "Pad or resize the images (two 2x2 poolings halve it twice)."
            )
        self.features = nn.Sequential(_conv_block(in_channels, 16, 4), _conv_block(16, 32, 8))
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(32 * side * side, 64),
            nn.ReLU(),
            nn.Linear(64, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
