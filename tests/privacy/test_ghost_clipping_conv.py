"""Ghost clipping of convolutions and GroupNorm (mixed ghost clipping, Bu et al. 2022).

References: per-example backward passes (one loss.backward() per example) and
Opacus's GradSampleModule (for zero padding: Opacus 1.6's convolution
grad-sampler ignores ``padding_mode``, see the reflect-padding test).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from respai.privacy.dpsgd import (
    GhostClippingModule,
    GhostDPOptimizer,
    conv_norm_sq,
    conv_patches,
    make_private,
)
from respai.train import fit, make_loader

CONV_CASES = {  # name: (layer, input shape)
    "2d-plain": (lambda: nn.Conv2d(3, 4, 3), (5, 3, 7, 7)),
    "2d-stride-pad": (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (5, 3, 8, 8)),
    "2d-rect": (lambda: nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0)), (4, 2, 6, 9)),
    "2d-dilation": (lambda: nn.Conv2d(2, 3, 3, dilation=2, padding=2), (4, 2, 9, 9)),
    "2d-groups": (lambda: nn.Conv2d(4, 6, 3, groups=2, padding=1), (4, 4, 6, 6)),
    "2d-depthwise": (lambda: nn.Conv2d(3, 3, 3, groups=3), (4, 3, 6, 6)),
    "2d-same": (lambda: nn.Conv2d(2, 3, 4, padding="same"), (4, 2, 7, 7)),  # odd total pad
    "2d-reflect": (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), (4, 2, 6, 6)),
    "2d-circular": (lambda: nn.Conv2d(2, 3, 3, padding=2, padding_mode="circular"), (4, 2, 6, 6)),
    "2d-1x1-no-bias": (lambda: nn.Conv2d(5, 2, 1, bias=False), (4, 5, 3, 3)),
    "1d-plain": (lambda: nn.Conv1d(3, 4, 3, stride=2, padding=2), (5, 3, 11)),
    "1d-groups-dilation": (lambda: nn.Conv1d(4, 2, 2, groups=2, dilation=3), (5, 4, 10)),
    "1d-valid": (lambda: nn.Conv1d(2, 3, 5, padding="valid"), (5, 2, 9)),
}


def per_example_grads(model: nn.Module, loss, x: torch.Tensor) -> list[dict[str, torch.Tensor]]:
    """One backward pass per example: the reference."""
    out = []
    for i in range(len(x)):
        model.zero_grad()
        loss(model(x[i : i + 1])).backward()
        out.append({k: p.grad.clone() for k, p in model.named_parameters() if p.requires_grad})
    model.zero_grad()
    return out


def cubic(out: torch.Tensor) -> torch.Tensor:
    """A loss that is not linear in the outputs, summed over the batch."""
    return (out.tanh() ** 3).sum()


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_norms_and_clipped_sums_equal_per_example_gradients(case):
    make, shape = CONV_CASES[case]
    torch.manual_seed(0)
    model = nn.Sequential(make(), nn.Tanh(), nn.Flatten()).double()
    x = torch.randn(*shape, dtype=torch.float64)
    grads = per_example_grads(model, cubic, x)
    want = torch.stack([torch.cat([g.reshape(-1) for g in e.values()]).norm() for e in grads])

    ghost = GhostClippingModule(model, loss_reduction="sum")
    cubic(ghost(x)).backward()
    assert all(p.grad is None for p in model.parameters())
    torch.testing.assert_close(ghost.per_sample_norms(), want, rtol=1e-10, atol=1e-12)
    factors = torch.rand(len(x), dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sums = ghost.clipped_sum(factors)
    for name, p in model.named_parameters():
        expected = sum(f * e[name] for f, e in zip(factors, grads, strict=True))
        torch.testing.assert_close(sums[id(p)], expected, rtol=1e-10, atol=1e-12)


def test_conv_patches_equal_unfold_and_the_norm_formula_by_hand():
    x = torch.randn(3, 2, 7, 6, dtype=torch.float64)
    kwargs = {"kernel_size": (3, 2), "stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}
    unfolded = nn.functional.unfold(x, **kwargs)  # (B, C*k, T)
    torch.testing.assert_close(conv_patches(x, **kwargs), unfolded.transpose(1, 2))
    # channel-minor: the same numbers, unfold's (C, k_h, k_w) order moved to (k_h, k_w, C)
    by_channel = unfolded.transpose(1, 2).unflatten(2, (2, 3, 2)).permute(0, 1, 3, 4, 2)
    channel_minor = conv_patches(x, **kwargs, channels_last=True)
    torch.testing.assert_close(channel_minor, by_channel.flatten(2))
    # the direct form by hand: G_i = sum_t dy_t a_t^T
    dy = torch.randn(3, 4, unfolded.shape[-1], dtype=torch.float64)
    explicit = torch.einsum("bot,bit->boi", dy, unfolded).pow(2).sum(dim=(1, 2))
    h_out, w_out = 4, 8  # (7 + 2 - 3) // 2 + 1, (6 + 4 - 2 * (2 - 1) - 1) // 1 + 1
    dy_map = dy.view(3, 4, h_out, w_out)
    torch.testing.assert_close(conv_norm_sq(x, dy_map, **kwargs), explicit)


@pytest.mark.filterwarnings("ignore:Full backward hook:UserWarning")
@pytest.mark.filterwarnings("ignore:Using a non-full backward hook:UserWarning")
def test_a_groupnorm_cnn_dp_step_at_noise_zero_equals_opacus():
    opacus = pytest.importorskip("opacus")
    from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

    def cnn():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2),
            nn.GroupNorm(2, 8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 6, 3, padding=1, groups=2),
            nn.GroupNorm(3, 6),
            nn.Tanh(),
            nn.Flatten(),
            nn.Linear(6 * 3 * 3, 10),
        )

    x = torch.randn(16, 1, 12, 12, generator=torch.Generator().manual_seed(2))
    y = torch.arange(16) % 10
    loss_fn = nn.CrossEntropyLoss()

    ours, theirs = cnn(), cnn()
    ghost = GhostClippingModule(ours)
    opt = GhostDPOptimizer(
        torch.optim.SGD(ours.parameters(), lr=0.0),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=0.1,  # below most per-example norms: clipping matters
        expected_batch_size=16,
    )
    gsm = opacus.GradSampleModule(theirs)
    oopt = OpacusDPOptimizer(
        torch.optim.SGD(theirs.parameters(), lr=0.0),
        noise_multiplier=0.0,
        max_grad_norm=0.1,
        expected_batch_size=16,
    )
    loss_fn(ghost(x), y).backward()
    loss_fn(gsm(x), y).backward()
    want_norms = torch.cat([p.grad_sample.reshape(16, -1) for p in theirs.parameters()], 1)
    torch.testing.assert_close(ghost.per_sample_norms(), want_norms.norm(dim=1), rtol=1e-4, atol=0)
    assert (ghost.per_sample_norms() > 0.1).float().mean() > 0.5
    opt.step()
    oopt.step()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7)


def test_make_private_ghost_trains_a_cnn_like_vmap_with_the_same_seed():
    x = torch.randn(40, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    trained = []
    for mode in ("vmap", "ghost"):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, stride=2), nn.GroupNorm(2, 4), nn.Tanh(), nn.Flatten(),
            nn.Linear(4 * 3 * 3, 2),
        )  # fmt: skip
        m, opt, loader = make_private(
            model,
            torch.optim.SGD(model.parameters(), lr=0.5),
            make_loader(x, y, batch_size=10, shuffle=False),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            delta=1e-5,
            epochs=2,
            generator=7,
            grad_sample_mode=mode,
        )
        fit(m, loader, epochs=2, optimizer=opt, device="cpu", progress=False)
        trained.append(model)
    for p, q in zip(*(t.parameters() for t in trained), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


def test_conv_with_an_empty_batch_and_in_eval_mode():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(1, 2), nn.Flatten(), nn.Linear(8, 2))
    ghost = GhostClippingModule(model)
    opt = GhostDPOptimizer(
        torch.optim.SGD(model.parameters(), lr=0.1),
        module=ghost,
        noise_multiplier=0.0,
        max_grad_norm=1.0,
    )
    ghost(torch.zeros(0, 1, 4, 4)).sum().backward()
    opt.step()
    assert all(torch.count_nonzero(p.grad) == 0 for p in model.parameters())
    x = torch.randn(3, 1, 4, 4)
    ghost.eval()
    with torch.no_grad():
        torch.testing.assert_close(ghost(x), model(x))


def test_frozen_conv_passes_gradients_through_to_earlier_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Conv2d(2, 2, 3), nn.Flatten()).double()
    model[2].requires_grad_(False)
    x = torch.randn(4, 1, 6, 6, dtype=torch.float64)
    grads = per_example_grads(model, cubic, x)
    want = torch.stack([torch.cat([g.reshape(-1) for g in e.values()]).norm() for e in grads])
    ghost = GhostClippingModule(model, loss_reduction="sum")
    cubic(ghost(x)).backward()
    torch.testing.assert_close(ghost.per_sample_norms(), want, rtol=1e-10, atol=1e-12)


def test_opacus_conv_grad_sampler_ignores_reflect_padding():
    """Why the reflect case is checked against per-example backward passes, not Opacus."""
    opacus = pytest.importorskip("opacus")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")).double()
    x = torch.randn(3, 2, 5, 5, dtype=torch.float64)
    want = torch.stack([e["0.weight"] for e in per_example_grads(model, cubic, x)])
    gsm = opacus.GradSampleModule(copy.deepcopy(model), loss_reduction="sum")
    cubic(gsm(x)).backward()
    theirs = gsm._module[0].weight.grad_sample
    assert not torch.allclose(theirs, want)  # if this fails, Opacus fixed it: compare with it
