"""The Python API against the CLI (bit for bit on the same inputs), pandas column matching,
background averaging, determinism across thread counts, and errors that raise (never
crash)."""
import numpy as np
import pytest

import conflux
from conftest import MODELS, ROOT, run_cli

DEMO_MODEL = ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_mlp.json"
DEMO_DATA = ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_sample.csv"


def demo_rows(n=40):
    pd = pytest.importorskip("pandas")
    return pd.read_csv(DEMO_DATA).drop(columns=["income"]).head(n)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spec,make,kw", [
    ("cafe:c=0.3", lambda m: conflux.Cafe(m, c=0.3), {}),
    ("deeplift", conflux.DeepLift, {}),
    ("integrated-gradients:steps=16", conflux.IntegratedGradients, {"n_steps": 16}),
    ("kernel-shap:n=64", conflux.KernelShap, {"n_samples": 64}),
])
def test_python_equals_the_cli_bit_for_bit(cli, tmp_path, dtype, spec, make, kw):
    frame = demo_rows()
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    # Integer-valued rows and reference: the same numbers in f32 and f64, so Python's
    # float32 arrays and the CLI's parsed CSV (f64, scaled, then cast) agree exactly.
    ref = frame.head(1) * 0 + frame.mean().round()
    ref_path = tmp_path / "ref.csv"
    ref.to_csv(ref_path, index=False)
    precision = "f64" if dtype == np.float64 else "f32"
    out = run_cli(cli, "--model", str(DEMO_MODEL), "--data", str(data), "--method", spec,
                  "--precision", precision, "--reference", str(ref_path), "--seed", "3")
    model = conflux.load(DEMO_MODEL)
    res = make(model).attribute(frame.to_numpy(dtype=dtype), baselines=ref.to_numpy(dtype=dtype),
                                seed=3, **kw)
    assert res.scores.dtype == dtype
    want = np.asarray([row["scores"] for row in out["rows"]], dtype=dtype)
    assert np.array_equal(res.scores, want), np.abs(res.scores - want).max()
    assert np.array_equal(res.output, np.asarray([r["output"] for r in out["rows"]], dtype=dtype))
    if out["rows"][0]["baseline_output"] is not None:
        base = np.asarray([r["baseline_output"] for r in out["rows"]], dtype=dtype)
        assert np.array_equal(res.baseline_output, base)
    assert res.baseline_kind == out["baseline_kind"]


def test_dataframe_columns_are_matched_by_name():
    frame = demo_rows(10)
    model = conflux.load(DEMO_MODEL)
    shuffled = frame[list(reversed(frame.columns))]
    a = conflux.Cafe(model).attribute(frame)
    b = conflux.Cafe(model).attribute(shuffled)
    assert np.array_equal(a.scores, b.scores)
    table = b.to_pandas()
    assert list(table.columns[:3]) == ["row", "target", "output"]
    assert f"score:{frame.columns[0]}" in table.columns and f"pos:{frame.columns[0]}" in table.columns
    with pytest.raises(ValueError, match="lacks the model's features"):
        conflux.Cafe(model).attribute(frame.drop(columns=[frame.columns[2]]))


@pytest.mark.parametrize("make", [lambda m: conflux.Cafe(m), conflux.DeepLift, conflux.KernelShap])
def test_a_background_is_averaged(make):
    model = conflux.load(DEMO_MODEL)
    frame = demo_rows(30)
    x, background = frame.to_numpy()[:5], frame.to_numpy()[10:17]
    avg = make(model).attribute(x, baselines=background, seed=1)
    singles = [make(model).attribute(x, baselines=background[j:j + 1], seed=1) for j in range(7)]
    np.testing.assert_allclose(avg.scores, np.mean([s.scores for s in singles], axis=0), rtol=1e-10, atol=1e-12)
    if avg.baseline_output is not None:
        np.testing.assert_allclose(avg.baseline_output, np.mean([s.baseline_output for s in singles], axis=0), rtol=1e-12)
    # Five baselines for five rows pair up unless averaging is asked for.
    paired = make(model).attribute(x, baselines=background[:5], seed=1)
    forced = make(model).attribute(x, baselines=background[:5], seed=1, average=True)
    assert not np.allclose(paired.scores, forced.scores)
    assert (avg.reference, paired.reference, forced.reference) == ("average of 7 rows", "per-row", "average of 5 rows")
    assert make(model).attribute(x).reference == "zeros"
    np.testing.assert_array_equal(singles[0].reference, background[0])


def test_seeded_results_do_not_depend_on_threads():
    model = conflux.load(DEMO_MODEL)
    x = demo_rows(64).to_numpy()
    one = conflux.KernelShap(model, threads=1).attribute(x, seed=9)
    two = conflux.KernelShap(model, threads=2).attribute(x, seed=9)
    other = conflux.KernelShap(model, threads=2).attribute(x, seed=10)
    assert np.array_equal(one.scores, two.scores)
    assert not np.array_equal(one.scores, other.scores)


def test_images_keep_their_shape():
    model = conflux.load(MODELS / "cnn6_2ch_overlap_maxpool.onnx")
    assert model.input_shape == [2, 6, 6]
    x = np.random.default_rng(0).uniform(size=(3, 2, 6, 6))
    res = conflux.Cafe(model).attribute(x)
    assert res.scores.shape == x.shape and res.feat_pos.shape == x.shape
    assert model.predict(x).shape == (3, model.n_outputs)
    patches = conflux.KernelShap(model).attribute(x, feature_mask=np.repeat(np.arange(4), 18).reshape(1, 2, 6, 6))
    assert np.all(patches.scores.reshape(3, 4, 18) == patches.scores.reshape(3, 4, 18)[:, :, :1])


@pytest.mark.parametrize("call,error,message", [
    (lambda m: conflux.Cafe(m).attribute(np.zeros((2, 5))), ValueError, "13 features"),
    (lambda m: conflux.Cafe(m).attribute(np.zeros((2, 13)), baselines=np.zeros((1, 4))), ValueError, "13 features"),
    (lambda m: conflux.Cafe(m, c=2.0).attribute(np.zeros((2, 13))), ValueError, r"parameter c = 2: expected a value in \[0, 1\]"),
    (lambda m: conflux.Cafe(m).attribute(np.zeros((2, 13)), target=7), ValueError, "target"),
    (lambda m: conflux.Cafe(m).attribute(np.zeros((2, 13)), target="most"), TypeError, "target"),
    (lambda m: conflux.Cafe(m).attribute(np.array([["a"] * 13])), ValueError, "could not convert"),
    (lambda m: conflux.KernelShap(m).attribute(np.zeros((2, 13)), feature_mask=np.zeros((1, 3))), ValueError, "feature_mask"),
    (lambda m: conflux.KernelShap(m).attribute(np.zeros((2, 13)), n_samples=0), ValueError, "parameter n = 0"),
    (lambda m: conflux.IntegratedGradients(m).attribute(np.zeros((2, 13)), n_steps=10**9), ValueError, "steps"),
    (lambda m: conflux.KernelShap(m).attribute(np.zeros((2, 13)), n_samples=10**12), ValueError, "data-cell"),
    (lambda m: conflux.Cafe("model"), TypeError, "conflux.Model"),
    (lambda m: conflux.load(ROOT / "no-such-model.onnx"), ValueError, "no-such-model"),
    (lambda m: conflux.load(b"not an onnx file"), ValueError, "expected an ONNX model"),
    (lambda m: conflux.load(12), TypeError, "PathLike"),
    (lambda m: conflux.Cafe(m).attribute(np.full((2, 13), np.nan)), ValueError, "inputs: row 0, column 'age': expected a finite"),
    (lambda m: conflux.Cafe(m).attribute(np.zeros((2, 13)), baselines=np.full((1, 13), np.inf)), ValueError,
     "baselines: row 0, column 'age'"),
    (lambda m: m.predict(np.full((1, 13), np.nan)), ValueError, "x: row 0"),
    (lambda m: conflux.Cafe(conflux.load(MODELS / "cnn6_batchnorm.onnx")).attribute(np.zeros((2, 6, 6, 1))), ValueError,
     r"expected rows of shape \[1, 6, 6\]"),
    (lambda m: conflux.load(MODELS / "cnn6_batchnorm.onnx", input_shape=[2**32, 2**32]), ValueError, "too large"),
    (lambda m: conflux.load(MODELS / "cnn6_batchnorm.onnx", input_shape=[]), ValueError, "1 to 8 dimensions"),
    (lambda m: conflux.Cafe(m, threads=0), ValueError, "threads: expected at least 1"),
    (lambda m: conflux.Cafe(m, threads=1.5), TypeError, "threads"),
    (lambda m: conflux.KernelShap(m).attribute(np.zeros((2, 13)), seed=-1), ValueError, "seed"),
    (lambda m: conflux.metrics.infidelity(conflux.Cafe(m), np.zeros((2, 13)), n_perturb_samples=10**12), ValueError,
     "infidelity holds"),
    (lambda m: conflux.metrics.sensitivity_max(conflux.Cafe(m), np.zeros((300, 13)), n_perturb_samples=10**6),
     ValueError, "rows or fewer"),
    (lambda m: conflux.metrics.sensitivity_max(conflux.Cafe(m), np.zeros((2, 13)), perturb_radius=np.inf), ValueError,
     "radius"),
    (lambda m: conflux.metrics.infidelity(conflux.Cafe(m), np.zeros((2, 13)), perturb_sd=np.inf), ValueError, "perturb-sd"),
    (lambda m: conflux.train_mlp(np.zeros((4, 0)), label=np.array([0.0, 1, 0, 1])), ValueError, "at least one feature"),
    (lambda m: conflux.train_mlp(np.zeros((4, 2)), label=np.zeros(4)), ValueError, "at least two classes"),
    (lambda m: conflux.train_mlp(np.zeros((3, 2)), label=np.array([0.0, np.nan, 1.0]), task="regression"), ValueError,
     "row 1: expected a finite label"),
])
def test_errors_raise(call, error, message):
    model = conflux.load(DEMO_MODEL)
    with pytest.raises(error, match=message):
        call(model)


def test_metrics_equal_the_cli_evaluate(cli, tmp_path):
    import json
    import subprocess

    from conflux import metrics

    frame = demo_rows(20)
    data = tmp_path / "rows.csv"
    labelled = frame.assign(income=0)
    labelled.to_csv(data, index=False)
    out_path = tmp_path / "eval.json"
    run = subprocess.run([cli, "evaluate", "--model", str(DEMO_MODEL), "--data", str(data), "--label", "income",
                          "--method", "deeplift", "--metric", "infidelity", "--metric", "sensitivity-max",
                          "--metric", "completeness", "--out", str(out_path), "--quiet"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    want = json.loads(out_path.read_text())["methods"][0]
    model = conflux.load(DEMO_MODEL)
    explainer = conflux.DeepLift(model)
    x = frame.to_numpy()
    for name, values in [("infidelity", metrics.infidelity(explainer, x)),
                         ("sensitivity-max", metrics.sensitivity_max(explainer, x)),
                         ("completeness", metrics.completeness(explainer, x))]:
        assert values.shape == (20,)
        np.testing.assert_allclose(values.mean(), want[name]["mean"], rtol=1e-12, atol=1e-15, err_msg=name)
    assert metrics.completeness(conflux.Saliency(model), x) is None
    with pytest.raises(ValueError, match="perturb-sd"):
        metrics.infidelity(explainer, x, perturb_sd=-1.0)


@pytest.mark.parametrize("path", [DEMO_MODEL, MODELS / "mlp7_residual_projection.onnx", MODELS / "cnn6_batchnorm_unfolded.onnx"])
def test_inspect_prints_what_the_cli_prints(cli, path):
    import subprocess

    run = subprocess.run([cli, "inspect", "--model", str(path)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    text = conflux.load(str(path)).inspect()
    assert text == run.stdout
    assert "parameters" in text and "layers" in text


def test_train_mlp_equals_the_cli_trainer(cli, tmp_path):
    import json
    import subprocess

    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(DEMO_DATA)
    data = tmp_path / "train.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "cli.json"
    run = subprocess.run([cli, "train", "mlp", "--data", str(data), "--label", "income", "--task", "binary",
                          "--hidden", "16", "--epochs", "3", "--seed", "4", "--out", str(out), "--quiet"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    model, report = conflux.train_mlp(frame, label="income", task="binary", hidden=(16,), epochs=3, seed=4)
    assert len(report["epochs"]) == 3 and 0.0 <= report["accuracy"] <= 1.0
    mine = tmp_path / "py.json"
    model.save(mine)
    assert json.loads(mine.read_text()) == json.loads(out.read_text())
    x = frame.drop(columns=["income"]).to_numpy()
    np.testing.assert_array_equal(model.predict(x), conflux.load(out).predict(x))
    with pytest.raises(ValueError, match="unknown activation"):
        conflux.train_mlp(frame, label="income", activation="swish")
    with pytest.raises(ValueError, match="no column"):
        conflux.train_mlp(frame, label="y")


def test_many_rows_are_batched_as_the_cli_batches(cli, tmp_path):
    """More rows than one call holds (4 096): sampling draws still equal the CLI's."""
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(ROOT / "tests" / "data" / "adult" / "adult-train.csv").drop(columns=["income"]).head(5000)
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    out = run_cli(cli, "--model", str(DEMO_MODEL), "--data", str(data), "--method", "kernel-shap:n=16",
                  "--precision", "f64", "--seed", "5")
    res = conflux.KernelShap(conflux.load(DEMO_MODEL)).attribute(frame.to_numpy(dtype=np.float64), n_samples=16, seed=5)
    want = np.asarray([row["scores"] for row in out["rows"]])
    assert res.scores.shape == (5000, 13) and list(res.rows[-2:]) == [4998, 4999]
    assert np.array_equal(res.scores, want)


def test_arguments_are_checked_as_python_checks_them():
    model = conflux.load(DEMO_MODEL)
    x = demo_rows(4).to_numpy()
    with pytest.raises(TypeError, match="n_step"):
        conflux.IntegratedGradients(model).attribute(x, n_step=10)
    with pytest.raises(ValueError, match="does not use a reference"):
        conflux.Saliency(model).attribute(x, baselines=x[:3])
    # Captum's scalar baseline; NumPy scalars as parameters.
    a = conflux.DeepLift(model).attribute(x, baselines=0.0)
    b = conflux.DeepLift(model).attribute(x, baselines=np.zeros((1, 13)))
    assert np.array_equal(a.scores, b.scores)
    c = conflux.Cafe(model, c=np.float64(0.25)).attribute(x)
    assert np.array_equal(c.scores, conflux.Cafe(model, c=0.25).attribute(x).scores)
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(DEMO_DATA)
    with pytest.raises(ValueError, match="at least 2 rows"):
        conflux.train_mlp(frame.head(1), label="income", task="regression")
    with pytest.raises(ValueError, match="finite"):
        conflux.train_mlp(frame.assign(age=np.nan), label="income")


def test_to_shap_carries_the_scores():
    shap = pytest.importorskip("shap")
    model = conflux.load(DEMO_MODEL)
    frame = demo_rows(6)
    res = conflux.DeepLift(model).attribute(frame)
    e = res.to_shap(data=frame.to_numpy())
    assert isinstance(e, shap.Explanation)
    assert np.array_equal(e.values, res.scores) and list(e.feature_names) == list(frame.columns)
    assert np.array_equal(e.base_values, res.baseline_output)


def test_distribution_methods_average_even_n_baselines():
    model = conflux.load(DEMO_MODEL)
    rows = demo_rows(8).to_numpy()
    x, bg = rows[:4], rows[4:]
    shap_like = conflux.DeepLiftShap(model).attribute(x, baselines=bg)
    averaged = conflux.DeepLift(model).attribute(x, baselines=bg, average=True)
    paired = conflux.DeepLift(model).attribute(x, baselines=bg)
    assert np.array_equal(shap_like.scores, averaged.scores)
    assert not np.array_equal(shap_like.scores, paired.scores)
    # Lime with Captum's Lasso surrogate by default, the CLI's least squares on request.
    lasso = conflux.Lime(model).attribute(x, seed=2)
    wls = conflux.Lime(model).attribute(x, seed=2, surrogate="wls")
    assert not np.array_equal(lasso.scores, wls.scores)


def _write_rows(path, columns, rows):
    """A CSV whose numbers the CLI parses to exactly these float64 values (repr round-trips)."""
    lines = [",".join(columns)] + [",".join(repr(float(v)) for v in row) for row in np.atleast_2d(rows)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("mode", ["shared", "average"])
def test_float32_inputs_with_float64_baselines_equal_the_cli(cli, tmp_path, mode):
    """Baselines are scaled in float64 and cast once, as the CLI treats a reference file,
    whatever the inputs' precision; a background averages as --reference-mode average."""
    frame = demo_rows(12)
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    rng = np.random.default_rng(7)
    base = frame.to_numpy(dtype=np.float64)[:4] * rng.uniform(0.3, 0.9, size=(4, frame.shape[1]))
    if mode == "shared":
        base = base[:1]
    ref = tmp_path / "ref.csv"
    _write_rows(ref, frame.columns, base)
    for spec, make in [("cafe:c=0.3", lambda m: conflux.Cafe(m, c=0.3)), ("deeplift", conflux.DeepLift)]:
        out = run_cli(cli, "--model", str(DEMO_MODEL), "--data", str(data), "--method", spec, "--precision", "f32",
                      "--reference", str(ref), "--reference-mode", mode)
        res = make(conflux.load(DEMO_MODEL)).attribute(frame.to_numpy(dtype=np.float32), baselines=base,
                                                      average=mode == "average")
        want = np.asarray([row["scores"] for row in out["rows"]], dtype=np.float32)
        assert np.array_equal(res.scores, want), (spec, np.abs(res.scores - want).max())
        base_out = np.asarray([r["baseline_output"] for r in out["rows"]], dtype=np.float32)
        assert np.array_equal(res.baseline_output, base_out), spec
        if mode == "average":
            assert res.reference == out["reference"] == "average of 4 rows"
        else:
            np.testing.assert_array_equal(res.reference, base[0])


def test_feature_mask_equals_a_groups_file(cli, tmp_path):
    """A Captum feature mask and the same partition as a --groups file give the same
    sampling draws, whatever ids the mask uses."""
    import json

    frame = demo_rows(6)
    data = tmp_path / "rows.csv"
    frame.to_csv(data, index=False)
    ids = np.array([7, 7, 2, 2, 2, 9, 0, 0, 4, 4, 4, 4, 9])  # groups listed by first member: 7, 2, 9, 0, 4
    names = list(frame.columns)
    groups = {}
    for f, g in enumerate(ids):
        groups.setdefault(f"g{g}", []).append(names[f])
    (tmp_path / "groups.json").write_text(json.dumps(dict(sorted(groups.items()))))
    out = run_cli(cli, "--model", str(DEMO_MODEL), "--data", str(data), "--method", "kernel-shap:n=48",
                  "--precision", "f64", "--groups", str(tmp_path / "groups.json"), "--seed", "11")
    res = conflux.KernelShap(conflux.load(DEMO_MODEL)).attribute(frame.to_numpy(dtype=np.float64), feature_mask=ids,
                                                                  n_samples=48, seed=11)
    np.testing.assert_array_equal(res.scores, np.asarray([r["scores"] for r in out["rows"]]))
