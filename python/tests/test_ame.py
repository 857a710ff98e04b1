"""The AME from Python against the CLI: training gives the same model file, explain and
evaluate give the same numbers bit for bit, and bad input raises."""
import json
import subprocess

import numpy as np
import pytest

import conflux
from conftest import ROOT

ADULT = ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_sample.csv"
DIGITS = ROOT / "tests" / "data" / "digits" / "digits_8x8.csv"


def cli_run(cli, *args):
    run = subprocess.run([cli, *args, "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


# (data, label, task, Python keywords, CLI flags, rows): a binary tabular AME with two
# feature groups, a multi-class image AME (the strided-conv stem on 8×8 digits), and a
# regression AME with the paper's linear Granger predictors (the default is an MLP).
CASES = {
    "binary-groups": (ADULT, "income", "binary",
                      {"groups": {"money": ["capital-gain", "capital-loss"], "age": ["age"]}},
                      ["--groups", "GROUPS"], 300),
    "multiclass-image": (DIGITS, "label", "multiclass",
                         {"image": (8, 8), "stem_convs": 2, "hidden": (4,)},
                         ["--image", "8x8", "--stem-convs", "2", "--hidden", "4"], 400),
    "regression-linear-granger": (ADULT, "age", "regression", {"granger_hidden": 0},
                                  ["--granger-hidden", "0"], 300),
}


@pytest.fixture(params=sorted(CASES))
def trained(request, cli, tmp_path):
    """The same AME trained by the CLI and from Python, and its data."""
    pd = pytest.importorskip("pandas")
    path, label, task, kw, flags, rows = CASES[request.param]
    frame = pd.read_csv(path).head(rows)
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    if "groups" in kw:
        # The groups file names the columns; the features outside it are one expert each.
        groups = dict(kw["groups"])
        grouped = {c for cols in groups.values() for c in cols}
        for c in frame.columns:
            if c != label and c not in grouped:
                groups[c] = [c]
        kw = dict(kw, groups=groups)
        (tmp_path / "groups.json").write_text(json.dumps(groups))
        flags = [str(tmp_path / "groups.json") if f == "GROUPS" else f for f in flags]
    model = tmp_path / "cli.ame.json"
    cli_run(cli, "train", "ame", "--data", str(data), "--label", label, "--task", task,
            "--epochs", "3", "--seed", "5", *flags, "--out", str(model))
    ame = conflux.Ame(task=task, epochs=3, seed=5, **kw).fit(frame, label=label)
    return ame, model, frame, data, label


def test_fit_writes_the_cli_trainers_model(trained, tmp_path, cli):
    ame, model, _, _, _ = trained
    mine = tmp_path / "py.ame.json"
    ame.save(mine)
    assert json.loads(mine.read_text()) == json.loads(model.read_text())
    assert len(ame.report["epochs"]) == ame.report["epochs_run"] == 3
    assert ame.groups == conflux.Ame.load(model).groups
    shown = subprocess.run([cli, "inspect", "--model", str(model)], capture_output=True, text=True)
    assert shown.returncode == 0 and "(AME)" in shown.stdout
    assert conflux.Ame.load(str(model)).model.inspect() == shown.stdout


def test_explain_equals_the_cli_bit_for_bit(trained, cli):
    ame, model, frame, data, label = trained
    out = json.loads(cli_run(cli, "explain", "--model", str(model), "--data", str(data),
                             "--label", label, "--format", "json"))
    res = conflux.Ame.load(model).explain(frame, label=label)
    assert out["groups"] == ame.groups == res.groups
    names = out["groups"]
    prediction = np.asarray([np.atleast_1d(r["prediction"]) for r in out["rows"]])
    importance = np.asarray([[r["importance"][g] for g in names] for r in out["rows"]])
    granger = np.asarray([[r["granger"][g] for g in names] for r in out["rows"]])
    np.testing.assert_array_equal(res.prediction, prediction)
    np.testing.assert_array_equal(res.importance, importance)
    np.testing.assert_array_equal(res.granger, granger)
    np.testing.assert_allclose(res.importance.sum(axis=1), 1.0, rtol=1e-12)
    # Without labels there is no ω; the DataFrame's column order does not matter.
    shuffled = frame[list(reversed(frame.columns))].drop(columns=[label])
    plain = conflux.Ame.load(model).explain(shuffled)
    assert plain.granger is None
    np.testing.assert_array_equal(plain.importance, importance)
    table = res.to_pandas()
    assert table.shape == (len(frame), prediction.shape[1] + 2 * len(names))
    assert f"importance_{names[0]}" in table.columns and f"granger_{names[-1]}" in table.columns


def test_evaluate_equals_the_cli(trained, cli):
    ame, model, frame, data, label = trained
    out = json.loads(cli_run(cli, "evaluate", "--model", str(model), "--data", str(data),
                             "--label", label, "--format", "json", "--out", "-"))
    got = conflux.Ame.load(model).evaluate(frame, label=label)
    assert got["rows"] == out["rows_evaluated"] == len(frame)
    assert got["quality"] == out["quality"]
    assert got["mge"] == out["mge"] and got["granger_r2"] == out["granger_r2"]
    assert got["importance"].to_dict() == out["importance"]
    assert {str(c): col.to_dict() for c, col in got["importance_by_class"].items()} == out["importance_by_class"]
    # The AME is also a model for every model-agnostic method.
    x = frame.drop(columns=[label]).head(3)
    scores = conflux.FeatureAblation(ame.model).attribute(x).scores
    assert scores.shape == x.shape and np.isfinite(scores).all()


def test_numpy_inputs_take_labels_as_an_array():
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(ADULT).head(200)
    x = frame.drop(columns=["income"]).to_numpy(dtype=np.float64)
    y = frame["income"].to_numpy()
    a = conflux.Ame(epochs=2, seed=1).fit(x, label=y)
    b = conflux.Ame(epochs=2, seed=1).fit(frame, label="income")
    np.testing.assert_array_equal(a.explain(x, label=y).granger, b.explain(frame, label="income").granger)
    assert a.groups == [f"f{i}" for i in range(x.shape[1])]
    assert a.evaluate(x, label=y)["mge"] == b.evaluate(frame, label="income")["mge"]


@pytest.mark.parametrize("call,error,message", [
    (lambda f: conflux.Ame().explain(f), ValueError, "not trained yet"),
    (lambda f: conflux.Ame(alpha=2).fit(f, label="income"), ValueError, "alpha"),
    (lambda f: conflux.Ame().fit(f, label="wage"), ValueError, "no column 'wage'"),
    (lambda f: conflux.Ame(groups={"g": ["height"]}).fit(f, label="income"), ValueError, "unknown columns"),
    (lambda f: conflux.Ame(groups=["age"]).fit(f, label="income"), TypeError, "groups"),
    (lambda f: conflux.Ame(groups={"g": ["age"]}).fit(f, label="income"), ValueError, "are in none"),
    (lambda f: conflux.Ame(groups={"a": list(f.columns[:-1]), "b": ["age"]}).fit(f, label="income"), ValueError,
     "in two groups"),
    (lambda f: conflux.Ame(task="multiclass").fit(f.assign(income=1e300), label="income"), ValueError,
     "more parameters than allowed"),
    (lambda f: conflux.Ame(task="ranking").fit(f, label="income"), ValueError, "expected regression"),
    (lambda f: conflux.Ame(epochs=1).fit(f.assign(age=np.nan), label="income"), ValueError, "row 0, column 'age'"),
    (lambda f: conflux.Ame(epochs=1).fit(f, label="income").explain(f.assign(income=3), label="income"),
     ValueError, "label 3 is not valid for this binary AME"),
    (lambda f: conflux.Ame(epochs=1).fit(f, label="income").evaluate(f.drop(columns=["income"])),
     ValueError, "needs the labels"),
    (lambda f: conflux.Ame(epochs=1).fit(f, label="income").explain(f.drop(columns=["age", "income"])),
     ValueError, "lacks the model's features"),
    (lambda f: conflux.Cafe(conflux.Ame(epochs=1).fit(f, label="income").model).attribute(f.drop(columns=["income"])),
     ValueError, "needs a layered network; use kernel-shap"),
    (lambda f: conflux.Ame.load(ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_mlp.json"),
     ValueError, "not an AME"),
    (lambda f: conflux.load(ROOT / "crates" / "conflux-cli" / "assets" / "demo" / "adult_mlp.json")
     ._native.ame_explain(np.zeros((1, 13))), TypeError, "not an AME"),
])
def test_errors_raise(call, error, message):
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(ADULT).head(60)
    with pytest.raises(error, match=message):
        call(frame)
