"""Rows/s of every conflux method beside Captum's DeepLift, IntegratedGradients and
InputXGradient on the CNN of `conflux bench cafe` (28×28, Conv(1→8) ReLU MaxPool Conv(8→16)
ReLU, residual block Conv(16→16) ReLU Conv(16→16) + identity, ReLU, MaxPool, Linear(784→10)),
float32, in one run on the same network and the same rows.

The network is built in PyTorch (seeded), exported to ONNX, and the rows written as .npy;
`conflux bench methods` then times every method on those files (sampling methods on 4×4
patches, `--groups patch:4x4`), and Captum runs on the PyTorch module. Run in a scratch venv
with torch, captum and onnx (never conflux dependencies), from the repository root after
`cargo build --release`:
    python benches/python/image_methods_bench.py --threads 1
"""
import argparse, os, subprocess, tempfile, time

import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_cnn import build  # noqa: E402
from timing import best_of_3  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--rows", type=int, default=256)
p.add_argument("--conflux", default="target/release/conflux")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


net = build()
x = torch.rand(a.rows, 1, 28, 28)

with tempfile.TemporaryDirectory() as tmp:
    model, data = os.path.join(tmp, "cnn.onnx"), os.path.join(tmp, "x.npy")
    torch.onnx.export(net, x[:1], model, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=17, dynamo=False)
    np.save(data, x.numpy())
    out = subprocess.run(
        [a.conflux, "bench", "methods", "--model", model, "--data", data, "--rows", str(a.rows),
         "--groups", "patch:4x4", "--threads", str(a.threads)],
        check=True, capture_output=True, text=True).stdout
print("conflux bench methods:\n" + out)

from captum.attr import DeepLift, InputXGradient, IntegratedGradients

target = net(x).argmax(1)
zeros = torch.zeros_like(x)


def fresh():
    return x.clone().requires_grad_()


# Captum's DeepLift refuses a module instance used twice; the ReLUs here are distinct.
rates = [
    ("Captum DeepLift", best_of_3(lambda: DeepLift(net).attribute(fresh(), zeros, target=target), a.rows)),
    ("Captum IntegratedGradients (50 steps, Gauss–Legendre)",
     best_of_3(lambda: IntegratedGradients(net).attribute(fresh(), zeros, target=target, n_steps=50), a.rows)),
    ("Captum InputXGradient", best_of_3(lambda: InputXGradient(net).attribute(fresh(), target=target), a.rows)),
]
print(f"Captum {__import__('captum').__version__}, torch {torch.__version__}, {a.threads} thread(s), {a.rows} rows\n")
print("| method | rows/s |\n|---|---:|")
for name, r in rates:
    print(f"| {name} | {r:.0f} |")
