"""respai.efficiency.measure: counts by hand, FLOPs against torch's counter, timing, energy.

Reference values come from independent sources: hand arithmetic, PyTorch's
``FlopCounterMode`` called directly, ``nn.Conv2d``'s own output shape, NumPy's
percentiles, and CodeCarbon's country table.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.flop_counter import FlopCounterMode

from respai.efficiency.measure import (
    ESTIMATE_UNCERTAINTY_FACTOR,
    EnergyReport,
    LatencyStats,
    _memory,
    attention_flops,
    conv2d_flops,
    count_flops,
    count_nonzero_parameters,
    count_parameters,
    linear_flops,
    measure_energy,
    measure_latency,
    model_size_bytes,
    peak_memory_mb,
    serialized_size_bytes,
    summarize_latency,
)
from respai.exceptions import ParameterTypeError, ParameterValueError


def raw_counter_flops(fn, *args) -> int:
    """FlopCounterMode exactly as torch ships it (no respai additions)."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn(*args)
    return counter.get_total_flops()


def quantize_dynamic(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
        return torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)


# --------------------------------------------------------------------------- sizes


class TestParameterCounts:
    def test_linear_and_conv_by_hand(self):
        assert count_parameters(nn.Linear(7, 5)) == 7 * 5 + 5
        assert count_parameters(nn.Linear(7, 5, bias=False)) == 35
        assert count_parameters(nn.Conv2d(3, 8, 5)) == 8 * 3 * 5 * 5 + 8
        assert count_parameters(nn.Conv2d(8, 8, 3, groups=4, bias=False)) == 8 * 2 * 3 * 3

    def test_batchnorm_buffers_are_not_parameters(self):
        bn = nn.BatchNorm1d(10)  # weight, bias; running mean/var + counter are buffers
        assert count_parameters(bn) == 20
        assert model_size_bytes(bn) == 20 * 4 + 20 * 4 + 8  # float32 x 40, int64 counter

    def test_shared_weights_counted_once(self):
        layer = nn.Linear(4, 4)
        model = nn.Sequential(layer, nn.ReLU(), layer)
        assert count_parameters(model) == 20
        assert model_size_bytes(model) == 80

    def test_trainable_only(self):
        model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
        model[0].requires_grad_(False)
        assert count_parameters(model) == 15 + 8
        assert count_parameters(model, trainable_only=True) == 8

    def test_pruning_keeps_count_and_grows_size(self):
        layer = nn.Linear(10, 10)
        dense_bytes = model_size_bytes(layer)
        prune.l1_unstructured(layer, "weight", amount=30)
        assert count_parameters(layer) == 110
        assert count_nonzero_parameters(layer) == 110 - 30
        # weight_orig (parameter) + weight_mask (float32 buffer): 100 more floats
        assert model_size_bytes(layer) == dense_bytes + 100 * 4

    def test_nonzero_counts_exact_zeros(self):
        layer = nn.Linear(6, 4)
        with torch.no_grad():
            layer.weight[:2] = 0.0
            layer.bias.fill_(0.0)
        assert count_nonzero_parameters(layer) == 24 - 12

    def test_quantized_linear_packed_weights(self):
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))
        q = quantize_dynamic(model)
        assert count_parameters(q) == count_parameters(model) == 64 * 32 + 32 + 32 * 4 + 4
        # int8 weights, float32 biases, one float64 scale + int64 zero point per layer
        expected = (64 * 32 + 32 * 4) * 1 + (32 + 4) * 4 + 2 * 16
        assert model_size_bytes(q) == expected
        assert count_nonzero_parameters(q) <= count_parameters(q)

    def test_size_follows_dtype(self):
        layer = nn.Linear(100, 10)  # 1010 values
        assert model_size_bytes(layer) == 1010 * 4
        assert model_size_bytes(layer.to(torch.float16)) == 1010 * 2
        assert model_size_bytes(nn.Linear(100, 10).to(torch.bfloat16)) == 1010 * 2
        assert model_size_bytes(nn.Linear(100, 10).to(torch.float64)) == 1010 * 8

    def test_serialized_size_close_to_memory_size_for_large_model(self):
        model = nn.Linear(1000, 500)
        in_memory = model_size_bytes(model)
        on_disk = serialized_size_bytes(model)
        assert in_memory < on_disk < 1.01 * in_memory  # zip framing is small
        half = serialized_size_bytes(model.half())
        assert 0.49 < half / on_disk < 0.51

    @pytest.mark.parametrize(
        "fn",
        [count_parameters, count_nonzero_parameters, model_size_bytes, serialized_size_bytes],
    )
    def test_refuses_non_modules(self, fn):
        with pytest.raises(ParameterTypeError, match="`model` must be a torch.nn.Module"):
            fn([torch.zeros(3)])

    def test_trainable_only_must_be_bool(self):
        with pytest.raises(ParameterTypeError, match="trainable_only"):
            count_parameters(nn.Linear(2, 2), trainable_only="yes")


# --------------------------------------------------------------------------- FLOPs


class TestFlops:
    @pytest.mark.parametrize("shape", [(5, 16), (2, 7, 16)])
    def test_linear_matches_counter(self, shape):
        layer = nn.Linear(16, 9)
        x = torch.randn(*shape)
        rows = math.prod(shape[:-1])
        assert linear_flops(rows, 16, 9, bias=False) == raw_counter_flops(layer, x)
        assert count_flops(layer, x) == raw_counter_flops(layer, x)

    def test_linear_bias_adds_one_per_output(self):
        assert linear_flops(5, 16, 9) - linear_flops(5, 16, 9, bias=False) == 5 * 9

    @pytest.mark.parametrize(
        "kwargs",
        [
            dict(kernel_size=3, stride=1, padding=0, dilation=1, groups=1),
            dict(kernel_size=3, stride=2, padding=1, dilation=1, groups=1),
            dict(kernel_size=(3, 5), stride=(1, 2), padding=(1, 2), dilation=1, groups=1),
            dict(kernel_size=3, stride=1, padding=2, dilation=2, groups=2),
            dict(kernel_size=3, stride=1, padding=1, dilation=1, groups=4),  # depthwise
        ],
    )
    def test_conv2d_matches_counter_and_output_shape(self, kwargs):
        conv = nn.Conv2d(4, 8, **kwargs)
        x = torch.randn(2, 4, 11, 13)
        out = conv(x)
        flops = conv2d_flops(
            2,
            4,
            8,
            kwargs["kernel_size"],
            (11, 13),
            bias=False,
            **{k: v for k, v in kwargs.items() if k != "kernel_size"},
        )
        assert flops == raw_counter_flops(conv, x)
        with_bias = conv2d_flops(
            2,
            4,
            8,
            kwargs["kernel_size"],
            (11, 13),
            **{k: v for k, v in kwargs.items() if k != "kernel_size"},
        )
        assert with_bias - flops == out.numel()

    @pytest.mark.parametrize("batch,seq_len,d_model,n_heads", [(2, 7, 16, 4), (1, 33, 24, 3)])
    def test_attention_matches_counter_on_multihead_attention(
        self, batch, seq_len, d_model, n_heads
    ):
        mha = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        x = torch.randn(batch, seq_len, d_model)
        # Training mode, weights returned: the unfused path of explicit matmuls.
        reference = raw_counter_flops(lambda: mha(x, x, x, need_weights=True))
        assert attention_flops(batch, seq_len, d_model, n_heads) == reference

    def test_count_flops_sees_fast_paths_the_raw_counter_misses(self):
        mha = nn.MultiheadAttention(16, 4, batch_first=True).eval()
        x = torch.randn(2, 7, 16)
        expected = attention_flops(2, 7, 16, 4)
        with torch.no_grad():
            raw = raw_counter_flops(lambda: mha(x, x, x, need_weights=False))
        assert raw < expected  # the fused inference kernel is invisible to torch's counter
        assert count_flops(mha, x, x, x, need_weights=False) == expected
        q = torch.randn(2, 4, 7, 4)
        sdpa = count_flops(torch.nn.functional.scaled_dot_product_attention, q, q, q)
        b, h, L, dh = 2, 4, 7, 4
        assert sdpa == 2 * (2 * b * h * L * L * dh)  # QK^T and AV, 2 FLOPs per MAC

    def test_count_flops_on_transformer_encoder_layer_in_inference(self):
        d, h, ff, b, L = 16, 4, 32, 2, 9
        layer = nn.TransformerEncoderLayer(d, h, ff, batch_first=True).eval()
        x = torch.randn(b, L, d)
        expected = attention_flops(b, L, d, h) + linear_flops(b * L, d, ff, bias=False)
        expected += linear_flops(b * L, ff, d, bias=False)
        assert count_flops(layer, x) == expected
        assert torch.backends.mha.get_fastpath_enabled()  # restored after counting

    def test_attention_matches_bert_layer(self):
        transformers = pytest.importorskip("transformers")
        config = transformers.BertConfig(
            hidden_size=32,
            num_attention_heads=4,
            intermediate_size=64,
            num_hidden_layers=1,
            attn_implementation="eager",
        )
        layer = transformers.models.bert.modeling_bert.BertLayer(config).eval()
        b, L = 2, 10
        x = torch.randn(b, L, 32)
        expected = attention_flops(b, L, 32, 4) + linear_flops(b * L, 32, 64, bias=False)
        expected += linear_flops(b * L, 64, 32, bias=False)
        assert raw_counter_flops(layer, x) == expected
        assert count_flops(layer, x) == expected

    def test_attention_independent_of_heads_and_quadratic_in_length(self):
        assert attention_flops(1, 64, 48, 1) == attention_flops(1, 64, 48, 12)
        L1, L2 = 100, 200
        diff = attention_flops(1, L2, 8, 2) - 2 * attention_flops(1, L1, 8, 2)
        assert diff == 4 * 8 * (L2**2 - 2 * L1**2)  # only the L^2 term survives

    def test_quantized_linear_counted_like_float(self):
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))
        x = torch.randn(3, 64)
        assert count_flops(quantize_dynamic(model), x) == count_flops(model, x)

    def test_counting_is_deterministic_and_leaves_grad_mode(self):
        model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
        x = torch.randn(4, 8)
        assert count_flops(model, x) == count_flops(model, x) == 2 * 4 * (64 + 16)
        assert torch.is_grad_enabled()

    @pytest.mark.parametrize(
        "call,match",
        [
            (lambda: linear_flops(0, 3, 3), "`batch` must be a positive integer"),
            (lambda: linear_flops(2, 3.0, 3), "`in_features`"),
            (lambda: linear_flops(2, 3, 3, bias="no"), "`bias`"),
            (lambda: conv2d_flops(1, 3, 8, 3, 32, groups=2), "`groups` must divide"),
            (lambda: conv2d_flops(1, 3, 8, 5, 3), "`kernel_size` must fit"),
            (lambda: conv2d_flops(1, 3, 8, 3, 32, padding=-1), "`padding`"),
            (lambda: conv2d_flops(1, 3, 8, (3, 3, 3), 32), "`kernel_size`"),
            (lambda: attention_flops(1, 8, 10, 3), "`n_heads` must divide"),
            (lambda: attention_flops(1, -8, 10, 2), "`seq_len`"),
            (lambda: count_flops("not a model", 3), "`model` must be"),
        ],
    )
    def test_bad_input(self, call, match):
        with pytest.raises((ParameterValueError, ParameterTypeError), match=match):
            call()


# --------------------------------------------------------------------------- latency


class TestLatency:
    def test_summary_by_hand(self):
        s = summarize_latency([4.0, 1.0, 100.0, 2.0, 3.0])
        # sorted 1,2,3,4,100: p90 at rank 0.9 * 4 = 3.6 -> 4 + 0.6 * 96
        assert (s.median_ms, s.mean_ms, s.min_ms) == (3.0, 22.0, 1.0)
        assert s.p90_ms == pytest.approx(61.6)
        assert s.p99_ms == pytest.approx(4 + 0.96 * 96)
        assert s.std_ms == pytest.approx(np.std([1, 2, 3, 4, 100], ddof=1))
        assert s.repeats == 5 and s.samples_ms == (4.0, 1.0, 100.0, 2.0, 3.0)
        assert summarize_latency([2.5]).std_ms == 0.0

    def test_sleep_percentiles_ordered_and_above_sleep(self):
        stats = measure_latency(time.sleep, 0.002, warmup=1, repeats=15)
        assert isinstance(stats, LatencyStats)
        assert stats.repeats == len(stats.samples_ms) == 15
        assert 2.0 <= stats.min_ms <= stats.median_ms <= stats.p90_ms <= stats.p99_ms
        assert stats.p99_ms <= max(stats.samples_ms)
        assert "median" in str(stats)

    def test_warmup_calls_are_run_and_excluded(self):
        calls = []

        def slow_then_fast():
            calls.append(1)
            if len(calls) <= 3:
                time.sleep(0.3)

        stats = measure_latency(slow_then_fast, warmup=3, repeats=5)
        assert len(calls) == 8
        # A loaded machine can delay a no-op, but not by the 300 ms of a warm-up call.
        assert max(stats.samples_ms) < 150

    def test_passes_arguments_and_restores_gc(self):
        import gc

        seen = []
        measure_latency(lambda a, b=0: seen.append((a, b)), 1, b=2, warmup=0, repeats=2)
        assert seen == [(1, 2), (1, 2)]
        assert gc.isenabled()

    @pytest.mark.parametrize(
        "kwargs,error,match",
        [
            (dict(repeats=0), ParameterValueError, "`repeats` must be a positive integer"),
            (dict(repeats=-3), ParameterValueError, "`repeats`"),
            (dict(repeats=2.5), ParameterTypeError, "`repeats`"),
            (dict(repeats=True), ParameterTypeError, "`repeats`"),
            (dict(warmup=-1), ParameterValueError, "`warmup` must be a non-negative integer"),
            (dict(device=3.5), ParameterValueError, "`device`"),
        ],
    )
    def test_bad_input(self, kwargs, error, match):
        with pytest.raises(error, match=match):
            measure_latency(lambda: None, **kwargs)

    def test_bad_fn_and_samples(self):
        with pytest.raises(ParameterTypeError, match="`fn` must be callable"):
            measure_latency(42)
        with pytest.raises(ParameterValueError, match="at least one"):
            summarize_latency([])
        with pytest.raises(ParameterValueError, match="non-negative"):
            summarize_latency([1.0, -2.0])
        with pytest.raises(ParameterValueError, match="finite"):
            summarize_latency([1.0, float("nan")])


# --------------------------------------------------------------------------- memory


def _allocate(mib: int, hold_s: float = 0.0) -> float:
    x = torch.ones(mib * 2**20 // 4)  # torch.ones touches every page
    if hold_s:
        time.sleep(hold_s)
    return float(x[0])


class TestPeakMemory:
    def test_cpu_peak_sees_a_temporary_tensor(self):
        peak = peak_memory_mb(_allocate, 64)
        assert 60 <= peak <= 64 + 40  # 64 MiB of data plus allocator/interpreter slack

    def test_cpu_peak_scales_with_allocation(self):
        small = peak_memory_mb(_allocate, 16)
        large = peak_memory_mb(_allocate, 96)
        assert large - small > 60

    def test_sampling_fallback_warns_and_measures(self, monkeypatch):
        monkeypatch.setattr(_memory, "_reset_high_water_mark", lambda: False)
        with pytest.warns(RuntimeWarning, match="sampling RSS"):
            peak = peak_memory_mb(_allocate, 64, 0.05)
        assert 60 <= peak <= 64 + 40

    def test_refuses_mps_and_non_callables(self):
        with pytest.raises(ParameterValueError, match="MPS"):
            peak_memory_mb(lambda: None, device="mps")
        with pytest.raises(ParameterTypeError, match="`fn`"):
            peak_memory_mb("f")


# --------------------------------------------------------------------------- energy


@pytest.fixture(scope="module")
def energy_report(tmp_path_factory) -> EnergyReport:
    import os

    folder = tmp_path_factory.mktemp("energy_cwd")
    previous = os.getcwd()
    os.chdir(folder)
    try:
        report = measure_energy(sum, range(200_000), country_iso_code="fra")
    finally:
        os.chdir(previous)
    assert list(folder.iterdir()) == [], "measure_energy must write no files"
    return report


class TestEnergy:
    def test_fields_add_up(self, energy_report):
        r = energy_report
        assert r.result == sum(range(200_000))
        assert r.country_iso_code == "FRA"
        assert r.energy_kwh > 0 and r.duration_s > 0 and r.cpu_seconds >= 0
        parts = r.cpu_energy_kwh + r.gpu_energy_kwh + r.ram_energy_kwh
        assert r.energy_kwh == pytest.approx(parts, rel=1e-9)
        assert r.energy_wh == pytest.approx(1e3 * r.energy_kwh)

    def test_emissions_use_the_country_table(self, energy_report):
        from codecarbon.input import DataSource

        intensity = DataSource().get_global_energy_mix_data()["FRA"]["carbon_intensity"]
        assert energy_report.carbon_intensity_g_per_kwh == intensity
        # CodeCarbon computed the emissions; they must equal energy x the table's intensity.
        assert energy_report.co2_kg == pytest.approx(
            energy_report.energy_kwh * intensity / 1e3, rel=1e-6
        )

    def test_label_and_assumptions_are_consistent(self, energy_report):
        r = energy_report
        assert ("ESTIMATE" in r.method) == r.is_estimate
        assert "RAM" in r.method and "g CO2e/kWh" in r.assumptions
        if r.is_estimate:
            assert r.uncertainty_factor == ESTIMATE_UNCERTAINTY_FACTOR
            assert "factor of two" in r.assumptions and "TDP" in r.assumptions
            low, high = r.co2_kg_range
            assert low == pytest.approx(r.co2_kg / 2) and high == pytest.approx(2 * r.co2_kg)
            assert "[ESTIMATE]" in r.summary()
        else:
            assert r.uncertainty_factor is None and r.energy_kwh_range == (r.energy_kwh,) * 2

    def test_errors_propagate_and_bad_input(self):
        def boom():
            raise KeyError("inside")

        with pytest.raises(KeyError, match="inside"):
            measure_energy(boom)
        with pytest.raises(ParameterValueError, match="`country_iso_code`"):
            measure_energy(sum, [1], country_iso_code="XXX")
        with pytest.raises(ParameterTypeError, match="`country_iso_code`"):
            measure_energy(sum, [1], country_iso_code=840)
        with pytest.raises(ParameterValueError, match="`tracking_mode`"):
            measure_energy(sum, [1], tracking_mode="gpu")
        with pytest.raises(ParameterValueError, match="`measure_power_secs`"):
            measure_energy(sum, [1], measure_power_secs=0)
        with pytest.raises(ParameterTypeError, match="`fn`"):
            measure_energy(None)


def test_carbon_intensity_reads_the_table():
    from codecarbon.input import DataSource

    from respai.efficiency.measure import carbon_intensity

    table = DataSource().get_global_energy_mix_data()
    assert carbon_intensity("deu") == table["DEU"]["carbon_intensity"]
    with pytest.raises(ParameterValueError, match="`country_iso_code`"):
        carbon_intensity("Germany")


def test_cpu_peak_counts_memory_the_allocator_had_cached():
    # A second identical call reuses pages freed by the first; after trimming they count again.
    first = peak_memory_mb(_allocate, 48)
    second = peak_memory_mb(_allocate, 48)
    assert second > 0.8 * first > 30
