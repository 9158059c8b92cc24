"""benchmarks/dpsgd.py reports exactly the documented keys, for both workloads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "dpsgd.py"
KEYS = {
    "nonprivate_step_s",
    "respai_step_s",
    "opacus_step_s",
    "ratio_vs_opacus",
    "ratio_vs_nonprivate",
    "nonprivate_peak_mb",
    "respai_peak_mb",
    "opacus_peak_mb",
    "device",
}


def load():
    spec = importlib.util.spec_from_file_location("dpsgd_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_summary_keys_and_ratios():
    bench = load()
    assert bench.WORKLOADS == ("cnn", "transformer")
    assert bench.BATCH == {"cnn": 256, "transformer": 32} and bench.SEQ_LEN == 64
    fake = {
        "nonprivate": {"step_s": 1.0, "peak_mb": 100.0, "device": "cpu"},
        "respai": {"step_s": 1.5, "peak_mb": 120.0, "device": "cpu"},
        "opacus": {"step_s": 3.0, "peak_mb": 500.0, "device": "cpu"},
    }
    summary = bench.summarise(fake)
    assert set(summary) == KEYS
    assert summary["ratio_vs_opacus"] == 0.5 and summary["ratio_vs_nonprivate"] == 1.5


def test_transformer_workload_gives_opacus_batched_ids():
    """The pitfall of the issue: position and token-type ids need the batch dimension."""
    import torch

    bench = load()
    model, call, y = bench.transformer_workload(torch.device("cpu"))
    assert all(p.requires_grad for p in model.parameters()) and model.training
    seen = {}
    model.forward = lambda **kwargs: seen.update(kwargs) or type("Out", (), {"logits": 0})()
    call(model, True)
    assert seen["position_ids"].shape == seen["input_ids"].shape == (32, 64)
    assert seen["token_type_ids"].shape == (32, 64) and len(y) == 32


def test_rounds_pool_into_one_median_and_the_largest_peak():
    bench = load()
    rounds = [
        {"step_times_s": [1.0, 5.0], "peak_mb": 10.0, "device": "cpu"},
        {"step_times_s": [2.0, 3.0, 4.0], "peak_mb": 12.0, "device": "cpu"},
    ]
    assert bench.pool_rounds(rounds) == {"step_s": 3.0, "peak_mb": 12.0, "device": "cpu"}
