"""Production-size bench graphs for bench/engine.bench.ts, defined once for both sides: PyTorch
runs them (bench/torch_step.py) and torch.onnx exports them for tbn's engine (--export).

* resnet18 — torchvision's ResNet-18 layout (BasicBlock [2, 2, 2, 2], 64…512 channels, 1000
  classes) written out here (Debian has no torchvision), input [N, 3, 224, 224], opset 13.
* ctc — a text-line recognizer in the style of SVTR/CRNN: a conv stem (four 3×3 Conv+BN+ReLU,
  height 48 → 3, width 320 → 80) averaged over the height, two pre-norm transformer encoder
  layers over the 80 width positions (d 192, 6 heads, MLP 384, GELU), a LayerNorm and a
  linear CTC head over 97 classes; input [N, 3, 48, 320], output [N, 80, 97] logits. Exported
  at opset 11 as paddle2onnx does, so LayerNorm and GELU arrive decomposed into primitive ops.

    /usr/bin/python3 bench/torch_models.py --export resnet18 --out /tmp/resnet18.onnx
"""
import argparse
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)

    def forward(self, x):
        n, t, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(n, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h)), dim=-1)
        return self.proj(torch.matmul(attn, v).transpose(1, 2).reshape(n, t, d))


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(d)
        self.attn = Attention(d, heads)
        self.norm2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class CtcRecognizer(nn.Module):
    def __init__(self, classes=97, d=192):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(3, 32, 2), conv_bn(32, 64, 2), conv_bn(64, 128, (2, 1)), conv_bn(128, d, (2, 1)))
        self.blocks = nn.Sequential(EncoderLayer(d, 6, 2 * d), EncoderLayer(d, 6, 2 * d))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, x):
        x = self.stem(x).mean(dim=2).transpose(1, 2)  # [N, W/4, d]
        return self.head(self.norm(self.blocks(x)))


MODELS = {
    "resnet18": (ResNet18, (3, 224, 224), 13),
    "ctc": (CtcRecognizer, (3, 48, 320), 11),
}


def build(name, seed=0):
    """The model with seeded weights and non-trivial BatchNorm statistics, in eval mode."""
    cls, shape, _ = MODELS[name]
    torch.manual_seed(seed)
    model = cls()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.eval(), shape


def export(name, out):
    """Exported with its BatchNormalization nodes (an eval-mode export folds them into the
    convolutions; model-zoo and paddle2onnx graphs keep them, and fine-tuning trains their
    scale and bias): traced in training mode, then each BatchNormalization keeps only its
    inference output."""
    import onnx

    model, shape = build(name)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.0  # the training-mode trace leaves the running statistics as they are
    x = torch.rand(2, *shape)
    torch.onnx.export(model, x, out, opset_version=MODELS[name][2], input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, training=torch.onnx.TrainingMode.TRAINING,
                      do_constant_folding=False)
    proto = onnx.load(out)
    for node in proto.graph.node:
        if node.op_type == "BatchNormalization":
            del node.output[1:]
            keep = [a for a in node.attribute if a.name != "training_mode"]
            del node.attribute[:]
            node.attribute.extend(keep)
    onnx.checker.check_model(proto)
    onnx.save(proto, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", choices=sorted(MODELS), required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    export(args.export, args.out)


if __name__ == "__main__":
    sys.exit(main())
