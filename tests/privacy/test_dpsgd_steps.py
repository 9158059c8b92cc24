"""Tests of the DP-SGD building blocks the notebook 03_dp_sgd asks students to write.

``noisy_average`` and ``poisson_sample`` (and the faster per-sample-gradient
hooks of ``GradSampleModule``) are checked against independent references:
Opacus's optimizer, the binomial distribution, and plain autograd.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from scipy import stats
from torch import nn

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.models import SmallCNN
from respai.privacy.dpsgd import DPOptimizer, GradSampleModule, PoissonBatchSampler
from respai.privacy.dpsgd.clipping import clip_and_sum, noisy_average
from respai.privacy.dpsgd.data_loader import poisson_sample


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


# --------------------------------------------------------------------------- noisy_average


def test_noisy_average_without_noise_divides_by_the_expected_batch_size():
    sums = [torch.tensor([[2.0, -4.0]]), torch.tensor([6.0])]
    out = noisy_average(sums, 0.0, 1.0, 4.0)
    torch.testing.assert_close(out[0], torch.tensor([[0.5, -1.0]]))
    torch.testing.assert_close(out[1], torch.tensor([1.5]))


def test_noisy_average_noise_is_independent_with_std_sigma_c_over_b():
    # 2 x 20,000 coordinates of pure noise. Relative s.e. of a sample std is 1/sqrt(2n) = 0.5%;
    # 5 s.e. bounds fail with probability < 1e-6 each for a correct sampler (seed fixed).
    sigma, c, b = 1.7, 0.4, 8.0
    zeros = [torch.zeros(100, 200), torch.zeros(20_000)]
    out = noisy_average(zeros, sigma, c, b, generator=torch.Generator().manual_seed(1))
    std = sigma * c / b
    for t in out:
        n = t.numel()
        assert abs(t.std().item() / std - 1) < 5 / math.sqrt(2 * n)
        assert abs(t.mean().item()) < 5 * std / math.sqrt(n)
        assert stats.kstest((t.reshape(-1) / std).numpy(), "norm").pvalue > 1e-4
    # the two parameters get different draws (not one noise vector reused)
    assert not torch.allclose(out[0].reshape(-1), out[1])
    # reproducible from the generator
    again = noisy_average(zeros, sigma, c, b, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(x, y) for x, y in zip(out, again, strict=True))


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_clip_then_noisy_average_matches_opacus_without_noise():
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

    model = _mlp()
    x, y = torch.randn(8, 3) * 5, torch.randint(0, 2, (8,))
    ogsm = opacus.GradSampleModule(model)
    oopt = OpacusDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=0.3,
        expected_batch_size=6,  # not the drawn size: both divide by the expected one
    )
    nn.CrossEntropyLoss()(ogsm(x), y).backward()
    samples = [p.grad_sample.clone() for p in model.parameters()]
    oopt.step()
    ours = noisy_average(clip_and_sum(samples, 0.3), 0.0, 0.3, 6)
    for p, g in zip(model.parameters(), ours, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((-1.0, 1.0, 4.0), "noise_multiplier"),
        ((1.0, 0.0, 4.0), "max_grad_norm"),
        ((1.0, 1.0, 0.0), "expected_batch_size"),
    ],
)
def test_noisy_average_bad_numbers_name_the_parameter(args, name):
    with pytest.raises(ParameterValueError, match=name):
        noisy_average([torch.zeros(2)], *args)


def test_noisy_average_wants_a_sequence_of_tensors():
    with pytest.raises(ParameterTypeError, match="summed_grads"):
        noisy_average(torch.zeros(2), 1.0, 1.0, 1.0)


# --------------------------------------------------------------------------- poisson_sample


def test_poisson_sample_sizes_are_binomial():
    # 400 batches from N = 500, q = 0.1. A chi-square goodness-of-fit test on the batch
    # sizes (binned) and a variance check; the variance separates Poisson sampling from
    # fixed-size batches (variance 0). Fixed seed; each test rejects a correct sampler
    # with probability 1e-3.
    n, q, batches = 500, 0.1, 400
    g = torch.Generator().manual_seed(2)
    sizes = torch.tensor([len(poisson_sample(n, q, generator=g)) for _ in range(batches)])
    var = n * q * (1 - q)
    assert abs(sizes.float().mean().item() - n * q) < 4 * math.sqrt(var / batches)
    # sample variance / true variance ~ chi2(batches - 1) / (batches - 1)
    ratio = sizes.float().var().item() / var
    lo, hi = stats.chi2.ppf([5e-4, 1 - 5e-4], batches - 1) / (batches - 1)
    assert lo < ratio < hi


def test_poisson_sample_each_index_has_probability_q():
    n, q, batches = 20, 0.3, 2_000
    g = torch.Generator().manual_seed(3)
    counts = torch.zeros(n)
    for _ in range(batches):
        idx = poisson_sample(n, q, generator=g)
        assert idx.dtype == torch.int64 and idx.ndim == 1
        assert torch.all(idx[1:] > idx[:-1])  # sorted, no repeats
        counts[idx] += 1
    # chi-square over the 20 indices' inclusion counts (each Binomial(batches, q))
    chi2 = (((counts - batches * q) ** 2) / (batches * q * (1 - q))).sum().item()
    assert stats.chi2.sf(chi2, n) > 1e-3


def test_poisson_sample_is_the_batch_sampler_stream_and_can_be_empty():
    g = torch.Generator().manual_seed(5)
    direct = [poisson_sample(30, 0.05, generator=g).tolist() for _ in range(40)]
    assert list(PoissonBatchSampler(30, 0.05, steps=40, generator=5)) == direct
    assert any(len(b) == 0 for b in direct)
    assert poisson_sample(7, 1.0).tolist() == list(range(7))


@pytest.mark.parametrize(
    ("args", "name"),
    [((0, 0.5), "num_samples"), ((5, 0.0), "sample_rate"), ((5, 1.5), "sample_rate")],
)
def test_poisson_sample_bad_inputs_name_the_parameter(args, name):
    with pytest.raises(ParameterValueError, match=name):
        poisson_sample(*args)


# --------------------------------------------------------------------------- GradSampleModule hooks


def test_grad_sample_module_accumulates_like_autograd_over_two_backward_passes():
    model = SmallCNN(1, 3, image_size=8)
    plain = copy.deepcopy(model)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(5, 1, 8, 8, generator=g), torch.randint(0, 3, (5,), generator=g)
    loss_fn = nn.CrossEntropyLoss()
    gsm = GradSampleModule(model)
    loss = loss_fn(gsm(x), y)
    loss.backward(retain_graph=True)
    first = {k: p.grad_sample.clone() for k, p in model.named_parameters()}
    loss.backward()
    loss_fn(plain(x), y).backward()
    loss_fn(plain(x), y).backward()
    for (k, p), q in zip(model.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(p.grad_sample, 2 * first[k], rtol=1e-5, atol=1e-7)
        assert p.grad_sample.is_contiguous()


def test_dp_optimizer_step_with_grad_sample_module_matches_opacus_on_a_cnn():
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

    ours = SmallCNN(1, 4, image_size=8)
    theirs = copy.deepcopy(ours)
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(6, 1, 8, 8, generator=g) * 3, torch.randint(0, 4, (6,), generator=g)
    loss_fn = nn.CrossEntropyLoss()
    opt = DPOptimizer(
        torch.optim.SGD(ours.parameters(), lr=0.5),
        noise_multiplier=0.0,
        max_grad_norm=0.1,
        expected_batch_size=6,
    )
    loss_fn(GradSampleModule(ours)(x), y).backward()
    opt.step()
    oopt = OpacusDPOptimizer(
        torch.optim.SGD(theirs.parameters(), lr=0.5),
        noise_multiplier=0.0,
        max_grad_norm=0.1,
        expected_batch_size=6,
    )
    with pytest.warns(UserWarning):  # Opacus's full backward hook on an input without grad
        loss_fn(opacus.GradSampleModule(theirs)(x), y).backward()
    oopt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)
