"""conflux: conflict-aware attributions (CAFE) and every common baseline, exact and fast,
from NumPy, pandas and PyTorch, shaped like Captum.

    import conflux
    model = conflux.load("model.onnx")            # or conflux.from_torch(module, example)
    result = conflux.Cafe(model, c=0.5).attribute(x)
    result.scores, result.feat_pos, result.feat_neg, result.completeness_gap

The computation runs in Rust without the GIL, on conflux's thread pool (`threads=`). The
input's dtype decides the precision (float32 → f32, float64 → f64), so results equal the
CLI's at the same precision. `target=None` means the predicted output (the arg-max), as in
the CLI; `baselines=None` means zeros.
"""

from __future__ import annotations

import io
import json
from typing import Any, Optional, Sequence

import numpy as np

from . import _conflux
from ._conflux import __version__, methods

__all__ = [
    "Ame",
    "AmeExplanation",
    "Attribution",
    "Cafe",
    "DeepLift",
    "DeepLiftRevealCancel",
    "DeepLiftShap",
    "FeatureAblation",
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "KernelShap",
    "LRP",
    "Lime",
    "Model",
    "Saliency",
    "ShapleyValueSampling",
    "SmoothGrad",
    "__version__",
    "from_torch",
    "load",
    "methods",
    "metrics",
    "train_mlp",
]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def _is_pandas(x: Any) -> bool:
    return type(x).__module__.startswith("pandas")


class Model:
    """A network (JSON, ONNX, safetensors + architecture) or an AME, loaded by conflux."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def n_features(self) -> int:
        """Elements of one input row."""
        return self._native.n_features

    @property
    def n_outputs(self) -> int:
        """Number of outputs."""
        return self._native.n_outputs

    @property
    def input_shape(self) -> list:
        """The per-row input shape: ``[F]``, or ``[C, H, W]`` for images."""
        return self._native.input_shape

    @property
    def feature_names(self) -> Optional[list]:
        """Feature names stored in the model file, if any."""
        return self._native.feature_names

    @property
    def kind(self) -> str:
        """``"network"`` or ``"ame"``."""
        return self._native.kind

    def inspect(self) -> str:
        """What ``conflux inspect`` prints: inputs, shape, preprocessing, the layer table
        (activation layers show the ``[cK]`` index per-layer ``c`` uses), head, outputs and
        parameters; for an AME its task, encoder, experts and groups."""
        return self._native.inspect()

    def save(self, path: Any) -> None:
        """Saves the model as conflux's JSON (what the CLI's ``--model`` reads); an AME as
        ``train ame`` writes it."""
        import os

        self._native.save(os.fspath(path))

    def predict(self, x: Any) -> Any:
        """Outputs (logits) for ``x``: NumPy, pandas or torch, ``(N, F)`` or image-shaped."""
        arr, back = _as_rows(self, x)
        return back(self._native.predict(arr), None)

    def __repr__(self) -> str:
        return (
            f"conflux.Model({self.kind}, input_shape={self.input_shape}, "
            f"outputs={self.n_outputs})"
        )


def load(source: Any, input_shape: Optional[Sequence[int]] = None, arch: Optional[str] = None) -> Model:
    """Loads a model from a path (every format the CLI reads) or the bytes of an ONNX file.

    ``input_shape`` (``(C, H, W)``) gives image models exported with a flat or symbolic input
    their shape; ``arch`` is the architecture of a safetensors file (as ``--arch``).
    """
    if not isinstance(source, (bytes, bytearray)):
        import os

        source = os.fspath(source)
    else:
        source = bytes(source)
    return Model(_conflux.load(source, None if input_shape is None else list(input_shape), arch))


def from_torch(module: Any, example_input: Any, opset_version: int = 17) -> Model:
    """Exports a torch module through ``torch.onnx.export`` into memory and loads it.

    ``example_input`` is one batch of inputs (its shape after the batch dimension is the
    model's input shape). torch is needed here only; it is never a dependency of conflux.
    """
    import torch  # noqa: F401  (imported for its error message when missing)

    buffer = io.BytesIO()
    was_training = module.training
    module.eval()
    # The TorchScript exporter writes a dynamic batch axis from `dynamic_axes`; torch ≥ 2.5
    # takes `dynamo=` (its default becomes the dynamo exporter), older versions only know it.
    import inspect

    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    try:
        torch.onnx.export(
            module,
            (example_input,),
            buffer,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=opset_version,
            **legacy,
        )
    finally:
        module.train(was_training)
    shape = list(example_input.shape[1:])
    return load(buffer.getvalue(), input_shape=shape if len(shape) == 3 else None)


def train_mlp(data: Any, label: str, task: str = "binary", hidden: Sequence[int] = (64, 64),
              activation: str = "relu", epochs: int = 20, batch_size: int = 64, lr: float = 1e-3,
              weight_decay: float = 1e-2, patience: int = 5, val_split: float = 0.2,
              standardize: bool = True, bias: bool = True, seed: int = 0):
    """Trains an MLP on a DataFrame with the ``label`` column (or a NumPy ``(N, F)`` array
    with ``label`` an array of N labels) as the CLI's ``train mlp`` does: AdamW, early
    stopping on a seeded validation split, inputs standardised into the model. Returns
    ``(model, report)``; ``model.save("m.json")`` writes it for the CLI."""
    x, y, names = _features_and_labels(data, label, None, "train_mlp")
    if y is None:
        raise TypeError("label: expected the label column's name (or, with a NumPy array, the labels)")
    native, report = _conflux.train_mlp(
        x,
        y,
        names,
        task,
        list(hidden),
        activation,
        epochs,
        batch_size,
        lr,
        weight_decay,
        patience,
        val_split,
        standardize,
        bias,
        seed,
    )
    return Model(native), report


class AmeExplanation:
    """An AME's own explanation of its rows: ``prediction`` (``(N, o)``; probabilities for
    classification, values for regression), ``importance`` (the attention ``a``, ``(N, p)``,
    each row sums to 1) and, when labels were given, ``granger`` (the Granger-causal target
    ``ω``, ``(N, p)``); ``groups`` names the experts."""

    def __init__(self, raw: dict, groups: list) -> None:
        self.prediction = raw["prediction"]
        self.importance = raw["importance"]
        self.granger = raw.get("granger")
        self.groups = groups

    def __repr__(self) -> str:
        return f"conflux.AmeExplanation({len(self.importance)} rows, {len(self.groups)} experts)"

    def to_pandas(self) -> Any:
        """The CLI's CSV columns: ``prediction`` (``prediction_j`` per class),
        ``importance_GROUP`` and, with labels, ``granger_GROUP``."""
        import pandas as pd

        o = self.prediction.shape[1]
        data = {}
        if o == 1:
            data["prediction"] = self.prediction[:, 0]
        else:
            for j in range(o):
                data[f"prediction_{j}"] = self.prediction[:, j]
        for i, g in enumerate(self.groups):
            data[f"importance_{g}"] = self.importance[:, i]
        if self.granger is not None:
            for i, g in enumerate(self.groups):
                data[f"granger_{g}"] = self.granger[:, i]
        return pd.DataFrame(data)


class Ame:
    """An Attentive Mixture of Experts trained with the Granger-causal objective (the CLI's
    ``train ame``): it predicts and, in the same forward pass, says how important each
    expert (feature or feature group) was.

        ame = conflux.Ame(task="binary", alpha=0.05).fit(df, label="income")
        ame.explain(df).importance          # (N, experts) attention, rows sum to 1
        ame.evaluate(df, label="income")    # accuracy/AUC or RMSE, MGE, Granger r², importances

    The defaults are the CLI's. ``groups`` maps expert names to column names, every feature
    in exactly one expert (default: one expert per feature; experts are ordered by their
    first column, as the CLI orders a groups file); ``image=(H, W)`` trains the strided-conv image stem instead, each
    output cell an expert. ``granger_hidden`` is the hidden width of the Granger-causal
    predictors (``0``: the paper's linear ones; ``None``: the CLI's default, 32 for tabular
    experts and 0 with ``image``). ``fit`` leaves ``model`` (a ``conflux.Model``, usable with every
    model-agnostic method) and ``report``.
    """

    def __init__(self, task: str = "binary", groups: Optional[dict] = None,
                 hidden: Sequence[int] = (16,), gate_width: Optional[int] = None,
                 alpha: float = 0.05, attention_dropout: float = 0.2, epochs: int = 200,
                 batch_size: int = 64, lr: float = 1e-3, patience: int = 12,
                 val_split: float = 0.2, standardize: bool = True,
                 image: Optional[Sequence[int]] = None, stem_convs: int = 2, seed: int = 0,
                 threads: Optional[int] = None, granger_hidden: Optional[int] = None) -> None:
        self.task = task
        self.groups_spec = groups
        self.hidden = list(hidden)
        self.gate_width = gate_width
        self.alpha = alpha
        self.attention_dropout = attention_dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_split = val_split
        self.standardize = standardize
        self.image = None if image is None else tuple(int(v) for v in image)
        self.stem_convs = stem_convs
        self.granger_hidden = granger_hidden
        self.seed = _seed(seed)
        self.threads = _threads(threads)
        self.model: Optional[Model] = None
        self.report: Optional[dict] = None

    @classmethod
    def load(cls, source: Any) -> "Ame":
        """An AME saved by ``save`` or the CLI's ``train ame``."""
        model = load(source)
        if model.kind != "ame":
            raise ValueError(f"{source}: not an AME model (it is a {model.kind})")
        ame = cls(task=model._native.ame_task)
        ame.model = model
        return ame

    def save(self, path: Any) -> None:
        """Writes the AME as the CLI's ``model.ame.json`` (with its training record)."""
        self._fitted().save(path)

    @property
    def groups(self) -> list:
        """The experts' names."""
        return self._fitted()._native.groups

    def _fitted(self) -> Model:
        if self.model is None:
            raise ValueError("this Ame is not trained yet: call fit(data, label=...) or Ame.load(path)")
        return self.model

    def fit(self, data: Any, label: Any) -> "Ame":
        """Trains on ``data``: a DataFrame with the ``label`` column (the other columns are
        the features), or a NumPy ``(N, F)`` array with ``label`` an array of N labels.
        Returns ``self``."""
        x, y, names = _features_and_labels(data, label, None, "fit")
        groups = None
        if self.groups_spec is not None:
            if not isinstance(self.groups_spec, dict):
                raise TypeError("groups: expected a dict {expert name: [column names]}")
            index = {n: i for i, n in enumerate(names)}
            groups = []
            for g, cols in self.groups_spec.items():
                if isinstance(cols, str):
                    cols = [cols]
                missing = [c for c in cols if c not in index]
                if missing:
                    raise ValueError(f"groups: expert '{g}' names unknown columns {missing}")
                groups.append((str(g), [index[c] for c in cols]))
            grouped = {i for _, members in groups for i in members}
            left = [n for i, n in enumerate(names) if i not in grouped]
            if left:
                raise ValueError(f"groups: every feature must be in exactly one expert; {left} are in none")
        native, record, epochs = _conflux.train_ame(
            x, y, names, self.task, groups, self.hidden, self.gate_width, self.alpha,
            self.attention_dropout, self.epochs, self.batch_size, self.lr, self.patience,
            self.val_split, self.standardize, self.image, self.stem_convs, self.seed,
            self.granger_hidden,
        )
        self.model = Model(native)
        # The record the model file keeps, plus (train loss, validation main loss,
        # validation MGE) per epoch.
        self.report = dict(json.loads(record), epochs=epochs)
        return self

    def explain(self, data: Any, label: Any = None) -> AmeExplanation:
        """The AME's prediction and per-expert importance for every row of ``data`` (a
        DataFrame, columns matched by the model's feature names, or a NumPy array); with
        ``label`` (a column name, or an array) also the Granger-causal target ``ω``."""
        model = self._fitted()
        x, y, _ = _features_and_labels(data, label, model.feature_names, "explain")
        raw = model._native.ame_explain(x, y, self.threads)
        return AmeExplanation(raw, self.groups)

    def evaluate(self, data: Any, label: Any = None) -> dict:
        """The CLI's ``evaluate`` of an AME: ``rows``, ``quality`` (``accuracy`` and, for
        binary tasks, ``auc``; ``rmse`` for regression), ``mge`` (mean KL(ω ‖ a), lower is
        better), ``granger_r2``, ``importance`` (a pandas Series of mean attention per expert)
        and ``importance_by_class`` (a DataFrame, a column per class present)."""
        model = self._fitted()
        x, y, _ = _features_and_labels(data, label, model.feature_names, "evaluate")
        if y is None:
            raise ValueError("label: evaluating an AME needs the labels (for accuracy/RMSE, the MGE and ω)")
        raw = model._native.ame_evaluate(x, y, self.threads)
        import pandas as pd

        groups = self.groups
        raw["importance"] = pd.Series(raw["importance"], index=groups, name="importance")
        raw["importance_by_class"] = pd.DataFrame(
            {c: v for c, v in raw["importance_by_class"]}, index=groups
        )
        return raw

    def __repr__(self) -> str:
        state = "untrained" if self.model is None else f"{len(self.groups)} experts"
        return f"conflux.Ame({self.task}, {state})"


def _features_and_labels(data: Any, label: Any, names: Optional[list], what: str):
    """``data`` as a float64 ``(N, F)`` array (DataFrame columns matched by ``names`` when
    given, else every column but the label), the labels (``None`` without ``label``) and
    the feature names."""
    y = None
    if _is_pandas(data):
        frame = data
        if isinstance(label, str):
            if label not in frame.columns:
                raise ValueError(f"label: no column '{label}' in the DataFrame")
            y = frame[label].to_numpy(dtype=np.float64)
            frame = frame.drop(columns=[label])
        elif label is not None:
            y = np.asarray(label, dtype=np.float64).reshape(-1)
        if names is not None:
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise ValueError(f"{what}: the DataFrame lacks the model's features {missing}")
            frame = frame[names]
        names = [str(c) for c in frame.columns]
        x = frame.to_numpy(dtype=np.float64)
    else:
        if isinstance(label, str):
            raise TypeError("label: a column name needs a DataFrame; pass the labels as an array")
        x = np.asarray(data, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        elif x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        if label is not None:
            y = np.asarray(label, dtype=np.float64).reshape(-1)
        if names is None:
            names = [f"f{i}" for i in range(x.shape[1])]
    x = np.ascontiguousarray(x)
    if y is not None and len(y) != x.shape[0]:
        raise ValueError(f"label: {x.shape[0]} rows need {x.shape[0]} labels, got {len(y)}")
    # Non-finite values are refused natively (the trainers and the AME's row check name the
    # row and column), as for the CLI.
    return x, (None if y is None else [float(v) for v in y]), names


def _as_rows(model: Model, x: Any, what: str = "inputs"):
    """``x`` as a C-contiguous ``(N, F)`` float array, and a function turning per-row
    results (``(N, F)`` arrays) back into the caller's type and shape. Image batches must
    have the model's input shape after the batch axis (a baseline or mask may also be one
    unbatched image)."""
    if type(x).__name__ == "Series" and _is_pandas(x):
        x = x.to_frame().T  # one row, columns named by the Series' index
    torch_like = _is_torch(x)
    columns = None
    torch_dtype = torch_device = None
    if torch_like:
        import torch

        torch_dtype, torch_device = x.dtype, x.device
        t = x.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16):
            t = t.float()  # computed in f32, returned in the input's dtype
        arr = t.numpy()
    elif _is_pandas(x):
        names = model.feature_names
        if names is not None:
            missing = [n for n in names if n not in x.columns]
            if missing:
                raise ValueError(f"{what}: the DataFrame lacks the model's features {missing}")
            x = x[names]
        columns = list(x.columns)
        arr = x.to_numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    shape = arr.shape
    expected = tuple(model.input_shape)
    if arr.ndim > 2 and what != "inputs" and shape == expected:
        shape = (1,) + shape  # one unbatched image
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    elif arr.ndim > 2:
        flat = len(expected) == 1 and int(np.prod(shape[1:])) == expected[0]
        if tuple(shape[1:]) != expected and not flat:
            raise ValueError(
                f"{what}: expected rows of shape {list(expected)} after the batch axis, got "
                f"{list(shape[1:])} (channels first, as PyTorch: (N, C, H, W))"
            )
        arr = arr.reshape(shape[0], -1)
    arr = np.ascontiguousarray(arr)

    def back(values: np.ndarray, image: Optional[bool] = True) -> Any:
        if image and len(shape) > 2:
            values = values.reshape((values.shape[0],) + tuple(shape[1:]))
        if torch_like:
            import torch

            out = torch.from_numpy(np.ascontiguousarray(values))
            if torch_dtype is not None and torch_dtype.is_floating_point and image is not None:
                out = out.to(dtype=torch_dtype)
            return out.to(device=torch_device)
        return values

    back.columns = columns  # type: ignore[attr-defined]
    return arr, back


def _references_and_mask(model: Model, baselines: Any, feature_mask: Any):
    """The baselines as ``(M, F)`` float rows, in the precision they were given (a number:
    that value for every feature, as Captum; ``None`` stays ``None``; conflux scales them in
    float64 and casts once, as the CLI treats a reference file) and the feature mask as one
    group id per feature (``None`` stays ``None``)."""
    r = None
    if baselines is not None:
        if np.ndim(baselines) == 0 and not _is_pandas(baselines):
            baselines = np.full((1, model.n_features), float(baselines))
        r, _ = _as_rows(model, baselines, what="baselines")
    mask = None
    if feature_mask is not None:
        m, _ = _as_rows(model, feature_mask, what="feature_mask")
        if m.shape[0] != 1:
            raise ValueError(f"feature_mask: expected one mask for every row, got {m.shape[0]} rows")
        mask = [int(v) for v in m[0]]
    return r, mask


def _threads(threads: Any) -> Optional[int]:
    """``None`` (every core) or a positive worker count."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
        raise TypeError(f"threads: expected None or a positive integer, got {threads!r}")
    if threads < 1:
        raise ValueError(f"threads: expected at least 1 (None: every core), got {threads}")
    return int(threads)


def _seed(seed: Any) -> int:
    """A seed: an integer in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected a non-negative integer, got {seed!r}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed: expected an integer in [0, 2**64), got {seed}")
    return int(seed)


class Attribution:
    """The result of ``attribute``: ``scores`` in the input's shape (and type: torch in,
    torch out), and for CAFE ``feat_pos``, ``feat_neg``, ``bias_pos``, ``bias_neg``; plus
    ``rows``, ``targets``, ``output``, ``baseline_output``, ``baseline_kind`` and
    ``completeness_gap`` (the JSON output's names), and ``reference``: ``"zeros"``, the
    shared baseline row (raw units), ``"per-row"``, or ``"average of N rows"`` for a
    background (``baseline_output`` and ``completeness_gap`` are then means over it)."""

    def __init__(self, raw: dict, back: Any, method: str, features: Optional[list]) -> None:
        self.method = method
        self.rows = raw["rows"]
        self.targets = raw["targets"]
        self.output = raw["output"]
        self.baseline_output = raw.get("baseline_output")
        self.baseline_kind = raw.get("baseline_kind")
        self.completeness_gap = raw.get("completeness_gap")
        self.scores = back(raw["scores"])
        self.feat_pos = back(raw["feat_pos"]) if "feat_pos" in raw else None
        self.feat_neg = back(raw["feat_neg"]) if "feat_neg" in raw else None
        self.bias_pos = raw.get("bias_pos")
        self.bias_neg = raw.get("bias_neg")
        self._flat = raw
        self._features = features
        self.reference: Any = None

    def __repr__(self) -> str:
        return f"conflux.Attribution({self.method}, {len(self.rows)} entries)"

    def to_pandas(self) -> Any:
        """One row per entry: row, target, output, baseline_output, completeness_gap and a
        column per feature (``score:NAME``; CAFE adds ``pos:NAME`` and ``neg:NAME``)."""
        import pandas as pd

        d = self._flat["scores"].shape[1]
        names = self._features or [f"f{i}" for i in range(d)]
        data = {"row": self.rows, "target": self.targets, "output": self.output}
        for key in ("baseline_output", "completeness_gap", "bias_pos", "bias_neg"):
            if self._flat.get(key) is not None:
                data[key] = self._flat[key]
        frame = pd.DataFrame(data)
        parts = [frame, pd.DataFrame(self._flat["scores"], columns=[f"score:{n}" for n in names])]
        if "feat_pos" in self._flat:
            parts.append(pd.DataFrame(self._flat["feat_pos"], columns=[f"pos:{n}" for n in names]))
            parts.append(pd.DataFrame(self._flat["feat_neg"], columns=[f"neg:{n}" for n in names]))
        return pd.concat(parts, axis=1)

    def to_shap(self, data: Any = None) -> Any:
        """A ``shap.Explanation`` (needs shap), so SHAP's plots draw conflux's scores."""
        import shap

        base = self.baseline_output if self.baseline_output is not None else np.zeros(len(self.rows))
        return shap.Explanation(
            values=self._flat["scores"],
            base_values=np.asarray(base),
            data=None if data is None else np.asarray(data).reshape(len(self.rows), -1),
            feature_names=self._features,
        )


class _Method:
    """One attribution method; ``attribute`` follows Captum's signature."""

    _name = ""
    _distribution = False

    def __init__(self, model: Model, threads: Optional[int] = None) -> None:
        if not isinstance(model, Model):
            raise TypeError("model: expected a conflux.Model (conflux.load or conflux.from_torch)")
        self.model = model
        self.threads = _threads(threads)

    def _params(self) -> dict:
        """The method's CLI parameters from ``attribute``'s keyword arguments (an unknown
        keyword is a ``TypeError``, as in any Python call)."""
        return {}

    def _spec(self, **kwargs: Any) -> str:
        params = {k: v for k, v in self._params(**kwargs).items() if v is not None}
        if not params:
            return self._name
        def fmt(v: Any) -> str:
            if isinstance(v, (bool, np.bool_)):
                return "true" if v else "false"
            if isinstance(v, (list, tuple, np.ndarray)):
                return ",".join(repr(float(e)) for e in np.asarray(v, dtype=np.float64).reshape(-1))
            if isinstance(v, (float, np.floating)):
                return repr(float(v))
            if isinstance(v, (int, np.integer)):
                return str(int(v))
            return str(v)
        return self._name + ":" + ":".join(f"{k}={fmt(v)}" for k, v in params.items())

    def attribute(
        self,
        inputs: Any,
        baselines: Any = None,
        target: Any = None,
        feature_mask: Any = None,
        seed: int = 0,
        average: Optional[bool] = None,
        **kwargs: Any,
    ) -> Attribution:
        """Explains ``inputs`` (NumPy ``(N, F)`` or image tensors, a pandas DataFrame with
        columns matched by name, or a torch tensor) against ``baselines`` (``None``: zeros;
        one row, one per input row, or a background of many rows whose results are averaged
        — pass ``average=True`` to average over exactly N rows too) at ``target`` (``None``:
        the predicted output; an index; or ``"all"``)."""
        x, back = _as_rows(self.model, inputs)
        r, mask = _references_and_mask(self.model, baselines, feature_mask)
        if average is None:
            # Several baseline rows are a background unless they pair with the inputs; for
            # the methods whose baselines are a distribution in Captum (GradientShap,
            # DeepLiftShap), always.
            many = r is not None and r.shape[0] > 1
            average = many and (self._distribution or r.shape[0] != x.shape[0])
        if _is_torch(target):
            target = int(target)
        raw = _conflux.attribute(
            self.model._native,
            self._spec(**kwargs),
            x,
            r,
            target,
            mask,
            _seed(seed),
            self.threads,
            bool(average),
        )
        result = Attribution(raw, back, self._name, back.columns or self.model.feature_names)
        # What the scores are relative to, as the JSON output's "reference" says it.
        if r is None:
            result.reference = "zeros"
        elif average:
            result.reference = f"average of {r.shape[0]} rows"
        elif r.shape[0] > 1:
            result.reference = "per-row"
        else:
            result.reference = r[0]
        return result


class Cafe(_Method):
    """CAFE: positive and negative scores per feature, bias scores, conflict sensitivity
    ``c`` (one value, or one per activation layer)."""

    _name = "cafe"

    def __init__(self, model: Model, c: Any = 0.5, threads: Optional[int] = None) -> None:
        super().__init__(model, threads)
        self.c = c

    def _params(self) -> dict:
        return {"c": self.c}


class Saliency(_Method):
    """The gradient; ``abs=True`` by default, as Captum."""

    _name = "saliency"

    def _params(self, abs: bool = True) -> dict:  # noqa: A002
        return {"abs": abs}


class InputXGradient(_Method):
    """Input times gradient (the reference is not used)."""

    _name = "gradient-x-input"


class DeepLift(_Method):
    """DeepLIFT, Rescale rule; exact on GELU, LayerNorm and max pooling (Captum is not)."""

    _name = "deeplift"

    def __init__(self, model: Model, eps: float = 1e-10, threads: Optional[int] = None) -> None:
        super().__init__(model, threads)
        self.eps = eps

    def _params(self) -> dict:
        return {"eps": float(self.eps)}


class DeepLiftShap(DeepLift):
    """DeepLIFT averaged over a distribution of baselines (Captum's ``DeepLiftShap``): every
    baseline row is a reference, the scores are their mean; in bounded memory."""

    _distribution = True


class DeepLiftRevealCancel(_Method):
    """DeepLIFT, RevealCancel rule (the authors' semantics)."""

    _name = "deeplift-reveal-cancel"


class IntegratedGradients(_Method):
    """Integrated Gradients: ``n_steps=50``, ``method="gausslegendre"`` as Captum (also
    ``riemann_left``, ``riemann_right``, ``riemann_middle``, ``riemann_trapezoid``)."""

    _name = "integrated-gradients"

    def _params(self, n_steps: int = 50, method: str = "gausslegendre") -> dict:
        return {"steps": int(n_steps), "rule": method.replace("_", "-")}


class SmoothGrad(_Method):
    """SmoothGrad (Captum's ``NoiseTunnel(Saliency)``): ``nt_samples=5``, ``stdevs=1.0``;
    ``multiply_by_inputs`` for SmoothGrad × input."""

    _name = "smoothgrad"

    def _params(self, nt_samples: int = 5, stdevs: float = 1.0, multiply_by_inputs: bool = False) -> dict:
        return {"n": int(nt_samples), "sd": float(stdevs), "multiply": multiply_by_inputs}


class GradientShap(_Method):
    """Gradient SHAP: ``n_samples=5``, ``stdevs=0.0``; baselines are the reference set."""

    _name = "gradient-shap"
    _distribution = True

    def _params(self, n_samples: int = 5, stdevs: float = 0.0) -> dict:
        return {"n": int(n_samples), "sd": float(stdevs)}


class KernelShap(_Method):
    """Kernel SHAP: ``n_samples=25`` (Captum's default; raise it for accuracy), or
    ``exact=True`` to enumerate every coalition (at most 20 groups)."""

    _name = "kernel-shap"

    def _params(self, n_samples: int = 25, exact: bool = False) -> dict:
        return {"n": int(n_samples), "exact": exact}


class ShapleyValueSampling(_Method):
    """Shapley value sampling: ``n_samples=25`` permutations."""

    _name = "shapley-sampling"

    def _params(self, n_samples: int = 25) -> dict:
        return {"n": int(n_samples)}


class Lime(_Method):
    """LIME as Captum's defaults: ``n_samples=50``, exponential kernel on cosine distance, a
    Lasso surrogate with ``alpha=0.01`` (``surrogate="wls"``: weighted least squares, the
    CLI's default, exact on linear models)."""

    _name = "lime"

    def _params(self, n_samples: int = 50, surrogate: str = "lasso", alpha: float = 0.01) -> dict:
        params = {"n": int(n_samples), "surrogate": surrogate}
        if surrogate == "lasso":
            params["alpha"] = float(alpha)
        return params


class FeatureAblation(_Method):
    """Feature ablation: F(x) − F(x with the feature, or group, set to the baseline)."""

    _name = "ablation"


class LRP(_Method):
    """LRP-ε (``epsilon=1e-9``); runs on CNNs and residual networks (Captum's raises)."""

    _name = "lrp"

    def __init__(self, model: Model, epsilon: float = 1e-9, threads: Optional[int] = None) -> None:
        super().__init__(model, threads)
        self.epsilon = epsilon

    def _params(self) -> dict:
        return {"epsilon": float(self.epsilon)}

from . import metrics  # noqa: E402  (uses the helpers above)
