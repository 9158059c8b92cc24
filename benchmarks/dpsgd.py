"""Time per step and peak memory of non-private training, respai DP-SGD and Opacus.

Two workloads, each with the same clipping norm and noise multiplier for both
private trainers:

``cnn``
    The MNIST CNN of Opacus's own example, batch 256; respai's ghost clipping
    (``GhostClippingModule`` + ``GhostDPOptimizer``: for each convolution the
    per-sample gradient norm from the input patches, in the ghost or the
    direct form, whichever is smaller, Bu et al. 2022; the clipped sum in one
    weight-gradient call) vs Opacus's ``GradSampleModule`` (per-sample
    gradients by hooks).
``transformer``
    One fine-tuning step of MiniLM-L6 (all 22.7 M parameters trainable, a
    fresh 2-class head) for sentiment, batch 32, sequence length 64; respai's
    ghost clipping (``GhostClippingModule`` + ``GhostDPOptimizer``: per-sample
    gradient *norms* only, Li et al. 2022, with book-keeping, Bu et al. 2023)
    vs Opacus's ``GradSampleModule`` with its default hooks, which stores a
    per-sample gradient of every weight. Opacus gets ``position_ids`` and
    ``token_type_ids`` with the batch dimension: Hugging Face BERT broadcasts
    shape-(1, T) defaults, and Opacus's hooks then see a batch of 1.

Each variant runs in its own process so that its peak memory
(``torch.cuda.max_memory_allocated`` on CUDA, the process's maximum RSS on
CPU, which includes the Python runtime, torch and the model) is its own. The
three variants run in ``--rounds`` interleaved rounds (default 3, the order
rotated each round) and each reports the median over all its timed steps, so
that load from other processes hits all three alike.

    .venv/bin/python benchmarks/dpsgd.py [--json] [--steps N] [--rounds R]
                                         [--workloads cnn transformer]

``--json`` prints one object ``{"cnn": {...}, "transformer": {...}}``.
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
WORKLOADS = ("cnn", "transformer")
NOISE, CLIP = 1.0, 1.0
BATCH = {"cnn": 256, "transformer": 32}
SEQ_LEN = 64
STEPS = {"cnn": 20, "transformer": 5}  # a transformer step takes seconds on a CPU
WARMUP = {"cnn": 2, "transformer": 1}
ROUNDS = 3


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


def cnn_workload(device):
    """Model, batch keyword arguments and targets of the ``cnn`` workload."""
    import torch

    model = mnist_cnn().to(device)
    x = torch.randn(BATCH["cnn"], 1, 28, 28, device=device)
    y = torch.randint(0, 10, (BATCH["cnn"],), device=device)
    return model, (lambda m, extra: m(x)), y


def transformer_workload(device):
    """MiniLM-L6 with a 2-class head in training mode, a batch of 32 random 64-token reviews."""
    import torch

    from respai.pretrained import load_classifier

    model = load_classifier(num_labels=2).to(device).train()
    b, t = BATCH["transformer"], SEQ_LEN
    ids = torch.randint(1000, model.config.vocab_size, (b, t), device=device)
    ids[:, 0] = 101  # [CLS]
    mask = torch.ones_like(ids)
    mask[b // 2 :, t // 2 :] = 0  # half of the batch is padded to length 64
    ids[b // 2 :, t // 2 :] = 0
    y = torch.randint(0, 2, (b,), device=device)
    batch_dims = {  # with the batch dimension, so that Opacus's hooks see every example
        "position_ids": torch.arange(t, device=device).expand(b, t),
        "token_type_ids": torch.zeros_like(ids),
    }

    def call(m, extra):
        return m(input_ids=ids, attention_mask=mask, **(batch_dims if extra else {})).logits

    return model, call, y


def run_variant(workload: str, variant: str, steps: int) -> dict:
    """Train ``steps`` steps on one fixed batch; return the seconds of each step and peak MB."""
    import torch

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    make = cnn_workload if workload == "cnn" else transformer_workload
    model, call, y = make(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    b = BATCH[workload]
    if variant == "respai":
        from respai.privacy.dpsgd import GhostClippingModule, GhostDPOptimizer

        model = GhostClippingModule(model)
        optimizer = GhostDPOptimizer(
            optimizer,
            module=model,
            noise_multiplier=NOISE,
            max_grad_norm=CLIP,
            expected_batch_size=b,
        )
    elif variant == "opacus":
        from opacus import GradSampleModule as OpacusGSM
        from opacus.optimizers import DPOptimizer as OpacusDPOptimizer

        model = OpacusGSM(model)
        optimizer = OpacusDPOptimizer(
            optimizer, noise_multiplier=NOISE, max_grad_norm=CLIP, expected_batch_size=b
        )
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    warmup = WARMUP[workload]
    for step in range(steps + warmup):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(call(model, variant == "opacus"), y).backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - start)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step_times_s": times, "peak_mb": peak_mb, "device": device.type}


def pool_rounds(rounds: list[dict]) -> dict:
    """One variant's rounds as one measurement: median step time, largest peak."""
    times = [t for r in rounds for t in r["step_times_s"]]
    return {
        "step_s": statistics.median(times),
        "peak_mb": max(r["peak_mb"] for r in rounds),
        "device": rounds[0]["device"],
    }


def summarise(results: dict) -> dict:
    """The reported keys from the three variants' measurements."""
    return {
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--steps", type=int, help="timed steps per variant (default: cnn 20, transformer 5)"
    )
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="interleaved rounds")
    parser.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        (workload,) = args.workloads
        print(json.dumps(run_variant(workload, args.variant, args.steps or STEPS[workload])))
        return
    report = {}
    for workload in args.workloads:
        rounds = {variant: [] for variant in VARIANTS}
        for r in range(args.rounds):
            for variant in VARIANTS[r % 3 :] + VARIANTS[: r % 3]:
                command = [sys.executable, __file__, "--variant", variant, "--workloads", workload]
                if args.steps:
                    command += ["--steps", str(args.steps)]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"{workload}/{variant} failed:\n{done.stderr}")
                rounds[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
        report[workload] = summarise({v: pool_rounds(rs) for v, rs in rounds.items()})
    if args.json:
        print(json.dumps(report))
        return
    for workload, figures in report.items():
        for key, value in figures.items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"{workload:11s} {key:22s} {shown}")


if __name__ == "__main__":
    main()
