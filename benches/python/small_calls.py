"""Per-call overhead from Python: many one-row calls, as a notebook loop makes them.

    python benches/python/small_calls.py        # after `maturin develop --release` in python/

Prints microseconds per one-row CAFE call on the bundled demo MLP and on the CNN test model,
with rayon's global pool (threads=None) and with a pool of one thread (threads=1).
"""
import pathlib
import time

import numpy as np

import conflux

ROOT = pathlib.Path(__file__).resolve().parents[2]


def per_call(method, rows, calls):
    method.attribute(rows[:1])  # the plan is built on the first call
    start = time.perf_counter()
    for i in range(calls):
        method.attribute(rows[i % len(rows):i % len(rows) + 1])
    return (time.perf_counter() - start) / calls * 1e6


def main():
    rng = np.random.default_rng(0)
    mlp = conflux.load(ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_mlp.json")
    cnn = conflux.load(ROOT / "tests" / "models" / "graph" / "cnn6_batchnorm.onnx")
    for name, model in [("demo MLP (13 features)", mlp), ("cnn6_batchnorm", cnn)]:
        rows = rng.normal(size=(256, model.n_features))
        for threads in (None, 1):
            us = per_call(conflux.Cafe(model, threads=threads), rows, 1000)
            print(f"{name:24} threads={threads!s:5} {us:8.1f} µs per one-row call")


if __name__ == "__main__":
    main()
