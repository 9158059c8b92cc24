r"""Poisson sampling: each example joins each batch independently with probability q.

The privacy amplification that DP-SGD's accountants assume (Mironov, Talwar &
Zhang 2019; Abadi et al. 2016, Section 3.1 "Lots") holds for *Poisson*
subsampling, not for shuffling into fixed-size batches. A batch therefore has
a random size, :math:`|B| \sim \mathrm{Binomial}(N, q)`, and can be empty.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils._pytree import tree_map
from torch.utils.data import DataLoader, Dataset, Sampler
from torch.utils.data._utils.collate import default_collate

from respai._validation import check_positive_int
from respai.data.tensors import as_torch_generator
from respai.exceptions import ParameterTypeError
from respai.privacy.accounting.accountant import check_sample_rate

__all__ = ["poisson_sample", "PoissonBatchSampler", "poisson_loader"]


def poisson_sample(
    num_samples: int, sample_rate: float, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Indices of one Poisson-sampled batch: each of ``num_samples`` joins with probability q.

    .. math:: B = \{\, i : U_i < q \,\}, \qquad U_1, \dots, U_N \overset{iid}{\sim} U(0, 1),

    so :math:`|B| \sim \mathrm{Binomial}(N, q)` (it can be 0) and whether one
    example is in the batch tells nothing about any other: the independence
    that privacy amplification by subsampling needs (Mironov, Talwar & Zhang
    2019, Section 3; Abadi et al. 2016, Section 3.1 "Lots").

    Parameters
    ----------
    num_samples : int
        Dataset size :math:`N \ge 1`.
    sample_rate : float
        :math:`q \in (0, 1]`.
    generator : torch.Generator, optional, keyword-only
        Source of the coins (not cryptographically secure).

    Returns
    -------
    torch.Tensor
        1-D ``int64`` tensor of the chosen indices, in increasing order.

    Examples
    --------
    >>> poisson_sample(4, 0.5, generator=torch.Generator().manual_seed(0)).tolist()
    [0, 2, 3]
    """
    n = check_positive_int("num_samples", num_samples)
    q = check_sample_rate(sample_rate)
    coins = torch.rand(n, generator=generator)
    return torch.nonzero(coins < q).reshape(-1)


class PoissonBatchSampler(Sampler[list[int]]):
    r"""Yield ``steps`` batches of indices; index ``i`` is in a batch with probability ``q``.

    Parameters
    ----------
    num_samples : int
        Dataset size :math:`N`.
    sample_rate : float
        :math:`q \in (0, 1]`; the expected batch size is :math:`qN`.
    steps : int
        Batches per pass (``len`` of the sampler); by default :math:`\lceil 1/q \rceil`.
    generator : torch.Generator or int, optional
        Source of the inclusion coins (not cryptographically secure).

    Examples
    --------
    >>> s = PoissonBatchSampler(4, 0.5, generator=0)
    >>> len(s), [len(b) for b in s]
    (2, [3, 2])
    """

    def __init__(
        self,
        num_samples: int,
        sample_rate: float,
        *,
        steps: int | None = None,
        generator: torch.Generator | int | None = None,
    ) -> None:
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.sample_rate = check_sample_rate(sample_rate)
        n_steps = -int(-1 // self.sample_rate) if steps is None else steps
        self.steps = check_positive_int("steps", n_steps)
        self.generator = as_torch_generator(generator)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.steps):
            yield poisson_sample(
                self.num_samples, self.sample_rate, generator=self.generator
            ).tolist()


def _empty_collate(dataset: Dataset):
    """A collate function that turns an empty batch into zero-length tensors."""
    template = None

    def collate(batch):
        nonlocal template
        if len(batch) > 0:
            return default_collate(batch)
        if template is None:
            template = default_collate([dataset[0]])
        return tree_map(lambda t: t[:0] if torch.is_tensor(t) else t, template)

    return collate


def poisson_loader(
    data_loader: DataLoader, *, generator: torch.Generator | int | None = None
) -> DataLoader:
    r"""The Poisson-sampling twin of ``data_loader``: same dataset, :math:`q = 1/\mathrm{len}`.

    The sample rate is ``1 / len(data_loader)`` (as in Opacus), so one pass has
    ``len(data_loader)`` steps and the expected batch size is
    ``len(dataset) / len(data_loader)``; workers and pinning are kept. Empty
    batches come out as zero-length tensors of the right trailing shape.
    """
    if not isinstance(data_loader, DataLoader):
        raise ParameterTypeError(
            "`data_loader` must be a torch.utils.data.DataLoader over a map-style dataset; "
            f"got {type(data_loader).__name__}. Build one with respai.train.make_loader(X, y, ...)."
        )
    steps = check_positive_int("len(data_loader)", len(data_loader))
    dataset = data_loader.dataset
    sampler = PoissonBatchSampler(len(dataset), 1.0 / steps, steps=steps, generator=generator)
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=_empty_collate(dataset),
        num_workers=data_loader.num_workers,
        pin_memory=data_loader.pin_memory,
    )
