"""LoRA (Hu et al. 2022), freezing and the ids -> logits wrapper of respai.adapters."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from respai.adapters import (
    IdsClassifier,
    LoRALinear,
    add_lora,
    count_parameters,
    freeze_all_but,
    lora_linear,
)
from respai.exceptions import ParameterTypeError, ParameterValueError
from respai.privacy.dpsgd import GhostClippingModule

transformers = pytest.importorskip("transformers")


def tiny_bert() -> nn.Module:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=40,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=24,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        attn_implementation="eager",
    )
    return transformers.BertForSequenceClassification(config)


def test_lora_linear_equals_the_merged_weight():
    g = torch.Generator().manual_seed(0)
    x, w, b = torch.randn(5, 3, 6, generator=g), torch.randn(4, 6, generator=g), torch.randn(4)
    a, bb = torch.randn(2, 6, generator=g), torch.randn(4, 2, generator=g)
    merged = nn.functional.linear(x, w + 0.5 * bb @ a, b)  # W + s B A, formed explicitly
    torch.testing.assert_close(lora_linear(x, w, b, a, bb, 0.5), merged)
    torch.testing.assert_close(lora_linear(x, w, None, a, bb, 0.5), merged - b)


def test_lora_layer_starts_as_its_base_and_trains_only_a_and_b():
    base = nn.Linear(6, 4)
    layer = LoRALinear(base, rank=2, alpha=4.0, generator=1)
    x = torch.randn(3, 6)
    torch.testing.assert_close(layer(x), base(x))  # B = 0 at initialisation
    assert count_parameters(layer) == 2 * 6 + 4 * 2
    assert count_parameters(layer, trainable=False) == 2 * 6 + 4 * 2 + 6 * 4 + 4
    with torch.no_grad():
        layer.lora_B.weight.normal_()
    want = lora_linear(x, base.weight, base.bias, layer.lora_A.weight, layer.lora_B.weight, 2.0)
    torch.testing.assert_close(layer(x), want)
    # the seed fixes A
    again = LoRALinear(nn.Linear(6, 4), rank=2, generator=1)
    torch.testing.assert_close(again.lora_A.weight, layer.lora_A.weight)
    assert torch.all(layer.lora_A.weight.abs() <= 1 / 6**0.5)


def test_add_lora_on_bert_keeps_the_function_and_freezes_the_base():
    model = tiny_bert().eval()
    ids = torch.randint(1, 40, (3, 7))
    before = model(input_ids=ids).logits
    add_lora(model, rank=4, generator=0)
    torch.testing.assert_close(model(input_ids=ids).logits, before)
    lora = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    assert sorted(lora) == sorted(
        f"bert.encoder.layer.{i}.attention.self.{p}" for i in range(2) for p in ("query", "value")
    )
    freeze_all_but(model, ["lora_", "classifier"])
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all("lora_" in n or "classifier" in n for n in names)
    # 4 adapted layers of 16 -> 16 at rank 4, plus the 16 -> 2 head
    assert count_parameters(model) == 4 * (4 * 16 + 16 * 4) + 16 * 2 + 2


def test_ghost_clipping_sees_the_adapters():
    """Per-sample norms of a LoRA model: ghost clipping vs one backward pass per example."""
    model = add_lora(tiny_bert().train(), rank=2, generator=0)
    freeze_all_but(model, ["lora_", "classifier"])
    for m in model.modules():  # non-zero B, so that A's gradient is not zero
        if isinstance(m, LoRALinear):
            nn.init.normal_(m.lora_B.weight, std=0.5)
    ids = torch.randint(1, 40, (4, 6), generator=torch.Generator().manual_seed(3))
    ids[1, 4:] = 0
    y = torch.tensor([0, 1, 1, 0])
    wrapped = IdsClassifier(model)
    ref = []
    for i in range(4):
        model.zero_grad()
        nn.functional.cross_entropy(wrapped(ids[i : i + 1]), y[i : i + 1]).backward()
        ref.append(torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.requires_grad]))
    ghost = GhostClippingModule(wrapped)
    nn.functional.cross_entropy(ghost(ids), y).backward()
    want = torch.stack(ref).norm(dim=1)
    torch.testing.assert_close(ghost.per_sample_norms(), want, rtol=1e-4, atol=1e-6)


def test_ids_classifier_masks_padding_and_accepts_float_ids():
    model = tiny_bert().eval()
    ids = torch.tensor([[2, 5, 7, 0, 0], [3, 4, 5, 6, 8]])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    want = model(input_ids=ids, attention_mask=mask).logits
    wrapped = IdsClassifier(model)
    torch.testing.assert_close(wrapped(ids), want)
    torch.testing.assert_close(wrapped(ids.float()), want)
    with pytest.raises(ParameterValueError, match="pad_token_id"):
        IdsClassifier(nn.Linear(2, 2))


def test_freeze_all_but_and_bad_inputs():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    freeze_all_but(net, ["2."])
    assert [p.requires_grad for p in net.parameters()] == [False, False, True, True]
    freeze_all_but(net, ["0.weight", "2.bias"])  # also unfreezes
    assert [p.requires_grad for p in net.parameters()] == [True, False, False, True]
    assert count_parameters(net) == 7
    with pytest.raises(ParameterValueError, match=r"match at least one.*0\.weight"):
        freeze_all_but(net, ["head"])
    with pytest.raises(ParameterTypeError, match="sequence of strings"):
        freeze_all_but(net, "2.")
    with pytest.raises(ParameterValueError, match="non-empty"):
        freeze_all_but(net, [])
    with pytest.raises(ParameterValueError, match="q_lin"):
        add_lora(net, targets=["query"])
    with pytest.raises(ParameterTypeError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(1, 1, 1))
    with pytest.raises(ParameterValueError, match="rank"):
        LoRALinear(nn.Linear(2, 2), rank=0)


def test_mean_pooling_reads_the_mean_of_real_tokens_and_freezes_the_pooler():
    model = tiny_bert().eval()
    ids = torch.tensor([[2, 5, 7, 0, 0], [3, 4, 5, 6, 8]])
    wrapped = IdsClassifier(model, pooling="mean")
    assert not any(p.requires_grad for p in model.bert.pooler.parameters())
    assert all(p.requires_grad for p in model.classifier.parameters())
    hidden = model.bert(input_ids=ids, attention_mask=(ids != 0).long()).last_hidden_state
    means = torch.stack([hidden[0, :3].mean(0), hidden[1].mean(0)])  # padding left out
    torch.testing.assert_close(wrapped(ids), model.classifier(means))
    with pytest.raises(ParameterValueError, match="pooling"):
        IdsClassifier(model, pooling="max")
    distil = transformers.DistilBertForSequenceClassification(
        transformers.DistilBertConfig(
            vocab_size=40, dim=16, n_layers=1, n_heads=2, hidden_dim=24, max_position_embeddings=16
        )
    )
    IdsClassifier(distil, pooling="mean")
    assert not any(p.requires_grad for p in distil.pre_classifier.parameters())
    assert IdsClassifier(distil, pooling="mean")(ids).shape == (2, 2)
