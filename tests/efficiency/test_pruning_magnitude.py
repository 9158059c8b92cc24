"""Unstructured magnitude pruning, cross-checked against torch.nn.utils.prune."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from respai.efficiency.pruning import (
    apply_masks,
    global_magnitude_masks,
    magnitude_mask,
    magnitude_masks,
    prunable_weights,
    prune_magnitude,
    remove_masks,
    sparsity,
)
from respai.exceptions import ParameterTypeError, ParameterValueError


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 6 * 6, 10),
        nn.ReLU(),
        nn.Linear(10, 3),
    )


@pytest.mark.parametrize("shape", [(7,), (5, 3), (4, 2, 3, 3)])
@pytest.mark.parametrize("amount", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_layer_mask_equals_torch_l1_unstructured(shape, amount):
    torch.manual_seed(1)
    weight = torch.randn(shape)
    module = nn.Module()
    module.weight = nn.Parameter(weight.clone())
    torch_prune.l1_unstructured(module, "weight", amount=amount)
    assert torch.equal(magnitude_mask(weight, amount), module.weight_mask)


def test_layer_mask_with_ties_and_rounding_equals_torch():
    # Many ties (zeros and repeated values) and round(0.25 * 10) = 2 (half to even).
    weight = torch.tensor([0.0, 1.0, -1.0, 0.0, 2.0, 1.0, 0.0, -3.0, 1.0, 0.5])
    for amount in (0.25, 0.35, 0.45, 0.65):
        module = nn.Module()
        module.weight = nn.Parameter(weight.clone())
        torch_prune.l1_unstructured(module, "weight", amount=amount)
        mask = magnitude_mask(weight, amount)
        assert torch.equal(mask, module.weight_mask)
        assert int((mask == 0).sum()) == round(amount * weight.numel())


def test_mask_of_a_non_contiguous_weight_equals_torch():
    # A transposed weight (a tied embedding, x.t()): the mask's flat view once raised here.
    torch.manual_seed(3)
    weight = torch.randn(6, 4).t()
    assert not weight.is_contiguous()
    module = nn.Module()
    module.weight = nn.Parameter(weight.contiguous())  # torch's own prune needs contiguous
    torch_prune.l1_unstructured(module, "weight", amount=0.5)
    assert torch.equal(magnitude_mask(weight, 0.5), module.weight_mask)


def test_mask_prunes_exactly_the_smallest_magnitudes():
    torch.manual_seed(2)
    weight = torch.randn(50, 20)
    mask = magnitude_mask(weight, 0.3)
    assert int((mask == 0).sum()) == 300
    assert weight[mask == 0].abs().max() < weight[mask == 1].abs().min()


@pytest.mark.parametrize("amount", [0.2, 0.5, 0.8])
def test_global_masks_equal_torch_global_unstructured(amount):
    ours_model, torch_model = small_net(), small_net()
    modules = prunable_weights(ours_model)
    ours = global_magnitude_masks([m.weight for m in modules.values()], amount)
    torch_modules = prunable_weights(torch_model)
    torch_prune.global_unstructured(
        [(m, "weight") for m in torch_modules.values()],
        pruning_method=torch_prune.L1Unstructured,
        amount=amount,
    )
    for mask, module in zip(ours, torch_modules.values(), strict=True):
        assert torch.equal(mask, module.weight_mask)
    # Global pruning gives layers different sparsities (the whole point).
    per_layer = [float((m == 0).float().mean()) for m in ours]
    assert max(per_layer) - min(per_layer) > 0.05


def test_model_masks_scopes_match_torch():
    model = small_net()
    for name, mask in magnitude_masks(model, 0.4, scope="layer").items():
        reference = copy.deepcopy(dict(model.named_modules())[name])
        torch_prune.l1_unstructured(reference, "weight", amount=0.4)
        assert torch.equal(mask, reference.weight_mask)


def test_apply_keeps_zeros_through_training_and_remove_makes_them_permanent():
    model = small_net()
    masks = prune_magnitude(model, 0.7)
    total = sum(m.numel() for m in masks.values())
    assert sparsity(model) == round(0.7 * total) / total
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,))
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    for name, module in prunable_weights(model).items():
        assert torch.all(module.weight[masks[name] == 0] == 0)
        assert torch.any(module.weight[masks[name] == 1] != 0)
    before = model(x)
    remove_masks(model)
    assert not any(torch_prune.is_pruned(m) for m in model.modules())
    assert {n for n, _ in model.named_parameters()} == {
        n for n, _ in small_net().named_parameters()
    }
    assert torch.equal(model(x), before)
    assert sparsity(model) == round(0.7 * total) / total


def test_global_pruning_does_not_touch_other_layers_or_biases():
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    bias = model[0].bias.detach().clone()
    prune_magnitude(model, 0.9)
    assert torch.equal(model[0].bias, bias)
    assert torch.all(model[1].weight == 1)


def test_sparsity_counts_zeros():
    layer = nn.Linear(4, 5)
    with torch.no_grad():
        layer.weight[:2] = 0
    assert sparsity(layer) == 8 / 20


def test_bad_input():
    with pytest.raises(ParameterValueError, match="sparsity"):
        magnitude_mask(torch.randn(3), 1.5)
    with pytest.raises(ParameterTypeError, match="weight"):
        magnitude_mask([1.0, 2.0], 0.5)
    with pytest.raises(ParameterTypeError, match="floating"):
        magnitude_mask(torch.tensor([1, 2]), 0.5)
    with pytest.raises(ParameterTypeError, match="weights"):
        global_magnitude_masks(torch.randn(3), 0.5)
    with pytest.raises(ParameterValueError, match="scope"):
        magnitude_masks(small_net(), 0.5, scope="model")
    with pytest.raises(ParameterValueError, match="at least one layer"):
        magnitude_masks(nn.ReLU(), 0.5)
    with pytest.raises(ParameterValueError, match="shape"):
        apply_masks(small_net(), {"5": torch.ones(2, 2)})
    with pytest.raises(ParameterValueError, match="name modules"):
        apply_masks(small_net(), {"nope": torch.ones(2, 2)})
