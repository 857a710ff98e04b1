"""Shared fixtures: the golden vectors and test models copied into this repository (tests/golden, tests/models)."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "graph"
MODELS = ROOT / "tests" / "models" / "graph"

# Networks whose CAFE values are exact at every c (no max pooling), and how each is loaded.
EXACT = ["cnn6_batchnorm", "cnn10_gelu_stride2", "mlp7_residual", "mlp7_residual_projection", "mlp8_layernorm"]


def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def baselines(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.baselines.json").read_text())


def cafe_model(name: str) -> pathlib.Path:
    """BatchNorm kept for CAFE (the default export folds it into the convolution)."""
    stem = "cnn6_batchnorm_unfolded" if name == "cnn6_batchnorm" else name
    return MODELS / f"{stem}.onnx"


@pytest.fixture(scope="session")
def cli() -> str:
    """The conflux binary the Rust build made (CONFLUX_BIN, or target/{debug,release})."""
    for path in [os.environ.get("CONFLUX_BIN"), ROOT / "target" / "debug" / "conflux", ROOT / "target" / "release" / "conflux"]:
        if path and pathlib.Path(path).is_file():
            return str(path)
    exe = shutil.which("conflux")
    if exe:
        return exe
    pytest.fail("no conflux binary: run cargo build first (or set CONFLUX_BIN)")


def run_cli(cli: str, *args: str) -> dict:
    out = subprocess.run([cli, "explain", "--quiet", *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
