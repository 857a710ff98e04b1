"""Rows/s of the authors' CAFE (CafeNgExplainer) and Captum's InputXGradient on the CNN of
`conflux bench cafe` (28×28, Conv(1→8) ReLU MaxPool Conv(8→16) ReLU, residual block
Conv(16→16) ReLU Conv(16→16) + identity, ReLU, MaxPool, Linear(784→10)), float32.

Run in a scratch venv with torch and captum (never a conflux dependency), with the authors'
repository (github.com/adamdejl/hidden-conflicts) on PYTHONPATH for `txai`:
    python benches/python/cnn_bench.py --threads 1
The authors' code explains a residual block only as their own `ResidualBlock` module; the
residual block is built from it for their run.
"""
import argparse, os, sys, time, torch, torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_cnn import Residual, build  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--seconds", type=float, default=2.0)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def rate(fn, rows):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        fn()
        n += 1
    return n * rows / (time.perf_counter() - t0)


rows_out = []
net = build(Residual)
from captum.attr import InputXGradient, DeepLift
for batch in [1, 256]:
    x = torch.rand(batch, 1, 28, 28)
    with torch.no_grad():
        fwd = rate(lambda: net(x), batch)
    ixg = InputXGradient(net)
    r_ixg = rate(lambda: ixg.attribute(x.clone().requires_grad_(), target=0), batch)
    rows_out.append((batch, "forward (PyTorch)", fwd))
    rows_out.append((batch, "Captum InputXGradient", r_ixg))
try:
    from txai.utils.models import ResidualBlock
    from txai.explainability.cafe_ng import CafeNgExplainer

    def authors_residual():
        block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
        return ResidualBlock(nn.Identity(), block)

    net2 = build(authors_residual)
    cafe = CafeNgExplainer(net2, c=0.5)
    for batch in [1, 256]:
        x = torch.rand(batch, 1, 28, 28)
        rows_out.append((batch, "authors' CAFE (CafeNgExplainer, c = 0.5)", rate(lambda: cafe.attribute(x, 0), batch)))
except Exception as e:  # noqa: BLE001
    rows_out.append((0, f"authors' CAFE unavailable: {type(e).__name__}: {e}", 0.0))
print(f"torch {torch.__version__}, {a.threads} thread(s)")
for batch, name, r in rows_out:
    print(f"| {name} | {a.threads} | {batch} | {r:.0f} |")
