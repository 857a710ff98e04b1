//! `conflux._conflux`: the native part of the Python package. It loads models and runs any
//! conflux method on NumPy arrays, releasing the GIL while it computes. The Captum-shaped
//! classes, pandas and torch conversions live in the Python layer (`conflux/__init__.py`).
//!
//! Nothing here panics on user input: every error is a `ValueError` (bad values, shapes,
//! files) or a `TypeError` (wrong kinds of arguments) carrying the message the CLI prints.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use conflux_core::io::AnyModel;
use conflux_core::{Ame, Attribution, FeatureGroups, Float, Limits, Plan, Predict, Target};
use conflux_methods::background::{Against, explain_batch};
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
    /// Where the model came from (a path, `<bytes>`, or `<trained in Python>`), as
    /// `inspect` names it.
    source: String,
    /// An AME's training record when it was trained here (written by `save`).
    training: Option<serde_json::Value>,
    /// A network's execution plans, built on first use in each precision.
    plans: Plans,
}

/// A network's plans in f32 and f64.
#[derive(Default)]
struct Plans {
    f32: OnceLock<Plan<f32>>,
    f64: OnceLock<Plan<f64>>,
}

/// The float types a model computes in, each with its plan slot.
trait Precision: Float + Element {
    fn slot(plans: &Plans) -> &OnceLock<Plan<Self>>;
}

impl Precision for f32 {
    fn slot(plans: &Plans) -> &OnceLock<Plan<f32>> {
        &plans.f32
    }
}

impl Precision for f64 {
    fn slot(plans: &Plans) -> &OnceLock<Plan<f64>> {
        &plans.f64
    }
}

impl Model {
    fn new(model: AnyModel, source: String, training: Option<serde_json::Value>) -> Self {
        Model {
            model,
            source,
            training,
            plans: Plans::default(),
        }
    }

    /// The network's plan in precision `F` (built once).
    fn plan<F: Precision>(&self, net: &conflux_core::Network) -> PyResult<&Plan<F>> {
        let slot = F::slot(&self.plans);
        if let Some(p) = slot.get() {
            return Ok(p);
        }
        let plan = Plan::<F>::new(net, false).map_err(value_error)?;
        Ok(slot.get_or_init(|| plan))
    }

    /// The model's input scaling (raw units → network input), if any.
    fn preprocess(&self) -> Option<&conflux_core::Preprocess> {
        match &self.model {
            AnyModel::Network(n) => n.preprocess(),
            AnyModel::Ame(a) => a.preprocess.as_ref(),
        }
    }

    /// Raw rows `x` (`what`: `inputs`, `baselines`, …) checked finite and scaled as the CLI
    /// scales CSV rows: in `f64`, then cast once to `F`.
    fn scaled<T: Float, F: Float>(&self, what: &str, x: ArrayView2<T>) -> PyResult<Array2<F>> {
        let mut v = x.as_standard_layout().mapv(|v| v.f64());
        if let Some(at) = v.iter().position(|v| !v.is_finite()) {
            let (row, col) = (at / v.ncols().max(1), at % v.ncols().max(1));
            let name = self
                .feature_names()
                .and_then(|n| n.get(col).cloned())
                .unwrap_or_else(|| format!("f{col}"));
            return Err(value_error(format!(
                "{what}: row {row}, column '{name}': expected a finite number, got {}",
                v.as_slice().expect("standard layout")[at]
            )));
        }
        if let Some(p) = self.preprocess() {
            p.apply(v.as_slice_mut().expect("standard layout"));
        }
        Ok(v.mapv(F::of))
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
            AnyModel::Ame(a) => Some(a.features.clone()),
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

    /// What `conflux inspect` prints for this model (its text form).
    fn inspect(&self) -> String {
        conflux_core::inspect::text(&self.model, &self.source)
    }

    /// Saves the model as conflux's JSON (what `conflux explain --model` reads); an AME
    /// as `train ame` writes it, with its training record when it was trained here.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        match &self.model {
            AnyModel::Network(n) => conflux_core::io::json::save(n, &path).map_err(value_error),
            AnyModel::Ame(a) => {
                conflux_core::ame::json::save(a, self.training.clone(), &path).map_err(value_error)
            }
        }
    }
    /// An AME's expert (feature group) names; `None` for a network.
    #[getter]
    fn groups(&self) -> Option<Vec<String>> {
        match &self.model {
            AnyModel::Network(_) => None,
            AnyModel::Ame(a) => Some(a.groups.names().to_vec()),
        }
    }

    /// An AME's task (`regression`, `binary` or `multiclass`); `None` for a network.
    #[getter]
    fn ame_task(&self) -> Option<&'static str> {
        match &self.model {
            AnyModel::Network(_) => None,
            AnyModel::Ame(a) => Some(a.task.name()),
        }
    }

    /// An AME's own explanation of `x` (`[rows, d]`, raw units): `prediction` (`[rows, o]`),
    /// `importance` (attention, `[rows, p]`) and, with `labels`, `granger` (ω, `[rows, p]`).
    #[pyo3(signature = (x, labels=None, threads=None))]
    fn ame_explain<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        labels: Option<Vec<f64>>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (ame, x) = self.ame_rows(&x, labels.as_deref())?;
        let pool = pool(threads)?;
        let xs = x.as_slice().expect("standard layout");
        let e = py.detach(|| install(pool.as_deref(), || ame.explain_rows(xs, labels.as_deref())));
        let (rows, p, o) = (x.nrows(), ame.experts(), ame.task.outputs());
        let out = PyDict::new(py);
        let array =
            |v: Vec<f64>, cols: usize| Array2::from_shape_vec((rows, cols), v).map_err(value_error);
        out.set_item("prediction", array(e.prediction, o)?.into_pyarray(py))?;
        out.set_item("importance", array(e.importance, p)?.into_pyarray(py))?;
        if labels.is_some() {
            out.set_item("granger", array(e.granger, p)?.into_pyarray(py))?;
        }
        Ok(out)
    }

    /// `conflux evaluate` of an AME on `x` with `labels`: `rows`, `quality` (a dict),
    /// `mge`, `granger_r2`, `importance` (`[p]`) and `importance_by_class`
    /// (`[(class, [p])]`).
    #[pyo3(signature = (x, labels, threads=None))]
    fn ame_evaluate<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        labels: Vec<f64>,
        threads: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (ame, x) = self.ame_rows(&x, Some(&labels))?;
        let pool = pool(threads)?;
        let xs = x.as_slice().expect("standard layout");
        let e = py.detach(|| install(pool.as_deref(), || ame.evaluate(xs, &labels)));
        let out = PyDict::new(py);
        out.set_item("rows", e.rows)?;
        let quality = PyDict::new(py);
        for (k, v) in &e.quality {
            quality.set_item(*k, *v)?;
        }
        out.set_item("quality", quality)?;
        out.set_item("mge", e.mge)?;
        out.set_item("granger_r2", e.granger_r2)?;
        out.set_item("importance", e.importance.into_pyarray(py))?;
        let by_class: Vec<(usize, Bound<'py, numpy::PyArray1<f64>>)> = e
            .importance_by_class
            .into_iter()
            .map(|(c, v)| (c, v.into_pyarray(py)))
            .collect();
        out.set_item("importance_by_class", by_class)?;
        Ok(out)
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
    /// The AME behind this model, its rows checked (width, labels) and scaled as the CLI
    /// scales CSV rows.
    fn ame_rows(
        &self,
        x: &PyReadonlyArray2<'_, f64>,
        labels: Option<&[f64]>,
    ) -> PyResult<(&Ame, Array2<f64>)> {
        let AnyModel::Ame(ame) = &self.model else {
            return Err(PyTypeError::new_err(
                "this model is a network, not an AME: explain it with an attribution method",
            ));
        };
        let (rows, d) = (x.shape()[0], x.shape()[1]);
        if d != ame.input_dim() {
            return Err(value_error(format!(
                "data: expected {} feature columns, got {d}",
                ame.input_dim()
            )));
        }
        if let Some(l) = labels {
            if l.len() != rows {
                return Err(value_error(format!(
                    "labels: {rows} rows need {rows} labels, got {}",
                    l.len()
                )));
            }
            ame.task.check_labels(l).map_err(|(i, expected)| {
                value_error(format!(
                    "labels: row {i}: label {} is not valid for this {} AME (expected {expected})",
                    l[i],
                    ame.task.name()
                ))
            })?;
        }
        Ok((ame, self.scaled("data", x.as_array())?))
    }

    fn predict_typed<'py, F: Precision>(
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
        let x: Array2<F> = self.scaled("x", x.as_array())?;
        let rows = x.nrows();
        let n = self.n_outputs();
        let out: Vec<F> = match &self.model {
            AnyModel::Network(net) => {
                let plan = self.plan::<F>(net)?;
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
        return Ok(Model::new(AnyModel::Network(net), "<bytes>".into(), None));
    }
    let path: PathBuf = source.extract().map_err(|_| {
        PyTypeError::new_err(
            "source: expected a path (str or os.PathLike) or the bytes of an ONNX file",
        )
    })?;
    let loaded = conflux_core::io::load_any_shaped(&path, arch.as_deref(), shape, &limits)
        .map_err(value_error)?;
    Ok(Model::new(loaded.model, path.display().to_string(), None))
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
        let r = baselines_of(baselines)?;
        return run(py, model, &m, &a, r, target, threads, pairing);
    }
    if let Ok(a) = x.extract::<PyReadonlyArray2<f32>>() {
        let r = baselines_of(baselines)?;
        return run(py, model, &m, &a, r, target, threads, pairing);
    }
    Err(PyTypeError::new_err(
        "inputs: expected a 2-D float32 or float64 array",
    ))
}

/// A feature mask (one group id per feature, Captum's convention) as groups, in the order
/// of their first feature, as the CLI orders a groups file (so the same partition gives the
/// same sampling draws).
fn feature_mask(ids: &[i64], d: usize) -> PyResult<FeatureGroups> {
    if ids.len() != d {
        return Err(value_error(format!(
            "feature_mask: expected one group id per feature ({d}), got {}",
            ids.len()
        )));
    }
    let mut index = std::collections::HashMap::new();
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (f, &id) in ids.iter().enumerate() {
        let g = *index.entry(id).or_insert_with(|| {
            groups.push((format!("group_{id}"), Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(f);
    }
    FeatureGroups::new(d, groups).map_err(value_error)
}

/// The baselines in raw units, exactly as given (float32 or float64; `None` when absent:
/// zeros in the network's input space). They are scaled in f64 and cast once, as the CLI
/// treats a reference file.
fn baselines_of(baselines: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Array2<f64>>> {
    let Some(b) = baselines else {
        return Ok(None);
    };
    if let Ok(a) = b.extract::<PyReadonlyArray2<f64>>() {
        return Ok(Some(a.as_array().as_standard_layout().into_owned()));
    }
    if let Ok(a) = b.extract::<PyReadonlyArray2<f32>>() {
        return Ok(Some(a.as_array().mapv(f64::from)));
    }
    Err(PyTypeError::new_err(
        "baselines: expected a 2-D float array (one row, one per input row, or a background)",
    ))
}

#[allow(clippy::too_many_arguments)]
fn run<'py, F: Precision>(
    py: Python<'py>,
    model: &Model,
    method: &Method,
    x: &PyReadonlyArray2<'py, F>,
    r: Option<Array2<f64>>,
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
        Some(r) => model.scaled("baselines", r.view())?,
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
    let x: Array2<F> = model.scaled("inputs", x.as_array())?;
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
    let pool = pool(threads)?;
    let (a, gates) = match &model.model {
        AnyModel::Network(net) => {
            let plan = model.plan::<F>(net)?;
            method.validate(plan).map_err(value_error)?;
            let gates = plan.has_gates();
            let call =
                |xv: ArrayView2<F>, rv: ArrayView2<F>| method.attribute(plan, xv, rv, target);
            let a = py.detach(|| {
                install(pool.as_deref(), || {
                    batches(method, x.view(), r.view(), pairing, batch, call)
                })
            });
            (a.map_err(value_error)?, gates)
        }
        AnyModel::Ame(ame) => {
            // A method that needs layers is refused by `attribute_black_box` itself.
            let call = |xv: ArrayView2<F>, rv: ArrayView2<F>| {
                method.attribute_black_box(&**ame, xv, rv, target)
            };
            let a = py.detach(|| {
                install(pool.as_deref(), || {
                    batches(method, x.view(), r.view(), pairing, batch, call)
                })
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
        let against = match pairing {
            Pairing::Average => Against::Background(r),
            Pairing::Auto if r.nrows() == 1 => Against::Rows(r),
            Pairing::Auto => Against::Rows(r.slice(ndarray::s![start..end, ..])),
        };
        explain_batch(method, xb, against, batch, &call)
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
        categorical: m::categorical_groups(&categorical, groups.as_ref()),
        samples,
        seed,
    };
    perturbation.validate().map_err(value_error)?;
    if !(radius > 0.0 && radius.is_finite()) {
        return Err(value_error(format!(
            "radius: expected a finite number > 0, got {radius}"
        )));
    }
    let wants = |metric: &str| names.iter().any(|n| n.replace('_', "-") == metric);
    m::check_memory(
        &method,
        d,
        x.shape()[0],
        target.per_row(model.n_outputs()),
        samples,
        (wants("infidelity"), wants("sensitivity-max")),
        Limits::current().data_cells,
    )
    .map_err(value_error)?;
    let x: Array2<f64> = model.scaled("inputs", x.as_array())?;
    let r = match baselines {
        Some(b) if b.shape()[1] != d || b.shape()[0] != 1 => {
            return Err(value_error(format!(
                "baselines: metrics take one shared row of {d} features"
            )));
        }
        Some(b) => model.scaled("baselines", b.as_array())?,
        None => Array2::zeros((1, d)),
    };
    let plan = model.plan::<f64>(net)?;
    method.validate(plan).map_err(value_error)?;
    let pool = pool(threads)?;
    let xs = x.as_slice().expect("standard layout");
    let rs = r.as_slice().expect("standard layout");
    let (a, values) = py
        .detach(|| {
            install(pool.as_deref(), || {
                let a = method.attribute(plan, x.view(), r.view(), target)?;
                let mut values = Vec::new();
                for name in &names {
                    let v = match name.as_str() {
                        "infidelity" => Some(m::infidelity(plan, &a, xs, rs, &perturbation)),
                        "sensitivity-max" | "sensitivity_max" => Some(m::sensitivity_max(
                            &method,
                            plan,
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
    use conflux_train::TrainConfig;
    let d = training_shape("train_mlp", &x, &y, &names)?;
    let task = task_of("train_mlp", task, &y)?;
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
        Model::new(AnyModel::Network(net), "<trained in Python>".into(), None),
        out,
    ))
}

/// `(train loss, validation main loss, validation MGE)` of one epoch.
type EpochLosses = (f64, f64, f64);

/// Trains an AME on `x` (`[rows, d]`, raw units) and labels `y` (the CLI's `train ame`).
/// `groups` lists `(expert name, member columns)` (default one expert per feature);
/// `image` `(height, width)` uses the strided-conv stem. Returns the model, the training
/// record the CLI stores in the model file (JSON text) and `(train loss, validation main
/// loss, validation MGE)` per epoch.
#[pyfunction]
#[pyo3(signature = (x, y, names, task, groups=None, hidden=vec![16], gate_width=None, alpha=0.05, attention_dropout=0.2, epochs=200, batch_size=64, lr=1e-3, patience=12, val_split=0.2, standardize=true, image=None, stem_convs=2, seed=0, granger_hidden=None))]
#[allow(clippy::too_many_arguments)]
fn train_ame<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    y: Vec<f64>,
    names: Vec<String>,
    task: &str,
    groups: Option<Vec<(String, Vec<usize>)>>,
    hidden: Vec<usize>,
    gate_width: Option<usize>,
    alpha: f64,
    attention_dropout: f64,
    epochs: usize,
    batch_size: usize,
    lr: f64,
    patience: usize,
    val_split: f64,
    standardize: bool,
    image: Option<(usize, usize)>,
    stem_convs: usize,
    seed: u64,
    granger_hidden: Option<usize>,
) -> PyResult<(Model, String, Vec<EpochLosses>)> {
    use conflux_core::ame::AmeTask;
    use conflux_train::Task;
    let d = training_shape("train_ame", &x, &y, &names)?;
    let task = match task_of("train_ame", task, &y)? {
        Task::Regression => AmeTask::Regression,
        Task::Binary => AmeTask::Binary,
        Task::Multiclass { classes } => AmeTask::Multiclass { classes },
    };
    let groups = groups
        .map(|g| FeatureGroups::natural(d, g))
        .transpose()
        .map_err(value_error)?;
    let mut cfg = conflux_train::AmeConfig::new(task);
    cfg.hidden = hidden;
    cfg.gate_width = gate_width;
    cfg.alpha = alpha;
    cfg.attention_dropout = attention_dropout;
    cfg.epochs = epochs;
    cfg.batch_size = batch_size;
    cfg.lr = lr;
    cfg.patience = patience;
    cfg.val_split = val_split;
    cfg.standardize = standardize;
    cfg.image = image.map(|(height, width)| conflux_train::ImageStem {
        height,
        width,
        convs: stem_convs,
    });
    cfg.seed = seed;
    cfg.granger_hidden = granger_hidden;
    let x = x.as_array().as_standard_layout().into_owned();
    let xs = x.as_slice().expect("standard layout");
    let (ame, report) = py
        .detach(|| conflux_train::train_ame(xs, &y, names, groups, &cfg, |_| {}))
        .map_err(value_error)?;
    let record = report.record(&cfg);
    let epochs = report
        .epochs
        .iter()
        .map(|e| (e.train_loss, e.val.main, e.val.mge))
        .collect();
    Ok((
        Model::new(
            AnyModel::Ame(Box::new(ame)),
            "<trained in Python>".into(),
            Some(record.clone()),
        ),
        record.to_string(),
        epochs,
    ))
}

/// The feature count of training data `x` with labels `y` and feature `names`, checked.
fn training_shape(
    what: &str,
    x: &PyReadonlyArray2<'_, f64>,
    y: &[f64],
    names: &[String],
) -> PyResult<usize> {
    let (rows, d) = (x.shape()[0], x.shape()[1]);
    if y.len() != rows || names.len() != d {
        return Err(value_error(format!(
            "{what}: {rows} rows × {d} features need {rows} labels and {d} names, got {} and {}",
            y.len(),
            names.len()
        )));
    }
    Ok(d)
}

/// The training task named `task`; for `multiclass` the classes are 0..=max label
/// (`conflux_train::class_count`, as the CLI counts them).
fn task_of(what: &str, task: &str, y: &[f64]) -> PyResult<conflux_train::Task> {
    use conflux_train::Task;
    match task {
        "regression" => Ok(Task::Regression),
        "binary" => Ok(Task::Binary),
        "multiclass" => {
            let classes =
                conflux_train::class_count(y).map_err(|e| value_error(format!("{what}: {e}")))?;
            Ok(Task::Multiclass { classes })
        }
        other => Err(value_error(format!(
            "task: expected regression, binary or multiclass, got '{other}'"
        ))),
    }
}

/// The pool that runs with `threads` workers: `None` is rayon's global pool (one worker
/// per core); a count gets a pool of its own, kept for the next call (the last few counts
/// used), so that a loop of small calls does not start threads every time.
fn pool(threads: Option<usize>) -> PyResult<Option<Arc<rayon::ThreadPool>>> {
    const KEPT: usize = 4;
    static POOLS: Mutex<Vec<(usize, Arc<rayon::ThreadPool>)>> = Mutex::new(Vec::new());
    let Some(n) = threads else {
        return Ok(None);
    };
    let mut pools = POOLS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, p)) = pools.iter().find(|(k, _)| *k == n) {
        return Ok(Some(Arc::clone(p)));
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(value_error)?,
    );
    if pools.len() == KEPT {
        pools.remove(0);
    }
    pools.push((n, Arc::clone(&p)));
    Ok(Some(p))
}

/// Runs `f` on `pool` (rayon's global pool for `None`).
fn install<R: Send>(pool: Option<&rayon::ThreadPool>, f: impl FnOnce() -> R + Send) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
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
    m.add_function(wrap_pyfunction!(train_ame, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
