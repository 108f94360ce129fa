#!/usr/bin/python3
"""One training step (forward, KL-distillation loss against fixed teacher logits, backward,
AdamW update — Adam for the production graphs, as src/tbn/finetune.ts) in PyTorch on the CPU,
for bench/engine.bench.ts: the fixture CNN or transformer (the model classes of
scripts/make_fixtures.py) or the production-size graphs of bench/torch_models.py (resnet18,
ctc). Eval mode (BatchNorm on running statistics, as tbn's interpreter runs the exported
model). The KL runs over the last axis (per frame for the CTC recognizer). Prints one JSON line:
{"model", "batch", "threads", "ms": [per-step wall times], "median_ms", "cpu_median_ms" (process CPU
time per step, all threads), "peak_rss_mb"}.

    /usr/bin/python3 bench/torch_step.py --model cnn --batch 32 --threads 1
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fixture_classes():
    spec = importlib.util.spec_from_file_location("make_fixtures", os.path.join(ROOT, "scripts", "make_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_production(name):
    spec = importlib.util.spec_from_file_location("torch_models", os.path.join(ROOT, "bench", "torch_models.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["cnn", "transformer", "resnet18", "ctc"], required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()

    production = args.model in ("resnet18", "ctc")
    fx = None if production else fixture_classes()
    torch.set_num_threads(args.threads)  # after the import: make_fixtures sets all cores
    torch.manual_seed(0)
    if production:
        model, shape = load_production(args.model)
        x = torch.rand(args.batch, *shape)
    elif args.model == "cnn":
        model = fx.CNN()
        x = torch.rand(args.batch, 1, 28, 28)
    else:
        model = fx.EncoderLayer()
        x = torch.randint(0, 512, (args.batch, 16))
    model.eval()
    with torch.no_grad():
        teacher = model(x)
    opt = (torch.optim.Adam if production else torch.optim.AdamW)(model.parameters(), lr=1e-4)
    rows = teacher.numel() // teacher.shape[-1]
    T = 2.0

    def step():
        opt.zero_grad()
        s = model(x)
        loss = F.kl_div(F.log_softmax(s / T, -1), F.softmax(teacher / T, -1), reduction="sum") * (T * T / rows)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    times, cpu = [], []
    for _ in range(args.steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    print(json.dumps({"model": args.model, "batch": args.batch, "threads": torch.get_num_threads(),
                      "ms": times, "median_ms": statistics.median(times), "cpu_median_ms": statistics.median(cpu),
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    sys.exit(main())
