"""The golden vectors through Python, at the CLI's tolerances: CAFE against the authors'
reference (f64: 1e-5 relative, 1e-6 absolute), Captum's Saliency, InputXGradient, Integrated
Gradients and (where Captum is complete) DeepLift on the graph networks."""
import numpy as np
import pytest

import conflux
from conftest import EXACT, baselines, cafe_model, golden, MODELS


def close(got, want, what):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=what)


@pytest.mark.parametrize("name", EXACT)
def test_cafe_matches_the_reference(name):
    g = golden(name)
    model = conflux.load(cafe_model(name))
    x = np.asarray(g["inputs"], dtype=np.float64)
    checked = 0
    for case in g["cases"]:
        if case["reference"] == "nonzero" and "layernorm" in name:
            continue  # the reference implementation refuses it (null golden values)
        r = np.asarray(g["references"][case["reference"]], dtype=np.float64)[None, :]
        res = conflux.Cafe(model, c=case["c"]).attribute(x, baselines=r, target=case["target"])
        e = case["expected"]
        what = f"{name} c={case['c']} {case['reference']}"
        close(res.feat_pos, np.asarray(e["feat_pos"]), what + " S+")
        close(res.feat_neg, np.asarray(e["feat_neg"]), what + " S-")
        close(res.bias_pos, np.asarray(e["bias_pos"]), what + " B+")
        close(res.bias_neg, np.asarray(e["bias_neg"]), what + " B-")
        assert res.baseline_kind.startswith("bias_ablated_reference")
        assert np.all(np.abs(res.completeness_gap) < 1e-8 * (1 + np.abs(res.output)))
        checked += 1
    # Three values of c × two references (one reference for LayerNorm).
    assert checked == (3 if "layernorm" in name else 6)


@pytest.mark.parametrize("name", EXACT + ["cnn10_relu_maxpool_avgpool", "cnn6_2ch_overlap_maxpool"])
def test_baselines_match_captum(name):
    b = baselines(name)
    g = golden(name)
    model = conflux.load(MODELS / f"{name}.onnx")
    x = np.asarray(g["inputs"], dtype=np.float64)
    t = b["target"]
    checked = 0
    for m in b["methods"]:
        ref = m.get("reference")
        r = None if ref is None else np.asarray(g["references"][ref], dtype=np.float64)[None, :]
        if m["method"] == "Saliency":
            res = conflux.Saliency(model).attribute(x, target=t, abs=False)
        elif m["method"] == "InputXGradient":
            res = conflux.InputXGradient(model).attribute(x, target=t)
        elif m["method"] == "IntegratedGradients":
            res = conflux.IntegratedGradients(model).attribute(x, baselines=r, target=t, n_steps=64)
        elif m["method"] == "DeepLift" and m["convergence_delta_max_abs"] < 1e-8:
            res = conflux.DeepLift(model).attribute(x, baselines=r, target=t)
        else:
            continue
        close(res.scores, np.asarray(m["attributions"]), f"{name} {m['method']} {ref}")
        checked += 1
    assert checked >= 4
