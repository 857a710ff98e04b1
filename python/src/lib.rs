//! `conflux._conflux`: the native part of the Python package. It loads models and runs any
//! conflux method on NumPy arrays, releasing the GIL while it computes. The Captum-shaped
//! classes, pandas and torch conversions live in the Python layer (`conflux/__init__.py`).
//!
//! Nothing here panics on user input: every error is a `ValueError` (bad values, shapes,
//! files) or a `TypeError` (wrong kinds of arguments) carrying the message the CLI prints.

use std::path::PathBuf;

use conflux_core::io::AnyModel;
use conflux_core::{Attribution, FeatureGroups, Float, Limits, Plan, Predict, Target};
use conflux_methods::spec::{BATCH_ROWS, Method, MethodSpec};
use ndarray::{Array2, ArrayView2};
use numpy::{Element, IntoPyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A loaded model: a network (JSON, ONNX, safetensors + architecture) or an AME.
#[pyclass(module = "conflux._conflux", frozen)]
struct Model {
    model: AnyModel,
}

impl Model {
    /// The model's input scaling (raw units → network input), if any.
    fn preprocess(&self) -> Option<&conflux_core::Preprocess> {
        match &self.model {
            AnyModel::Network(n) => n.preprocess(),
            AnyModel::Ame(a) => a.preprocess.as_ref(),
        }
    }

    /// Raw rows in precision `F` scaled as the CLI scales CSV rows (in `f64`, then cast).
    fn scaled<F: Float>(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut x = x.as_standard_layout().into_owned();
        if let Some(p) = self.preprocess() {
            let mut v: Vec<f64> = x.iter().map(|v| v.f64()).collect();
            p.apply(&mut v);
            for (o, w) in x.iter_mut().zip(v) {
                *o = F::of(w);
            }
        }
        x
    }
}

#[pymethods]
impl Model {
    /// Number of input features (elements of one input row).
    #[getter]
    fn n_features(&self) -> usize {
        match &self.model {
            AnyModel::Network(n) => n.input_dim(),
            AnyModel::Ame(a) => a.input_dim(),
        }
    }

    /// Number of outputs.
    #[getter]
    fn n_outputs(&self) -> usize {
        match &self.model {
            AnyModel::Network(n) => n.output_dim(),
            AnyModel::Ame(a) => a.task.outputs(),
        }
    }

    /// The per-row input shape (`[F]`, or `[C, H, W]` for images).
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        match &self.model {
            AnyModel::Network(n) => n.input_shape(),
            AnyModel::Ame(a) => vec![a.input_dim()],
        }
    }

    /// Feature names stored in the model file, if any.
    #[getter]
    fn feature_names(&self) -> Option<Vec<String>> {
        match &self.model {
            AnyModel::Network(n) => n.stored_feature_names().map(<[String]>::to_vec),
            AnyModel::Ame(_) => None,
        }
    }

    /// `"network"` or `"ame"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.model {
            AnyModel::Network(_) => "network",
            AnyModel::Ame(_) => "ame",
        }
    }

    /// The layer table of `conflux inspect`: per layer or graph node `(type, shape,
    /// parameters)`; AMEs give their groups instead.
    fn layers(&self) -> Vec<(String, String, usize)> {
        match &self.model {
            AnyModel::Network(n) => conflux_core::net::summary::layer_rows(n),
            AnyModel::Ame(a) => a
                .groups
                .names()
                .iter()
                .enumerate()
                .map(|(g, name)| {
                    (
                        "expert".to_string(),
                        name.clone(),
                        a.groups.members(g).len(),
                    )
                })
                .collect(),
        }
    }

    /// Saves a network as conflux's JSON model (what `conflux explain --model` reads).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        match &self.model {
            AnyModel::Network(n) => conflux_core::io::json::save(n, &path).map_err(value_error),
            AnyModel::Ame(_) => Err(PyTypeError::new_err(
                "save: AME models are saved by their trainer",
            )),
        }
    }

    /// Outputs (logits) for `x` (`[rows, n_features]`, float32 or float64: the result has
    /// the same dtype).
    fn predict<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(a) = x.extract::<PyReadonlyArray2<f64>>() {
            return self.predict_typed(py, &a);
        }
        if let Ok(a) = x.extract::<PyReadonlyArray2<f32>>() {
            return self.predict_typed(py, &a);
        }
        Err(PyTypeError::new_err(
            "x: expected a 2-D float32 or float64 array",
        ))
    }
}

impl Model {
    fn predict_typed<'py, F: Float + Element>(
        &self,
        py: Python<'py>,
        x: &PyReadonlyArray2<'py, F>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let d = self.n_features();
        if x.shape()[1] != d {
            return Err(value_error(format!(
                "x: expected {d} features per row, got {}",
                x.shape()[1]
            )));
        }
        let x = self.scaled(x.as_array());
        let rows = x.nrows();
        let n = self.n_outputs();
        let out: Vec<F> = match &self.model {
            AnyModel::Network(net) => {
                let plan = Plan::<F>::new(net, false).map_err(value_error)?;
                let xs = x.as_slice().expect("standard layout");
                py.detach(|| plan.forward_par(xs, rows, 256))
            }
            AnyModel::Ame(ame) => {
                let xs = x.as_slice().expect("standard layout");
                py.detach(|| Predict::<F>::predict(&**ame, xs, rows))
            }
        };
        let arr = Array2::from_shape_vec((rows, n), out).map_err(value_error)?;
        Ok(arr.into_pyarray(py).into_any())
    }
}

/// Loads a model from a path (JSON, ONNX, safetensors with `arch`, AME JSON) or from the
/// bytes of an ONNX file. `input_shape` gives flat or symbolic image inputs their
/// `[C, H, W]`.
#[pyfunction]
#[pyo3(signature = (source, input_shape=None, arch=None))]
fn load(
    source: &Bound<'_, PyAny>,
    input_shape: Option<Vec<usize>>,
    arch: Option<String>,
) -> PyResult<Model> {
    let limits = Limits::current();
    let shape = input_shape.as_deref();
    if let Ok(bytes) = source.cast::<PyBytes>() {
        let net = conflux_core::io::onnx::from_bytes_shaped(
            bytes.as_bytes(),
            std::path::Path::new("<bytes>"),
            &limits,
            shape,
        )
        .map_err(value_error)?
        .0;
        return Ok(Model {
            model: AnyModel::Network(net),
        });
    }
    let path: PathBuf = source.extract().map_err(|_| {
        PyTypeError::new_err(
            "source: expected a path (str or os.PathLike) or the bytes of an ONNX file",
        )
    })?;
    let loaded = conflux_core::io::load_any_shaped(&path, arch.as_deref(), shape, &limits)
        .map_err(value_error)?;
    Ok(Model {
        model: loaded.model,
    })
}

/// The names of every method (`attribute`'s `method` takes them, with `:key=value`
/// parameters as on the command line).
#[pyfunction]
fn methods() -> Vec<&'static str> {
    conflux_methods::spec::KNOWN_METHODS.to_vec()
}

/// How `attribute` pairs input rows with reference rows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pairing {
    /// One reference row shared, or one per input row.
    Auto,
    /// Every input row against every reference row, averaged.
    Average,
}

/// Runs `method` (a CLI method spec such as `"cafe:c=0.5"`) on `x` against `baselines`.
/// Returns a dict of NumPy arrays: `rows`, `targets`, `output`, `scores` and, where the
/// method has them, `baseline_output`, `completeness_gap`, `feat_pos`, `feat_neg`,
/// `bias_pos`, `bias_neg`; plus `baseline_kind`.
#[pyfunction]
#[pyo3(signature = (model, method, x, baselines=None, target=None, groups=None, seed=0, threads=None, average=false))]
#[allow(clippy::too_many_arguments)]
fn attribute<'py>(
    py: Python<'py>,
    model: &Model,
    method: &str,
    x: &Bound<'py, PyAny>,
    baselines: Option<&Bound<'py, PyAny>>,
    target: Option<&Bound<'py, PyAny>>,
    groups: Option<Vec<i64>>,
    seed: u64,
    threads: Option<usize>,
    average: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let target = parse_target(target)?;
    let pairing = if average {
        Pairing::Average
    } else {
        Pairing::Auto
    };
    let d = model.n_features();
    let groups = match groups {
        None => None,
        Some(ids) => Some(feature_mask(&ids, d)?),
    };
    let spec: MethodSpec = method.parse().map_err(value_error)?;
    let m = spec.build(groups.as_ref(), seed).map_err(value_error)?;
    if let Ok(a) = x.extract::<PyReadonlyArray2<f64>>() {
        let r = baselines_as::<f64>(baselines)?;
        return run(py, model, &m, &a, r, target, threads, pairing);
    }
    if let Ok(a) = x.extract::<PyReadonlyArray2<f32>>() {
        let r = baselines_as::<f32>(baselines)?;
        return run(py, model, &m, &a, r, target, threads, pairing);
    }
    Err(PyTypeError::new_err(
        "inputs: expected a 2-D float32 or float64 array",
    ))
}

/// A feature mask (one group id per feature, Captum's convention) as groups.
fn feature_mask(ids: &[i64], d: usize) -> PyResult<FeatureGroups> {
    if ids.len() != d {
        return Err(value_error(format!(
            "feature_mask: expected one group id per feature ({d}), got {}",
            ids.len()
        )));
    }
    let mut order: Vec<i64> = ids.to_vec();
    order.sort_unstable();
    order.dedup();
    let groups = order
        .iter()
        .map(|&g| {
            let members = (0..d).filter(|&f| ids[f] == g).collect();
            (format!("group_{g}"), members)
        })
        .collect();
    FeatureGroups::new(d, groups).map_err(value_error)
}

/// The baselines in precision `F`, raw units (`None` when absent: zeros in the network's
/// input space).
fn baselines_as<F: Float + Element>(
    baselines: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Array2<F>>> {
    let Some(b) = baselines else {
        return Ok(None);
    };
    if let Ok(a) = b.extract::<PyReadonlyArray2<F>>() {
        return Ok(Some(a.as_array().as_standard_layout().into_owned()));
    }
    if let Ok(a) = b.extract::<PyReadonlyArray2<f64>>() {
        return Ok(Some(a.as_array().mapv(F::of)));
    }
    if let Ok(a) = b.extract::<PyReadonlyArray2<f32>>() {
        return Ok(Some(a.as_array().mapv(|v| F::of(f64::from(v)))));
    }
    Err(PyTypeError::new_err(
        "baselines: expected a 2-D float array (one row, one per input row, or a background)",
    ))
}

#[allow(clippy::too_many_arguments)]
fn run<'py, F: Float + Element>(
    py: Python<'py>,
    model: &Model,
    method: &Method,
    x: &PyReadonlyArray2<'py, F>,
    r: Option<Array2<F>>,
    target: Target,
    threads: Option<usize>,
    pairing: Pairing,
) -> PyResult<Bound<'py, PyDict>> {
    let d = model.n_features();
    if x.ndim() != 2 || x.shape()[1] != d {
        return Err(value_error(format!(
            "inputs: expected {d} features per row, got shape {:?}",
            x.shape()
        )));
    }
    // As the CLI: raw rows are scaled by the model's preprocessing; the default zeros are
    // already in the network's input space.
    let r = match r {
        Some(r) if r.ncols() != d => {
            return Err(value_error(format!(
                "baselines: expected {d} features per row, got {}",
                r.ncols()
            )));
        }
        Some(r) => model.scaled(r.view()),
        None => Array2::zeros((1, d)),
    };
    if pairing == Pairing::Auto && r.nrows() != 1 && r.nrows() != x.shape()[0] {
        return Err(value_error(format!(
            "baselines: expected 1 row or one per input row ({}), got {}; pass average=True to average over a background",
            x.shape()[0],
            r.nrows()
        )));
    }
    if pairing == Pairing::Average && !method.uses_reference() {
        return Err(value_error(format!(
            "average: {} does not use a reference, so there is nothing to average",
            method.id().as_str()
        )));
    }
    let x = model.scaled(x.as_array());
    // Batches as the CLI's: bounded by the data-cell limit, and the same batches make the
    // same per-row sampling draws.
    let batch = method
        .rows_within(
            d,
            target.per_row(model.n_outputs()),
            Limits::current().data_cells,
            BATCH_ROWS,
        )
        .map_err(value_error)?;
    let pool = thread_pool(threads)?;
    let (a, gates) = match &model.model {
        AnyModel::Network(net) => {
            let plan = Plan::<F>::new(net, false).map_err(value_error)?;
            method.validate(&plan).map_err(value_error)?;
            let gates = plan.has_gates();
            let call =
                |xv: ArrayView2<F>, rv: ArrayView2<F>| method.attribute(&plan, xv, rv, target);
            let a = py.detach(|| {
                pool.install(|| batches(method, x.view(), r.view(), pairing, batch, call))
            });
            (a.map_err(value_error)?, gates)
        }
        AnyModel::Ame(ame) => {
            if !method.is_model_agnostic() {
                return Err(value_error(
                    "an AME is explained by a model-agnostic method: kernel-shap, shapley-sampling, lime or ablation",
                ));
            }
            let call = |xv: ArrayView2<F>, rv: ArrayView2<F>| {
                method.attribute_black_box(&**ame, xv, rv, target)
            };
            let a = py.detach(|| {
                pool.install(|| batches(method, x.view(), r.view(), pairing, batch, call))
            });
            (a.map_err(value_error)?, false)
        }
    };
    result(py, &a, method.baseline_kind(gates))
}

/// `call` over `x` in batches of `batch` rows, as the CLI batches a file: a shared
/// reference, per-row references sliced alike, or a background averaged over per batch.
fn batches<F: Float>(
    method: &Method,
    x: ArrayView2<F>,
    r: ArrayView2<F>,
    pairing: Pairing,
    batch: usize,
    call: impl Fn(ArrayView2<F>, ArrayView2<F>) -> conflux_core::Result<Attribution<F>>,
) -> conflux_core::Result<Attribution<F>> {
    let rows = x.nrows();
    let one = |start: usize, end: usize| {
        let xb = x.slice(ndarray::s![start..end, ..]);
        match pairing {
            Pairing::Average => {
                conflux_methods::background::average(xb, r, method.background_entries(batch), &call)
            }
            Pairing::Auto if r.nrows() == 1 => call(xb, r),
            Pairing::Auto => call(xb, r.slice(ndarray::s![start..end, ..])),
        }
    };
    let mut acc = one(0, batch.min(rows))?;
    let mut start = batch;
    while start < rows {
        let end = (start + batch).min(rows);
        acc.append(one(start, end)?, start);
        start = end;
    }
    Ok(acc)
}

/// The result as a dict of NumPy arrays.
fn result<'py, F: Float + Element>(
    py: Python<'py>,
    a: &Attribution<F>,
    baseline_kind: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let out = PyDict::new(py);
    out.set_item("rows", a.rows.clone().into_pyarray(py))?;
    out.set_item("targets", a.targets.clone().into_pyarray(py))?;
    out.set_item("output", a.output.clone().into_pyarray(py))?;
    out.set_item("scores", a.scores.clone().into_pyarray(py))?;
    out.set_item("baseline_kind", baseline_kind)?;
    if let Some(b) = &a.baseline_output {
        out.set_item("baseline_output", b.clone().into_pyarray(py))?;
    }
    if let Some(g) = a.completeness_gap() {
        out.set_item("completeness_gap", g.into_pyarray(py))?;
    }
    if let Some(s) = &a.split {
        out.set_item("feat_pos", s.feat_pos.clone().into_pyarray(py))?;
        out.set_item("feat_neg", s.feat_neg.clone().into_pyarray(py))?;
        out.set_item("bias_pos", s.bias_pos.clone().into_pyarray(py))?;
        out.set_item("bias_neg", s.bias_neg.clone().into_pyarray(py))?;
    }
    Ok(out)
}

/// Fidelity metrics of `method`'s attributions on `x` (CLI `evaluate`'s conventions): a dict
/// from each name in `names` (`infidelity`, `sensitivity-max`, `completeness`) to its
/// per-entry values, plus `attribution` (the scored result). f64, as `evaluate`.
#[pyfunction]
#[pyo3(signature = (model, method, x, names, baselines=None, target=None, groups=None, seed=0, threads=None, perturb_sd=0.5, categorical_prob=0.1, categorical=Vec::new(), samples=10, radius=0.02))]
#[allow(clippy::too_many_arguments)]
fn metrics<'py>(
    py: Python<'py>,
    model: &Model,
    method: &str,
    x: PyReadonlyArray2<'py, f64>,
    names: Vec<String>,
    baselines: Option<PyReadonlyArray2<'py, f64>>,
    target: Option<&Bound<'py, PyAny>>,
    groups: Option<Vec<i64>>,
    seed: u64,
    threads: Option<usize>,
    perturb_sd: f64,
    categorical_prob: f64,
    categorical: Vec<usize>,
    samples: usize,
    radius: f64,
) -> PyResult<Bound<'py, PyDict>> {
    use conflux_methods::metrics as m;
    let AnyModel::Network(net) = &model.model else {
        return Err(PyTypeError::new_err("metrics need a layered network"));
    };
    let d = model.n_features();
    if x.shape()[1] != d {
        return Err(value_error(format!(
            "inputs: expected {d} features per row, got {}",
            x.shape()[1]
        )));
    }
    let target = parse_target(target)?;
    let groups = groups.map(|ids| feature_mask(&ids, d)).transpose()?;
    let method = method
        .parse::<MethodSpec>()
        .and_then(|s| s.build(groups.as_ref(), seed))
        .map_err(value_error)?;
    if categorical.iter().any(|&f| f >= d) {
        return Err(value_error(format!(
            "categorical: feature indices must be below {d}"
        )));
    }
    let perturbation = m::Perturbation {
        sd: perturb_sd,
        categorical_prob,
        categorical: categorical.iter().map(|&f| vec![f]).collect(),
        samples,
        seed,
    };
    perturbation.validate().map_err(value_error)?;
    if radius.is_nan() || radius <= 0.0 {
        return Err(value_error("radius: expected > 0"));
    }
    let x = model.scaled(x.as_array());
    let r = match baselines {
        Some(b) if b.shape()[1] != d || b.shape()[0] != 1 => {
            return Err(value_error(format!(
                "baselines: metrics take one shared row of {d} features"
            )));
        }
        Some(b) => model.scaled(b.as_array()),
        None => Array2::zeros((1, d)),
    };
    let plan = Plan::<f64>::new(net, false).map_err(value_error)?;
    method.validate(&plan).map_err(value_error)?;
    let pool = thread_pool(threads)?;
    let xs = x.as_slice().expect("standard layout");
    let rs = r.as_slice().expect("standard layout");
    let (a, values) = py
        .detach(|| {
            pool.install(|| {
                let a = method.attribute(&plan, x.view(), r.view(), target)?;
                let mut values = Vec::new();
                for name in &names {
                    let v = match name.as_str() {
                        "infidelity" => Some(m::infidelity(&plan, &a, xs, rs, &perturbation)),
                        "sensitivity-max" | "sensitivity_max" => Some(m::sensitivity_max(
                            &method,
                            &plan,
                            &a,
                            xs,
                            r.view(),
                            radius,
                            samples,
                            seed,
                        )?),
                        "completeness" => m::completeness(&a),
                        other => {
                            return Err(conflux_core::Error::param(
                                "metrics",
                                "metric",
                                other,
                                "expected infidelity, sensitivity-max or completeness",
                            ));
                        }
                    };
                    values.push((name.clone(), v));
                }
                Ok((a, values))
            })
        })
        .map_err(value_error)?;
    let out = PyDict::new(py);
    for (name, v) in values {
        out.set_item(name, v.map(|v| v.into_pyarray(py)))?;
    }
    out.set_item(
        "attribution",
        result(py, &a, method.baseline_kind(plan.has_gates()))?,
    )?;
    Ok(out)
}

/// Trains an MLP on `x` (`[rows, d]`, raw units) and labels `y` (the CLI's `train mlp`):
/// `task` is `regression`, `binary` or `multiclass` (classes 0..max label). Returns the
/// model and a report dict (`epochs`: `(train_loss, val_loss)` per epoch, `best_epoch`,
/// `stopped_early`, and the validation metrics).
#[pyfunction]
#[pyo3(signature = (x, y, names, task, hidden=vec![64, 64], activation="relu", epochs=20, batch_size=64, lr=1e-3, weight_decay=1e-2, patience=5, val_split=0.2, standardize=true, bias=true, seed=0))]
#[allow(clippy::too_many_arguments)]
fn train_mlp<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: Vec<f64>,
    names: Vec<String>,
    task: &str,
    hidden: Vec<usize>,
    activation: &str,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    weight_decay: f64,
    patience: usize,
    val_split: f64,
    standardize: bool,
    bias: bool,
    seed: u64,
) -> PyResult<(Model, Bound<'py, PyDict>)> {
    use conflux_train::{Task, TrainConfig};
    let (rows, d) = (x.shape()[0], x.shape()[1]);
    if y.len() != rows || names.len() != d {
        return Err(value_error(format!(
            "train_mlp: {rows} rows × {d} features need {rows} labels and {d} names, got {} and {}",
            y.len(),
            names.len()
        )));
    }
    let task = match task {
        "regression" => Task::Regression,
        "binary" => Task::Binary,
        "multiclass" => {
            let top = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            // The trainer bounds the class count by the parameter limit.
            if !(top.is_finite() && top >= 0.0) {
                return Err(value_error(
                    "train_mlp: multiclass labels must be class indices 0, 1, …",
                ));
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let classes = (top as usize).saturating_add(1);
            Task::Multiclass { classes }
        }
        other => {
            return Err(value_error(format!(
                "task: expected regression, binary or multiclass, got '{other}'"
            )));
        }
    };
    let activation = conflux_core::Activation::with_defaults(activation).ok_or_else(|| {
        value_error(format!(
            "activation: unknown activation '{activation}'; expected {}",
            conflux_core::Activation::TRAINABLE
        ))
    })?;
    let cfg = TrainConfig {
        task,
        hidden,
        activation,
        epochs,
        batch_size,
        lr,
        weight_decay,
        patience,
        val_split,
        ordered_split: false,
        shuffle: true,
        standardize,
        bias,
        seed,
    };
    let x = x.as_array().as_standard_layout().into_owned();
    let xs = x.as_slice().expect("standard layout");
    let (net, report) = py
        .detach(|| conflux_train::train_mlp(xs, &y, d, names, &cfg, |_| {}))
        .map_err(value_error)?;
    let out = PyDict::new(py);
    let losses: Vec<(f64, f64)> = report
        .epochs
        .iter()
        .map(|e| (e.train_loss, e.val_loss))
        .collect();
    out.set_item("epochs", losses)?;
    out.set_item("best_epoch", report.best_epoch)?;
    out.set_item("stopped_early", report.stopped_early)?;
    for (k, v) in &report.val_metrics {
        out.set_item(*k, *v)?;
    }
    Ok((
        Model {
            model: AnyModel::Network(net),
        },
        out,
    ))
}

/// A pool of `threads` workers (`None`: one per core).
fn thread_pool(threads: Option<usize>) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(value_error)
}

/// `None` (the predicted output), an output index, or `"all"`.
fn parse_target(target: Option<&Bound<'_, PyAny>>) -> PyResult<Target> {
    let Some(t) = target else {
        return Ok(Target::Predicted);
    };
    if let Ok(i) = t.extract::<usize>() {
        Ok(Target::Index(i))
    } else if t.extract::<String>().is_ok_and(|s| s == "all") {
        Ok(Target::All)
    } else {
        Err(PyTypeError::new_err(
            "target: expected None (the predicted output), an output index, or \"all\"",
        ))
    }
}

/// The native module.
#[pymodule]
fn _conflux(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(attribute, m)?)?;
    m.add_function(wrap_pyfunction!(methods, m)?)?;
    m.add_function(wrap_pyfunction!(metrics, m)?)?;
    m.add_function(wrap_pyfunction!(train_mlp, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
