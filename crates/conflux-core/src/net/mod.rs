//! The network IR: an ordered list of layers, an optional output head and an optional input
//! preprocessing step.

pub mod activation;
pub mod backward;
pub mod graph;
pub mod layer;
pub mod ops;
pub mod plan;
pub mod summary;

use crate::error::{Error, Result};
use activation::Activation;
use layer::{Head, Layer};

/// Input scaling applied to raw rows before the network (interface.md §Model file). It is not
/// a network layer: no attribution goes to it.
#[derive(Debug, Clone, PartialEq)]
pub enum Preprocess {
    /// `x' = (x − mean)/std` (a zero std is treated as 1).
    Standardize {
        /// Per-feature mean.
        mean: Vec<f64>,
        /// Per-feature standard deviation.
        std: Vec<f64>,
    },
    /// `x' = (x − min)/(max − min)` (a zero span is treated as 1).
    MinMax {
        /// Per-feature minimum.
        min: Vec<f64>,
        /// Per-feature maximum.
        max: Vec<f64>,
    },
}

impl Preprocess {
    /// `"standardize"` or `"minmax"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Preprocess::Standardize { .. } => "standardize",
            Preprocess::MinMax { .. } => "minmax",
        }
    }

    /// Per-feature `(offset, scale)` with `x' = (x − offset)/scale`.
    pub fn offset_scale(&self) -> (Vec<f64>, Vec<f64>) {
        let fix = |s: f64| if s == 0.0 { 1.0 } else { s };
        match self {
            Preprocess::Standardize { mean, std } => {
                (mean.clone(), std.iter().map(|&s| fix(s)).collect())
            }
            Preprocess::MinMax { min, max } => (
                min.clone(),
                min.iter().zip(max).map(|(a, b)| fix(b - a)).collect(),
            ),
        }
    }

    /// Applies the scaling to consecutive rows stored in `data` (row-major, `dim` columns).
    pub fn apply(&self, data: &mut [f64]) {
        let (off, scale) = self.offset_scale();
        for row in data.chunks_mut(off.len()) {
            for ((v, o), s) in row.iter_mut().zip(&off).zip(&scale) {
                *v = (*v - o) / s;
            }
        }
    }

    fn validate(&self, input_dim: usize) -> std::result::Result<(), String> {
        let (a, b, names) = match self {
            Preprocess::Standardize { mean, std } => (mean, std, ("mean", "std")),
            Preprocess::MinMax { min, max } => (min, max, ("min", "max")),
        };
        if a.len() != input_dim || b.len() != input_dim {
            return Err(format!(
                "preprocess: expected {} and {} of length {input_dim} (the input dimension), got {} and {}",
                names.0,
                names.1,
                a.len(),
                b.len()
            ));
        }
        if a.iter().chain(b).any(|v| !v.is_finite()) {
            return Err("preprocess: expected finite values, got NaN or infinity".into());
        }
        if let Preprocess::Standardize { std, .. } = self
            && let Some(i) = std.iter().position(|&s| s < 0.0)
        {
            return Err(format!(
                "preprocess: expected std ≥ 0, got {} at feature {i}",
                std[i]
            ));
        }
        Ok(())
    }
}

/// A feedforward network: ordered layers, an optional trailing output head, an optional input
/// preprocessing step and feature names. Validated at construction: later code relies on the
/// shapes being consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    input_dim: usize,
    output_dim: usize,
    feature_names: Option<Vec<String>>,
    preprocess: Option<Preprocess>,
    layers: Vec<Layer>,
    head: Option<Head>,
    graph: Option<std::sync::Arc<graph::Graph>>,
}

impl Network {
    /// Builds and validates a network. Layer errors name the layer's index (the head counts
    /// as the last layer).
    ///
    /// # Errors
    /// [`Error::Layer`] when a layer's shape does not match its input, [`Error::Model`] for
    /// inconsistent names or preprocessing. The path in the error is empty; loaders add theirs.
    pub fn new(
        input_dim: usize,
        layers: Vec<Layer>,
        head: Option<Head>,
        feature_names: Option<Vec<String>>,
        preprocess: Option<Preprocess>,
    ) -> Result<Self> {
        if input_dim == 0 {
            return Err(Error::model("", "expected input_dim ≥ 1, got 0"));
        }
        let mut width = input_dim;
        for (i, layer) in layers.iter().enumerate() {
            match layer {
                Layer::Dense(d) => {
                    if d.in_dim() != width {
                        return Err(Error::layer(
                            "",
                            i,
                            "linear",
                            format!(
                                "expected weight with {width} columns (the previous width), got {}",
                                d.in_dim()
                            ),
                        ));
                    }
                    width = d.out_dim();
                }
                Layer::BatchNorm(b) => {
                    b.validate()
                        .map_err(|r| Error::layer("", i, "batchnorm", r))?;
                    if b.dim() != width {
                        return Err(Error::layer(
                            "",
                            i,
                            "batchnorm",
                            format!(
                                "expected {width} neurons (the previous width), got {}",
                                b.dim()
                            ),
                        ));
                    }
                }
                Layer::Act(a) => {
                    validate_activation(*a).map_err(|r| Error::layer("", i, a.type_name(), r))?
                }
                Layer::Dropout { p } => {
                    if !(0.0..1.0).contains(p) {
                        return Err(Error::layer(
                            "",
                            i,
                            "dropout",
                            format!("expected p in [0, 1), got {p}"),
                        ));
                    }
                }
                Layer::Flatten => {}
            }
        }
        if let Some(names) = &feature_names
            && names.len() != input_dim
        {
            return Err(Error::model(
                "",
                format!(
                    "expected {input_dim} feature_names (input_dim), got {}",
                    names.len()
                ),
            ));
        }
        if let Some(p) = &preprocess {
            p.validate(input_dim).map_err(|r| Error::model("", r))?;
        }
        Ok(Network {
            input_dim,
            output_dim: width,
            feature_names,
            preprocess,
            layers,
            head,
            graph: None,
        })
    }

    /// A network in graph form (CNNs, residual and normalised networks). Chains of dense,
    /// BatchNorm and activation layers are better built with [`Network::new`] (the layer
    /// form, which every model format can save).
    ///
    /// # Errors
    /// [`Error::Model`] for inconsistent names or preprocessing.
    pub fn from_graph(
        graph: graph::Graph,
        head: Option<Head>,
        feature_names: Option<Vec<String>>,
        preprocess: Option<Preprocess>,
    ) -> Result<Self> {
        let mut net = Network {
            input_dim: graph.input_dim(),
            output_dim: graph.output_dim(),
            feature_names: None,
            preprocess: None,
            layers: Vec::new(),
            head,
            graph: Some(std::sync::Arc::new(graph)),
        };
        if let Some(names) = feature_names {
            net.set_feature_names(names)?;
        }
        net.set_preprocess(preprocess)?;
        Ok(net)
    }

    /// The graph, for networks in graph form (`None` for layer lists).
    pub fn graph(&self) -> Option<&graph::Graph> {
        self.graph.as_deref()
    }

    /// The per-row input shape: `[F]` for layer lists, the graph's input shape otherwise.
    pub fn input_shape(&self) -> Vec<usize> {
        self.graph
            .as_ref()
            .map_or_else(|| vec![self.input_dim], |g| g.input_shape().to_vec())
    }

    /// Number of input features.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }
    /// Number of outputs.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }
    /// The layers before the head.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    /// The output head, if any.
    pub fn head(&self) -> Option<Head> {
        self.head
    }
    /// The input preprocessing, if any.
    pub fn preprocess(&self) -> Option<&Preprocess> {
        self.preprocess.as_ref()
    }
    /// Feature names as stored in the model (if any).
    pub fn stored_feature_names(&self) -> Option<&[String]> {
        self.feature_names.as_deref()
    }
    /// Feature names, `f0, f1, …` when the model has none.
    pub fn feature_names(&self) -> Vec<String> {
        self.feature_names
            .clone()
            .unwrap_or_else(|| (0..self.input_dim).map(|i| format!("f{i}")).collect())
    }
    /// Replaces the feature names.
    ///
    /// # Errors
    /// [`Error::Model`] when the count differs from the input dimension.
    pub fn set_feature_names(&mut self, names: Vec<String>) -> Result<()> {
        if names.len() != self.input_dim {
            return Err(Error::model(
                "",
                format!(
                    "expected {} feature names, got {}",
                    self.input_dim,
                    names.len()
                ),
            ));
        }
        self.feature_names = Some(names);
        Ok(())
    }
    /// Replaces the preprocessing step.
    ///
    /// # Errors
    /// [`Error::Model`] when its dimension is wrong.
    pub fn set_preprocess(&mut self, p: Option<Preprocess>) -> Result<()> {
        if let Some(p) = &p {
            p.validate(self.input_dim)
                .map_err(|r| Error::model("", r))?;
        }
        self.preprocess = p;
        Ok(())
    }
    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(Layer::param_count).sum::<usize>()
            + self.graph.as_ref().map_or(0, |g| g.param_count())
    }
    /// Number of activation layers before the head (what per-layer `c` lists count).
    pub fn activation_layers(&self) -> usize {
        self.layers
            .iter()
            .filter(|l| matches!(l, Layer::Act(_)))
            .count()
            + self.graph.as_ref().map_or(0, |g| g.activation_layers())
    }

    /// Evaluates the whole network (head included) on preprocessed rows, in `f64`.
    pub fn forward(&self, x: &[f64], rows: usize) -> Vec<f64> {
        let plan = plan::Plan::<f64>::new(self, false).expect("logits plan always builds");
        let mut out = plan.forward(x, rows);
        self.apply_head(&mut out);
        out
    }

    /// Applies the output head (if any) in place to row-major outputs.
    pub fn apply_head<F: crate::Float>(&self, out: &mut [F]) {
        let n = self.output_dim;
        match self.head {
            None => {}
            Some(Head::Sigmoid) => {
                for v in out.iter_mut() {
                    *v = activation::sigmoid(*v);
                }
            }
            Some(h @ (Head::Softmax | Head::LogSoftmax)) => {
                for row in out.chunks_mut(n) {
                    let m = row.iter().copied().fold(F::neg_infinity(), F::max);
                    let lse = row.iter().map(|&v| (v - m).exp()).sum::<F>().ln() + m;
                    for v in row.iter_mut() {
                        *v = if h == Head::Softmax {
                            (*v - lse).exp()
                        } else {
                            *v - lse
                        };
                    }
                }
            }
        }
    }
}

fn validate_activation(a: Activation) -> std::result::Result<(), String> {
    match a {
        Activation::LeakyRelu { slope } if !slope.is_finite() => {
            Err(format!("expected a finite negative_slope, got {slope}"))
        }
        Activation::Elu { alpha } if !alpha.is_finite() => {
            Err(format!("expected a finite alpha, got {alpha}"))
        }
        Activation::Softplus { beta, threshold }
            if !(beta.is_finite() && beta > 0.0 && threshold.is_finite()) =>
        {
            Err(format!(
                "expected beta > 0 and a finite threshold, got beta {beta}, threshold {threshold}"
            ))
        }
        _ => Ok(()),
    }
}
