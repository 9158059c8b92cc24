"""Iterative prune / fine-tune schedules and lottery-ticket rewinding."""

import math

import pytest
import torch
from torch import nn

from respai.efficiency.pruning import (
    find_lottery_ticket,
    iterative_pruning,
    prunable_weights,
    rewind,
    snapshot,
    sparsity,
    sparsity_schedule,
)
from respai.exceptions import ParameterValueError
from respai.models import MLP
from respai.train import make_loader


def toy_loader(n=128, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return make_loader(x, y, batch_size=32, shuffle=True, generator=seed)


def test_schedules():
    geometric = sparsity_schedule(0.9, 3)
    # Each step keeps the same fraction (0.1 ** (1/3)) of what remained.
    kept = [1 - s for s in [0.0, *geometric]]
    ratios = [b / a for a, b in zip(kept, kept[1:], strict=False)]
    assert all(math.isclose(r, 0.1 ** (1 / 3)) for r in ratios)
    assert math.isclose(geometric[-1], 0.9)
    cubic = sparsity_schedule(0.8, 4, kind="cubic")
    assert cubic == pytest.approx([0.8 * (1 - (1 - t / 4) ** 3) for t in (1, 2, 3, 4)])
    assert all(a < b for a, b in zip(cubic, cubic[1:], strict=False))
    with pytest.raises(ParameterValueError, match="kind"):
        sparsity_schedule(0.5, 2, kind="linear")
    with pytest.raises(ParameterValueError, match="steps"):
        sparsity_schedule(0.5, 0)


def test_iterative_pruning_reaches_target_and_keeps_earlier_zeros():
    torch.manual_seed(0)
    model = MLP(8, (16,), 2)
    total = sum(m.weight.numel() for m in prunable_weights(model).values())
    steps = iterative_pruning(
        model, toy_loader(), final_sparsity=0.8, steps=3, epochs_per_step=1, device="cpu"
    )
    targets = sparsity_schedule(0.8, 3)
    assert [s.target_sparsity for s in steps] == targets
    for step, target in zip(steps, targets, strict=True):
        assert step.sparsity == round(target * total) / total
        assert step.history.epochs == 1
    assert sparsity(model) == round(0.8 * total) / total  # fine-tuning did not regrow weights
    # The masks stay on the model, so further fine-tuning keeps the zeros too.
    assert all(hasattr(m, "weight_mask") for m in prunable_weights(model).values())


def test_lottery_ticket_rewinds_to_init():
    torch.manual_seed(0)
    model = MLP(8, (16,), 2)
    init = snapshot(model)
    ticket = find_lottery_ticket(
        model, toy_loader(), sparsity_target=0.75, epochs=1, rounds=2, device="cpu"
    )
    assert ticket.model is model
    assert all(torch.equal(ticket.rewind_state[k], init[k]) for k in init)
    total = sum(m.numel() for m in ticket.masks.values())
    expected = [round((1 - 0.25 ** (r / 2)) * total) / total for r in (1, 2)]
    assert ticket.sparsities == expected
    for name, module in prunable_weights(model).items():
        # The ticket is m * theta_0 exactly: surviving weights are back at their initial values.
        assert torch.equal(module.weight, ticket.masks[name] * init[f"{name}.weight"])
        assert torch.equal(module.bias, init[f"{name}.bias"])


def test_lottery_ticket_late_rewinding_snapshots_after_k_steps():
    torch.manual_seed(0)
    model = MLP(8, (16,), 2)
    init = snapshot(model)
    # Replay the first k = 2 steps by hand on the same batches to get theta_k independently.
    torch.manual_seed(1)
    replay = MLP(8, (16,), 2)
    replay.load_state_dict(init)
    optimizer = torch.optim.Adam(replay.parameters(), lr=1e-3)
    for x, y in list(toy_loader())[:2]:
        optimizer.zero_grad()
        nn.functional.cross_entropy(replay(x), y).backward()
        optimizer.step()
    ticket = find_lottery_ticket(
        model, toy_loader(), sparsity_target=0.5, epochs=1, rewind_iteration=2, device="cpu"
    )
    for name, value in replay.state_dict().items():
        torch.testing.assert_close(ticket.rewind_state[name], value)
    assert not torch.equal(ticket.rewind_state["0.weight"], init["0.weight"])
    with pytest.raises(ParameterValueError, match="rewind_iteration"):
        find_lottery_ticket(
            MLP(8, (4,), 2),
            toy_loader(),
            sparsity_target=0.5,
            epochs=1,
            rewind_iteration=99,
            device="cpu",
        )


def test_rewind_resets_weights_and_masks():
    model = MLP(4, (6,), 2)
    state = snapshot(model)
    masks = {"0": torch.zeros(6, 4), "2": torch.ones(2, 6)}
    with torch.no_grad():
        model[0].weight.add_(1.0)
    rewind(model, state, masks)
    assert torch.equal(model[0].weight, torch.zeros(6, 4))
    assert torch.equal(model[2].weight, state["2.weight"])
    with pytest.raises(ParameterValueError, match="sparsity_target"):
        find_lottery_ticket(model, toy_loader(), sparsity_target=1.0, epochs=1)
