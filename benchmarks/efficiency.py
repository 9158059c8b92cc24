"""Pruning and quantization, measured: accuracy, latency and size of each variant vs dense.

Two workloads, one run on this machine's CPU (torch's default thread count, or ``--threads``):

``cnn``
    A CNN (two conv blocks with GroupNorm, 32 and 64 channels, then 128 hidden
    units) trained on MNIST-5k (4,000 train / 1,000 test digits). Variants:
    ``dense``; ``unstructured``, 90 % of the weights pruned by global magnitude,
    fine-tuned with the masks, then stored as a dense model with zeros;
    ``structured``, whole channels/neurons removed (a physically smaller
    model), then fine-tuned. Latency: one batch of 256 test images.
``minilm``
    The offline MiniLM-L6 (``respai.pretrained.load_classifier``) fine-tuned
    (whole model, 2 epochs) on 1,200 Rotten Tomatoes snippets, tested on
    1,000. Variants: ``dense``; ``quantized``, PyTorch dynamic int8 of every
    ``nn.Linear`` with per-channel weight scales (torch 2.13:
    ``torch.ao.quantization.quantize_dynamic``, deprecated in favour of
    torchao, which is not installed), weights packed for the quantized engine
    ``--engine`` (default: ``preferred_quantized_engine()``, ``onednn`` on
    CPUs with AMX, else torch's, ``x86`` on x86 CPUs); ``pruned``, half of the
    attention heads and FFN neurons of every layer removed (Taylor importance on 4 training
    batches), then fine-tuned 1 epoch. Latency: one batch of 32 snippets x 64 tokens.
    The models are loaded with eager attention (what notebook 05 needs for
    per-sample gradients) and, once trained, switched to ``--attention``
    (default ``sdpa``, PyTorch's fused ``scaled_dot_product_attention``, what
    a deployed model runs; same logits to ~1e-7) for accuracy and timing.

Memory: by default (``--allocator reuse``) the run first calls
:func:`respai.efficiency.measure.reuse_freed_cpu_memory`, so that glibc keeps
freed memory instead of re-faulting each forward pass's activations from the
kernel (what PyTorch's CPU tuning guide gets from jemalloc or tcmalloc);
``--allocator glibc`` keeps the C library's defaults.

Each variant reports ``accuracy`` (fraction of the test split), ``latency_ms``
(median forward pass, the variants timed in interleaved rounds so that load
from other processes hits them alike), ``size_mb`` (``torch.save`` of the
state dict, MiB) and ``speedup`` (dense latency / variant latency). The log
(stderr) names the CPU, its int8 dot-product instructions (VNNI, AMX) and the
int8 speed-up of one FFN layer alone: without VNNI or AMX, int8 GEMMs gain
about 2x at most over float32, and the int8 model less.

    .venv/bin/python benchmarks/efficiency.py [--json] [--only cnn|minilm] [--engine onednn]
        [--attention sdpa|eager] [--allocator reuse|glibc]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import platform
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

from respai.adapters import IdsClassifier
from respai.data import load_mnist_5k, load_rotten_tomatoes
from respai.efficiency.measure import (
    measure_latency,
    reuse_freed_cpu_memory,
    serialized_size_bytes,
)
from respai.efficiency.pruning import (
    prune_channels,
    prune_magnitude,
    prune_transformer,
    remove_masks,
    sparsity,
)
from respai.efficiency.quantization import (
    preferred_quantized_engine,
    quantize_dynamic_int8,
    quantized_engines,
)
from respai.train import evaluate, fit, make_loader

SEED = 0
CNN_BATCH, TEXT_BATCH, TEXT_TOKENS = 256, 32, 64
TRAIN_TOKENS = 48  # fine-tuning pads/truncates to 48 tokens (median snippet: 26)
ROUNDS = 5  # interleaved timing rounds


def _cpuinfo(field: str) -> str | None:
    """The first ``field`` line of /proc/cpuinfo (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith(field):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The CPU's name (Linux), or the platform's processor string: kernel speed depends on it."""
    return _cpuinfo("model name") or platform.processor() or "unknown"


def cpu_int8_support() -> str:
    """The CPU's int8 dot-product instructions as torch and /proc/cpuinfo see them.

    int8 GEMMs are fast where the CPU multiplies and sums int8 pairs in one
    instruction (AVX-512 VNNI, AVX-VNNI, AMX tiles); with AVX2 alone they need
    three instructions per step and gain far less over float32 FMA.
    """
    flags = set((_cpuinfo("flags") or "").split())
    found = [f for f in ("amx_int8", "avx512_vnni", "avx_vnni") if f in flags]
    capability = torch.backends.cpu.get_cpu_capability()
    return f"torch kernels {capability}, int8 dot-product instructions: {', '.join(found) or None}"


def int8_gemm_ceiling(engine: str, rows: int = TEXT_BATCH * TEXT_TOKENS, width: int = 384) -> float:
    """float32 / int8 time of one MiniLM FFN layer alone (rows x width -> 4 width).

    The whole model's int8 speed-up stays below this: its attention, GELU,
    LayerNorm and residual adds run in float32 in both models.
    """
    torch.manual_seed(SEED)
    layer = nn.Sequential(nn.Linear(width, 4 * width)).eval()
    int8 = quantize_dynamic_int8(layer, per_channel=True, engine=engine)
    x = torch.randn(rows, width)
    latency = interleaved_latency({"float32": lambda: layer(x), "int8": lambda: int8(x)})
    return latency["float32"] / latency["int8"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def size_mb(model: nn.Module) -> float:
    return serialized_size_bytes(model) / 2**20


def interleaved_latency(calls: dict, *, rounds: int = ROUNDS, repeats: int = 5) -> dict:
    """Median ms of each zero-argument call, timed round-robin so load drifts hit all alike."""
    samples = {name: [] for name in calls}
    with torch.no_grad():
        for call in calls.values():
            measure_latency(call, warmup=2, repeats=1)
        for _ in range(rounds):
            for name, call in calls.items():
                stats = measure_latency(call, warmup=0, repeats=repeats, device="cpu")
                samples[name] += list(stats.samples_ms)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(variants: dict, latency: dict, dense: str = "dense") -> dict:
    return {
        name: {
            "accuracy": round(values["accuracy"], 4),
            "latency_ms": round(latency[name], 2),
            "size_mb": round(values["size_mb"], 3),
            "speedup": round(latency[dense] / latency[name], 2),
            **{k: v for k, v in values.items() if k not in ("accuracy", "size_mb")},
        }
        for name, values in variants.items()
    }


# --------------------------------------------------------------------------- CNN


def cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.GroupNorm(8, 32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.GroupNorm(8, 64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def cnn_benchmark(epochs: int) -> dict:
    torch.manual_seed(SEED)
    X, y = load_mnist_5k()
    order = np.random.default_rng(SEED).permutation(len(y))
    X = (X[order] / 255.0).astype(np.float32).reshape(-1, 1, 28, 28)
    y = y[order]
    train = make_loader(X[:4000], y[:4000], batch_size=64, shuffle=True, generator=SEED)
    test = make_loader(X[4000:], y[4000:], batch_size=500, shuffle=False)
    run = {"device": "cpu", "progress": False, "generator": SEED}

    log("cnn: training the dense model")
    dense = cnn()
    fit(dense, train, epochs=epochs, lr=2e-3, **run)

    log("cnn: unstructured (global magnitude, 90 %) + fine-tune")
    unstructured = copy.deepcopy(dense)
    prune_magnitude(unstructured, 0.9)
    fit(unstructured, train, epochs=2, lr=1e-3, **run)
    remove_masks(unstructured)  # a dense model with zeros, as it would be shipped

    log("cnn: structured (channels/neurons) + fine-tune")
    structured = prune_channels(dense, [0.5, 0.5, 0.5])
    fit(structured, train, epochs=3, lr=1e-3, **run)

    models = {"dense": dense, "unstructured": unstructured, "structured": structured}
    variants = {}
    for name, model in models.items():
        model.eval()
        variants[name] = {
            "accuracy": evaluate(model, test, device="cpu")["accuracy"],
            "size_mb": size_mb(model),
            "parameters": sum(p.numel() for p in model.parameters()),
            "weight_sparsity": round(sparsity(model), 4),
        }
    batch = torch.from_numpy(X[4000 : 4000 + CNN_BATCH])
    log("cnn: timing")
    latency = interleaved_latency({name: (lambda m=m: m(batch)) for name, m in models.items()})
    return report(variants, latency)


# --------------------------------------------------------------------------- MiniLM


def encode(tokenizer, texts, *, fixed: bool = False) -> dict:
    if fixed:
        return tokenizer(texts, padding="max_length", truncation=True, max_length=TEXT_TOKENS,
                         return_tensors="pt")  # fmt: skip
    return tokenizer(texts, padding=True, truncation=True, max_length=TEXT_TOKENS,
                     return_tensors="pt")  # fmt: skip


def fine_tune(model, tokenizer, texts, labels, epochs: int) -> None:
    """Fine-tune the whole classifier (encoder included) with respai.train.fit."""
    ids = tokenizer(texts, padding="max_length", truncation=True, max_length=TRAIN_TOKENS,
                    return_tensors="pt")["input_ids"]  # fmt: skip
    loader = make_loader(ids, labels, batch_size=32, shuffle=True, generator=SEED)
    fit(IdsClassifier(model), loader, epochs=epochs, lr=1e-4, device="cpu", progress=False,
        generator=SEED)  # fmt: skip
    model.eval()


def text_accuracy(model, tokenizer, texts, labels) -> float:
    correct = 0
    with torch.no_grad():
        for i in range(0, len(texts), 64):
            logits = model(**encode(tokenizer, texts[i : i + 64])).logits
            correct += int((logits.argmax(-1) == labels[i : i + 64]).sum())
    return correct / len(texts)


def minilm_benchmark(
    n_train: int, n_test: int, engine: str | None = None, attention: str = "sdpa"
) -> dict:
    from respai.pretrained import load_classifier, load_tokenizer

    torch.manual_seed(SEED)
    reviews = load_rotten_tomatoes()
    order = np.random.default_rng(SEED).permutation(len(reviews))
    texts = reviews["text"].to_numpy()[order].tolist()
    labels = torch.from_numpy(reviews["fresh"].to_numpy()[order])
    train_texts, train_y = texts[:n_train], labels[:n_train]
    test_texts, test_y = texts[-n_test:], labels[-n_test:]
    tokenizer, dense = load_tokenizer(), load_classifier(seed=SEED)

    log(f"minilm: fine-tuning on {n_train} snippets, 2 epochs")
    fine_tune(dense, tokenizer, train_texts, train_y, epochs=2)

    engine = engine or preferred_quantized_engine()
    log(f"minilm: CPU {cpu_model()}: {cpu_int8_support()}")
    log(f"minilm: one FFN layer alone, int8 vs float32: {int8_gemm_ceiling(engine):.2f}x faster "
        "(the whole model gains less)")  # fmt: skip
    log(f"minilm: dynamic int8 (per-channel weights, {engine} engine)")
    quantized = quantize_dynamic_int8(dense, per_channel=True, engine=engine)

    log("minilm: pruning half of the heads and FFN neurons, fine-tuning 1 epoch")
    pruned = copy.deepcopy(dense)
    batches = [
        (encode(tokenizer, train_texts[i : i + 32]), train_y[i : i + 32]) for i in range(0, 128, 32)
    ]
    prune_transformer(pruned, head_sparsity=0.5, ffn_sparsity=0.5, method="taylor", batches=batches)
    fine_tune(pruned, tokenizer, train_texts, train_y, epochs=1)

    models = {"dense": dense, "quantized": quantized, "pruned": pruned}
    log(f"minilm: {attention} attention for accuracy and timing")
    for model in models.values():
        model.set_attn_implementation(attention)
    variants = {}
    for name, model in models.items():
        log(f"minilm: accuracy of {name} on {n_test} snippets")
        variants[name] = {
            "accuracy": text_accuracy(model, tokenizer, test_texts, test_y),
            "size_mb": size_mb(model),
        }
    batch = encode(tokenizer, test_texts[:TEXT_BATCH], fixed=True)
    assert tuple(batch["input_ids"].shape) == (TEXT_BATCH, TEXT_TOKENS)
    log("minilm: timing")
    latency = interleaved_latency(
        {name: (lambda m=m: m(**batch)) for name, m in models.items()}, repeats=2
    )
    return report(variants, latency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--only", choices=("cnn", "minilm"), help="run one workload")
    parser.add_argument("--epochs", type=int, default=6, help="dense CNN training epochs")
    parser.add_argument("--n-train", type=int, default=1200, help="MiniLM fine-tuning snippets")
    parser.add_argument("--n-test", type=int, default=1000, help="MiniLM test snippets")
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: torch's, i.e. one per core)"
    )
    parser.add_argument(
        "--engine",
        choices=quantized_engines(),
        help="quantized engine for the int8 MiniLM (default: preferred_quantized_engine(), "
        "onednn on CPUs with AMX, else torch's current one)",
    )
    parser.add_argument(
        "--attention",
        choices=("sdpa", "eager"),
        default="sdpa",
        help="MiniLM attention for accuracy and timing (default: sdpa)",
    )
    parser.add_argument(
        "--allocator",
        choices=("reuse", "glibc"),
        default="reuse",
        help="reuse: keep freed memory for reuse (reuse_freed_cpu_memory); "
        "glibc: the C library's defaults (default: reuse)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.allocator == "reuse":
        applied = reuse_freed_cpu_memory()
        log("allocator: freed memory kept for reuse" if applied
            else "allocator: not glibc, left as it is")  # fmt: skip
    else:
        log("allocator: glibc defaults")
    start = time.perf_counter()
    results = {}
    # Loaders announce their source on stdout: keep stdout for the results (JSON) only.
    with contextlib.redirect_stdout(sys.stderr):
        if args.only in (None, "cnn"):
            results["cnn"] = cnn_benchmark(args.epochs)
        if args.only in (None, "minilm"):
            results["minilm"] = minilm_benchmark(
                args.n_train, args.n_test, args.engine, args.attention
            )
    log(
        f"done in {time.perf_counter() - start:.0f} s, {torch.get_num_threads()} threads, "
        f"CPU: {cpu_model()}"
    )
    if args.json:
        keys = ("accuracy", "latency_ms", "size_mb", "speedup")
        print(json.dumps({w: {v: {k: r[k] for k in keys} for v, r in res.items()}
                          for w, res in results.items()}))  # fmt: skip
        return
    for workload, variants in results.items():
        for name, values in variants.items():
            extra = ", ".join(f"{k} {v}" for k, v in values.items())
            print(f"{workload:7s} {name:13s} {extra}")


if __name__ == "__main__":
    main()
