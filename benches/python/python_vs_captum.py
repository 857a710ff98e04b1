"""Rows/s of conflux from Python beside Captum (DeepLift, IntegratedGradients, KernelShap,
Lime) and SHAP's KernelExplainer (where installed), in one run on the same torch model and
the same rows: a 13→64→64→2 ReLU MLP (seeded) on standard-normal rows, float32, zero
baselines, target 1, best of three runs per method.

Run in a scratch venv with torch and captum (and shap, optionally) and the conflux package
built in release mode (`cd python && maturin develop --release`):
    python benches/python/python_vs_captum.py --threads 1
Captum's and SHAP's perturbation methods explain one row per call, so they get fewer rows
(--slow-rows); rows/s is what is compared.
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn

import conflux

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import best_of_3  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--rows", type=int, default=2000)
p.add_argument("--slow-rows", type=int, default=40)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

net = nn.Sequential(nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)).eval()
x = torch.randn(a.rows, 13)
zeros = torch.zeros(1, 13)
model = conflux.from_torch(net, x[:1])
target = 1


xs = x.numpy()
slow = xs[: a.slow_rows]
rows = []
ours = {
    "CAFE (c = 0.5)": lambda: conflux.Cafe(model, threads=a.threads).attribute(xs, target=target),
    "DeepLift": lambda: conflux.DeepLift(model, threads=a.threads).attribute(xs, target=target),
    "IntegratedGradients (50 steps)": lambda: conflux.IntegratedGradients(model, threads=a.threads).attribute(xs, target=target),
    "KernelShap (25 samples)": lambda: conflux.KernelShap(model, threads=a.threads).attribute(xs, target=target),
    "Lime (50 samples)": lambda: conflux.Lime(model, threads=a.threads).attribute(xs, target=target),
}
for name, fn in ours.items():
    rows.append((name, "conflux (Python)", best_of_3(fn, a.rows)))

from captum.attr import DeepLift, IntegratedGradients, KernelShap, Lime

xt = x.clone().requires_grad_()
captum = {
    "DeepLift": (lambda: DeepLift(net).attribute(xt, zeros.expand(a.rows, 13), target=target), a.rows),
    "IntegratedGradients (50 steps)": (lambda: IntegratedGradients(net).attribute(xt, zeros, target=target, n_steps=50), a.rows),
    "KernelShap (25 samples)": (lambda: [KernelShap(net).attribute(x[i:i + 1], zeros, target=target, n_samples=25) for i in range(a.slow_rows)], a.slow_rows),
    "Lime (50 samples)": (lambda: [Lime(net).attribute(x[i:i + 1], zeros, target=target, n_samples=50) for i in range(a.slow_rows)], a.slow_rows),
}
for name, (fn, n) in captum.items():
    rows.append((name, "Captum " + __import__("captum").__version__, best_of_3(fn, n)))

try:
    import shap

    predict = lambda v: net(torch.from_numpy(np.asarray(v, dtype=np.float32))).detach().numpy()[:, target]  # noqa: E731
    explainer = shap.KernelExplainer(predict, np.zeros((1, 13), dtype=np.float32))
    rows.append(("KernelShap (25 samples)", "SHAP " + shap.__version__ + " KernelExplainer",
                 best_of_3(lambda: explainer.shap_values(slow, nsamples=25, silent=True), a.slow_rows)))
except ImportError:
    pass

print(f"torch {torch.__version__}, {a.threads} thread(s), {a.rows} rows ({a.slow_rows} for per-row explainers)\n")
print("| method | implementation | rows/s |\n|---|---|---:|")
for name, impl, r in rows:
    print(f"| {name} | {impl} | {r:.0f} |")
