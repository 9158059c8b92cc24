"""Structured channel/neuron pruning: a physically smaller model that equals the masked one."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from respai.efficiency.pruning import (
    channel_importance,
    flatten_chain,
    mask_channels,
    plan_channel_pruning,
    prune_channels,
    select_channels,
)
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.models import MLP, SmallCNN


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def batchnorm_net():
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Dropout2d(0.2),
        nn.Conv2d(8, 6, 3),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, 12),
        nn.GELU(),
        nn.Linear(12, 5),
    )
    # Non-trivial running statistics, so the masked/pruned BatchNorm paths are exercised.
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(16, 3, 8, 8))
    return net.eval()


@pytest.mark.parametrize("p", [1, 2])
def test_importance_is_the_channel_norm(p):
    torch.manual_seed(0)
    weight = torch.randn(6, 3, 3, 3)
    expected = torch.stack([torch.linalg.vector_norm(weight[c], ord=p) for c in range(6)])
    assert torch.allclose(channel_importance(weight, p=p), expected)


@pytest.mark.parametrize("amount", [0.25, 0.5, 0.75])
def test_selection_equals_torch_ln_structured(amount):
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 8, 3)
    keep = select_channels(channel_importance(conv.weight, p=1), amount)
    torch_prune.ln_structured(conv, "weight", amount=amount, n=1, dim=0)
    kept_by_torch = (conv.weight_mask.reshape(8, -1).sum(1) > 0).nonzero().reshape(-1)
    assert torch.equal(keep, kept_by_torch)


def test_select_channels_groups_and_errors():
    scores = torch.tensor([0.1, 5.0, 0.2, 3.0, 1.0, 1.0])
    assert select_channels(scores, 0.5).tolist() == [1, 3, 4]
    assert select_channels(scores, 0.0).tolist() == list(range(6))
    # Groups of two: (0.1+5)=5.1, (0.2+3)=3.2, 2.0 -> keep the first group only at 2/3.
    assert select_channels(scores, 0.67, group_size=2).tolist() == [0, 1]
    with pytest.raises(ParameterValueError, match="at least one"):
        select_channels(scores, 1.0)
    with pytest.raises(ParameterValueError, match="divide"):
        select_channels(scores, 0.5, group_size=4)
    with pytest.raises(ParameterTypeError, match="1-D"):
        select_channels(scores.reshape(2, 3), 0.5)


@pytest.mark.parametrize(
    "build, input_shape",
    [
        (lambda: SmallCNN().eval(), (5, 1, 28, 28)),
        (lambda: MLP(20, (32, 16), 4).eval(), (5, 20)),
        (batchnorm_net, (5, 3, 8, 8)),
    ],
    ids=["smallcnn_groupnorm", "mlp", "conv_batchnorm"],
)
@pytest.mark.parametrize("amount", [0.0, 0.25, 0.5, 0.75])
def test_pruned_model_equals_masked_model(build, input_shape, amount):
    torch.manual_seed(4)
    model = build()
    original = copy.deepcopy(model.state_dict())
    x = torch.randn(input_shape)
    small, masked = prune_channels(model, amount).eval(), mask_channels(model, amount).eval()
    with torch.no_grad():
        out_small, out_masked, out_full = small(x), masked(x), model(x)
    torch.testing.assert_close(out_small, out_masked, rtol=1e-5, atol=1e-5)
    if amount == 0.0:
        torch.testing.assert_close(out_small, out_full, rtol=0, atol=0)
    else:
        assert n_params(small) < n_params(model)
        assert not torch.allclose(out_masked, out_full)
    # The original model is untouched.
    for name, value in model.state_dict().items():
        assert torch.equal(value, original[name])


def test_smallcnn_parameter_count_after_pruning():
    # SmallCNN: conv 1->16 (GroupNorm 4 groups), conv 16->32 (GroupNorm 8 groups), 1568->64, 64->10.
    # At sparsity 0.5: 2 of 4 groups -> 8 channels, 4 of 8 groups -> 16, 32 of 64 neurons.
    small = prune_channels(SmallCNN(), 0.5)
    conv1 = 8 * 1 * 9 + 8 + 2 * 8
    conv2 = 16 * 8 * 9 + 16 + 2 * 16
    fc1 = 32 * (16 * 49) + 32
    fc2 = 10 * 32 + 10
    assert n_params(small) == conv1 + conv2 + fc1 + fc2
    norms = [m for m in small if isinstance(m, nn.GroupNorm)]
    assert [(g.num_groups, g.num_channels) for g in norms] == [(2, 8), (4, 16)]


def test_kept_channels_are_the_strongest_whole_groups():
    model = SmallCNN()
    plans = plan_channel_pruning(model, 0.5)
    first = plans[0]
    assert first.group_size == 4 and first.positions == 1
    norms = model.features[0][0].weight.detach().abs().reshape(16, -1).sum(1)
    group_scores = norms.reshape(4, 4).sum(1)
    best = set(group_scores.argsort(descending=True)[:2].tolist())
    assert set((first.keep // 4).tolist()) == best
    flatten_plan = plans[1]
    assert flatten_plan.positions == 49  # 7 x 7 positions per channel into the Linear


def test_per_layer_sparsities():
    model = MLP(10, (20, 10), 2)
    small = prune_channels(model, [0.5, 0.2])
    assert [m.out_features for m in small if isinstance(m, nn.Linear)] == [10, 8, 2]
    with pytest.raises(ParameterValueError, match="one per prunable layer"):
        prune_channels(model, [0.5])


def test_unsupported_models_are_refused():
    with pytest.raises(ParameterValueError, match="Sigmoid"):
        prune_channels(nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Linear(4, 2)), 0.5)
    with pytest.raises(ParameterValueError, match="groups"):
        prune_channels(nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.Conv2d(4, 2, 1)), 0.5)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return x + self.b(self.a(x))

    with pytest.raises(ParameterTypeError, match="chain"):
        flatten_chain(Residual())
    with pytest.raises(ParameterValueError, match="none to prune"):
        prune_channels(nn.Sequential(nn.Linear(4, 2)), 0.5)
    with pytest.raises(ParameterValueError, match="sparsity"):
        prune_channels(MLP(4, (4,), 2), 1.5)
