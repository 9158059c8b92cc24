"""Time per step and peak memory of non-private training, respai DP-SGD and Opacus.

Workload ``cnn``: the MNIST CNN of Opacus's own example, batch 256, same
clipping norm and noise multiplier for both private trainers. Each variant
runs in its own process so that its peak memory (max RSS on CPU,
``torch.cuda.max_memory_allocated`` on CUDA) is its own.

    .venv/bin/python benchmarks/dpsgd.py [--json] [--steps N]

The ``transformer`` workload of issue 5 (MiniLM-L6 fine-tuning) is not built yet.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

VARIANTS = ("nonprivate", "respai", "opacus")
BATCH, NOISE, CLIP = 256, 1.0, 1.0


def mnist_cnn():
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, 8, 2, padding=3),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Conv2d(16, 32, 4, 2),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 32),
        nn.Tanh(),
        nn.Linear(32, 10),
    )


def run_variant(variant: str, steps: int) -> dict:
    """Train ``steps`` steps on one fixed batch; return median seconds per step and peak MB."""
    import torch

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = mnist_cnn().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if variant == "respai":
        from respai.privacy.dpsgd import DPOptimizer, GradSampleModule

        model = GradSampleModule(model)
        optimizer = DPOptimizer(
            optimizer, noise_multiplier=NOISE, max_grad_norm=CLIP, expected_batch_size=BATCH
        )
    elif variant == "opacus":
        from opacus import GradSampleModule as OpacusGSM
        from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

        model = OpacusGSM(model)
        optimizer = OpacusDPOptimizer(
            optimizer, noise_multiplier=NOISE, max_grad_norm=CLIP, expected_batch_size=BATCH
        )
    x = torch.randn(BATCH, 1, 28, 28, device=device)
    y = torch.randint(0, 10, (BATCH,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for step in range(steps + 2):  # two warm-up steps
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= 2:
            times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step_s": statistics.median(times), "peak_mb": peak_mb, "device": device.type}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.steps)))
        return
    results = {}
    for variant in VARIANTS:
        command = [sys.executable, __file__, "--variant", variant, "--steps", str(args.steps)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        results[variant] = json.loads(done.stdout.strip().splitlines()[-1])
    cnn = {
        "nonprivate_step_s": results["nonprivate"]["step_s"],
        "respai_step_s": results["respai"]["step_s"],
        "opacus_step_s": results["opacus"]["step_s"],
        "ratio_vs_opacus": results["respai"]["step_s"] / results["opacus"]["step_s"],
        "ratio_vs_nonprivate": results["respai"]["step_s"] / results["nonprivate"]["step_s"],
        "nonprivate_peak_mb": results["nonprivate"]["peak_mb"],
        "respai_peak_mb": results["respai"]["peak_mb"],
        "opacus_peak_mb": results["opacus"]["peak_mb"],
        "device": results["respai"]["device"],
    }
    if args.json:
        print(json.dumps({"cnn": cnn}))
        return
    for key, value in cnn.items():
        print(
            f"cnn {key:22s} {value:.4g}" if isinstance(value, float) else f"cnn {key:22s} {value}"
        )


if __name__ == "__main__":
    main()
