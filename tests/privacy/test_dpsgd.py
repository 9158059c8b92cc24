"""Tests of respai.privacy.dpsgd: per-sample gradients, clipping, noise, make_private."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.models import SmallCNN
from respai.privacy.accounting import dpsgd_epsilon
from respai.privacy.dpsgd import (
    BATCHNORM_MESSAGE,
    DPOptimizer,
    GradSampleModule,
    PoissonBatchSampler,
    clip_and_sum,
    make_private,
    per_sample_gradients,
    per_sample_norms,
    validate_model,
)
from respai.train import evaluate, fit, make_loader


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))


def _loop_grads(model: nn.Module, loss_fn, x, y) -> dict[str, torch.Tensor]:
    """Reference: one backward pass per example."""
    out: dict[str, list[torch.Tensor]] = {k: [] for k, _ in model.named_parameters()}
    for i in range(len(x)):
        model.zero_grad()
        loss_fn(model(x[i : i + 1]), y[i : i + 1]).backward()
        for k, p in model.named_parameters():
            out[k].append(p.grad.detach().clone())
    return {k: torch.stack(v) for k, v in out.items()}


CASES = [
    ("mlp", _mlp, (6, 3), 2),
    ("cnn", lambda: SmallCNN(1, 3, image_size=8), (4, 1, 8, 8), 3),
]


@pytest.mark.parametrize("name,make,shape,classes", CASES, ids=[c[0] for c in CASES])
def test_per_sample_gradients_match_a_loop(name, make, shape, classes):
    model = make()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(*shape, generator=g)
    y = torch.randint(0, classes, (shape[0],), generator=g)
    loss_fn = nn.CrossEntropyLoss()
    ref = _loop_grads(model, loss_fn, x, y)

    vm = per_sample_gradients(model, loss_fn, x, y)
    gsm = GradSampleModule(model)
    model.zero_grad()
    loss_fn(gsm(x), y).backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(vm[k], ref[k], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(p.grad_sample, ref[k], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(p.grad, ref[k].mean(0), rtol=1e-4, atol=1e-6)


def test_grad_sample_module_sum_reduction_and_eval_mode():
    model = _mlp()
    x, y = torch.randn(4, 3), torch.tensor([0, 1, 1, 0])
    ref = _loop_grads(model, nn.CrossEntropyLoss(), x, y)
    gsm = GradSampleModule(model, loss_reduction="sum")
    model.zero_grad()
    nn.CrossEntropyLoss(reduction="sum")(gsm(x), y).backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad_sample, ref[k], rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(gsm(x), model(x))
    assert gsm(x[:0]).shape == (0, 2)  # an empty Poisson batch passes through


def test_clipping_bounds_every_per_sample_norm():
    g = torch.Generator().manual_seed(0)
    grads = [10 * torch.randn(8, 4, 3, generator=g), torch.randn(8, 3, generator=g)]
    grads[0][0] = 0.0
    grads[1][0] = 1e-3  # a tiny gradient is left alone
    norms = per_sample_norms(grads)
    flat = torch.cat([t.reshape(8, -1) for t in grads], dim=1).norm(dim=1)
    torch.testing.assert_close(norms, flat)
    c = 1.5
    factors = (c / (norms + 1e-6)).clamp(max=1.0)
    clipped = [t * factors.view(-1, *[1] * (t.ndim - 1)) for t in grads]
    assert torch.all(per_sample_norms(clipped) <= c * (1 + 1e-5))
    torch.testing.assert_close(
        per_sample_norms(clipped)[1:], torch.full((7,), c), rtol=1e-4, atol=0
    )
    sums = clip_and_sum(grads, c)
    for s, t in zip(sums, clipped, strict=True):
        torch.testing.assert_close(s, t.sum(0))


def test_noiseless_unclipped_dp_step_equals_plain_sgd_step():
    model = _mlp()
    plain = copy.deepcopy(model)
    x, y = torch.randn(10, 3), torch.randint(0, 2, (10,))
    loss_fn = nn.CrossEntropyLoss()
    gsm = GradSampleModule(model)
    opt = DPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        noise_multiplier=0.0,
        max_grad_norm=1e6,
        expected_batch_size=10,  # the drawn batch happens to have the expected size
    )
    opt.zero_grad()
    loss_fn(gsm(x), y).backward()
    opt.step()
    sgd = torch.optim.SGD(plain.parameters(), lr=0.1)
    sgd.zero_grad()
    loss_fn(plain(x), y).backward()
    sgd.step()
    for p, q in zip(model.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_noise_has_std_sigma_c_over_expected_batch_size():
    # Zero per-sample gradients: the privatised gradient is pure noise N(0, (sigma C / B)^2).
    # n = 10100 draws; the sample std has relative s.e. 1/sqrt(2n) = 0.7%; a 5 s.e. bound
    # fails with probability < 1e-6 for a correct sampler (and the seed is fixed).
    model = nn.Linear(100, 100)
    sigma, c, b = 1.3, 0.7, 4.0
    opt = DPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.0),
        noise_multiplier=sigma,
        max_grad_norm=c,
        expected_batch_size=b,
        generator=torch.Generator().manual_seed(0),
    )
    for p in model.parameters():
        p.grad_sample = torch.zeros(3, *p.shape)
    opt.privatize_gradients()
    noise = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    n, std = noise.numel(), sigma * c / b
    assert abs(noise.std().item() / std - 1) < 5 / math.sqrt(2 * n)
    assert abs(noise.mean().item()) < 5 * std / math.sqrt(n)


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
def test_clipped_sum_matches_opacus():
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

    ours, theirs = _mlp(), _mlp()
    x, y = torch.randn(8, 3) * 5, torch.randint(0, 2, (8,))
    loss_fn = nn.CrossEntropyLoss()
    c = 0.3  # small: most examples are clipped

    gsm = GradSampleModule(ours)
    opt = DPOptimizer(
        torch.optim.SGD(ours.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=c,
        expected_batch_size=8,
    )
    loss_fn(gsm(x), y).backward()
    opt.step()

    ogsm = opacus.GradSampleModule(theirs)
    oopt = OpacusDPOptimizer(
        torch.optim.SGD(theirs.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=c,
        expected_batch_size=8,
    )
    loss_fn(ogsm(x), y).backward()
    oopt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)


def test_batchnorm_is_rejected_with_every_problem_listed():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2), nn.BatchNorm1d(2)
    )
    assert len(validate_model(model)) == 2
    with pytest.raises(ParameterValueError) as err:
        make_private(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            make_loader(torch.zeros(4, 1, 5, 5), torch.zeros(4), batch_size=2, shuffle=False),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            delta=1e-5,
            epochs=1,
        )
    message = str(err.value)
    assert "2 problem(s)" in message and "'1'" in message and "'4'" in message
    assert "mixes the examples of a batch" in message and "GroupNorm" in message
    assert BATCHNORM_MESSAGE in message
    assert validate_model(SmallCNN()) == []


def test_poisson_sampler_is_reproducible_and_can_be_empty():
    s1 = list(PoissonBatchSampler(50, 0.02, generator=3))
    s2 = list(PoissonBatchSampler(50, 0.02, generator=3))
    assert s1 == s2 and len(s1) == 50
    assert any(len(b) == 0 for b in s1)
    sizes = [len(b) for b in PoissonBatchSampler(1000, 0.1, steps=200, generator=0)]
    assert abs(sum(sizes) / len(sizes) - 100) < 5 * math.sqrt(90 / 200)


def test_make_private_trains_with_fit_and_reports_epsilon():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 2, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Linear(2, 2)
    loader = make_loader(x, y, batch_size=32, shuffle=True, generator=0)
    dp_model, opt, dp_loader = make_private(
        model,
        torch.optim.SGD(model.parameters(), lr=0.5),
        loader,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        delta=1e-5,
        epochs=3,
        generator=0,
    )
    assert len(dp_loader) == 8 and opt.sample_rate == 1 / 8 and opt.expected_batch_size == 32
    assert opt.get_epsilon() == 0.0
    fit(dp_model, dp_loader, epochs=3, optimizer=opt, device="cpu", progress=False)
    assert opt.accountant.steps == 24
    assert opt.get_epsilon() == pytest.approx(dpsgd_epsilon(1 / 8, 1.0, 24, 1e-5), rel=1e-12)
    val = make_loader(x, y, batch_size=256, shuffle=False)
    assert evaluate(dp_model, val, device="cpu")["accuracy"] > 0.9


def test_make_private_calibrates_to_target_epsilon():
    model = nn.Linear(2, 2)
    loader = make_loader(torch.zeros(100, 2), torch.zeros(100).long(), batch_size=10, shuffle=True)
    _, opt, _ = make_private(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        loader,
        target_epsilon=2.0,
        max_grad_norm=1.0,
        delta=1e-5,
        epochs=2,
    )
    eps = dpsgd_epsilon(0.1, opt.noise_multiplier, 20, 1e-5)
    assert eps == pytest.approx(2.0, rel=1e-2) and eps <= 2.0 + 1e-9


def _call(**overrides):
    model = nn.Linear(2, 2)
    kwargs = dict(
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        data_loader=make_loader(
            torch.zeros(8, 2), torch.zeros(8).long(), batch_size=4, shuffle=False
        ),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        delta=1e-5,
        epochs=1,
    )
    kwargs.update(overrides)
    return make_private(**kwargs)


@pytest.mark.parametrize(
    "overrides,name",
    [
        ({"max_grad_norm": -1}, "`max_grad_norm`"),
        ({"delta": 2.0}, "`delta`"),
        ({"epochs": 0}, "`epochs`"),
        ({"noise_multiplier": -0.5}, "`noise_multiplier`"),
        ({"target_epsilon": 1.0}, "`noise_multiplier` and `target_epsilon`"),
        ({"noise_multiplier": None}, "`noise_multiplier` and `target_epsilon`"),
        ({"accountant": "gdp"}, "accountant"),
        ({"loss_reduction": "none"}, "`loss_reduction`"),
        ({"optimizer": torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)}, "`optimizer`"),
    ],
)
def test_bad_inputs_name_the_parameter(overrides, name):
    with pytest.raises(ValueError, match=name.replace("`", ".").replace(" ", ".")):
        _call(**overrides)


@pytest.mark.parametrize(
    "overrides,name",
    [
        ({"model": "net"}, "`model`"),
        ({"optimizer": None}, "`optimizer`"),
        ({"data_loader": [1]}, "`data_loader`"),
    ],
)
def test_bad_types_name_the_parameter(overrides, name):
    with pytest.raises(ParameterTypeError, match=name):
        _call(**overrides)


def test_step_without_per_sample_gradients_explains():
    model = nn.Linear(2, 1)
    opt = DPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1), noise_multiplier=1.0, max_grad_norm=1.0
    )
    model(torch.zeros(1, 2)).sum().backward()
    with pytest.raises(ParameterValueError, match="GradSampleModule"):
        opt.step()


def test_fit_survives_empty_poisson_batches():
    model = SmallCNN(1, 2, image_size=8)
    loader = make_loader(
        torch.randn(20, 1, 8, 8), torch.randint(0, 2, (20,)), batch_size=1, shuffle=True
    )
    model, opt, dp_loader = make_private(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        loader,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        delta=1e-5,
        epochs=1,
        generator=1,
    )
    assert any(len(x) == 0 for x, _ in dp_loader)  # q = 1/20: most batches are empty
    fit(model, dp_loader, epochs=1, optimizer=opt, device="cpu", progress=False)
    assert opt.accountant.steps == 20
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_scalar_parameter_is_clipped_with_the_others():
    # A temperature or a learned scale: its per-sample gradients have shape (B,), which
    # flatten(1) refused (IndexError).
    scalar, matrix = torch.tensor([3.0, 0.0, -1.0]), torch.tensor([[[4.0]], [[1.0]], [[0.0]]])
    expected = torch.sqrt(scalar**2 + matrix.flatten(1).pow(2).sum(dim=1))
    assert torch.allclose(per_sample_norms([scalar, matrix]), expected)

    class ScaledLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 2)
            self.temperature = nn.Parameter(torch.tensor(1.0))

        def forward(self, x):
            return self.linear(x) / self.temperature

    torch.manual_seed(0)
    model = ScaledLinear()
    data = TensorDataset(torch.randn(64, 3), torch.randint(0, 2, (64,)))
    private, optimizer, loader = make_private(
        model, torch.optim.SGD(model.parameters(), lr=0.1), DataLoader(data, batch_size=16),
        noise_multiplier=1.0, max_grad_norm=1.0, delta=1e-5, epochs=1, generator=0,
    )  # fmt: skip
    x, y = next(iter(loader))
    nn.functional.cross_entropy(private(x), y).backward()
    optimizer.step()
    assert model.temperature.item() != 1.0, "the scalar parameter must be trained too"
