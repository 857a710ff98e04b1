//! Layer types of the network IR.

use super::activation::Activation;

/// A fully connected layer `z = W·a + b` with `W` stored row-major as `out × in` (PyTorch's
/// layout).
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    in_dim: usize,
    out_dim: usize,
    weight: Vec<f64>,
    bias: Option<Vec<f64>>,
}

impl Dense {
    /// Builds a dense layer; `weight` is row-major `out_dim × in_dim`.
    ///
    /// # Errors
    /// A message saying what was expected when the sizes disagree or a value is not finite.
    pub fn new(
        out_dim: usize,
        in_dim: usize,
        weight: Vec<f64>,
        bias: Option<Vec<f64>>,
    ) -> Result<Self, String> {
        if out_dim == 0 || in_dim == 0 {
            return Err(format!(
                "expected a non-empty weight, got shape {out_dim}×{in_dim}"
            ));
        }
        if weight.len() != out_dim * in_dim {
            return Err(format!(
                "expected weight of {out_dim}×{in_dim} = {} values, got {}",
                out_dim * in_dim,
                weight.len()
            ));
        }
        if let Some(b) = &bias
            && b.len() != out_dim
        {
            return Err(format!(
                "expected bias of length {out_dim} (the weight's rows), got {}",
                b.len()
            ));
        }
        check_finite("weight", &weight)?;
        if let Some(b) = &bias {
            check_finite("bias", b)?;
        }
        Ok(Dense {
            in_dim,
            out_dim,
            weight,
            bias,
        })
    }

    /// Number of inputs.
    pub fn in_dim(&self) -> usize {
        self.in_dim
    }
    /// Number of outputs.
    pub fn out_dim(&self) -> usize {
        self.out_dim
    }
    /// Row-major `out × in` weights.
    pub fn weight(&self) -> &[f64] {
        &self.weight
    }
    /// Bias, if the layer has one.
    pub fn bias(&self) -> Option<&[f64]> {
        self.bias.as_deref()
    }
    /// Row `j` of the weight matrix.
    pub fn row(&self, j: usize) -> &[f64] {
        &self.weight[j * self.in_dim..(j + 1) * self.in_dim]
    }
}

/// BatchNorm1d in evaluation mode: `y = γ·(x − mean)/√(var + eps) + β`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Running mean.
    pub mean: Vec<f64>,
    /// Running variance.
    pub var: Vec<f64>,
    /// γ (PyTorch `weight`).
    pub weight: Vec<f64>,
    /// β (PyTorch `bias`).
    pub bias: Vec<f64>,
    /// ε added to the variance.
    pub eps: f64,
}

impl BatchNorm {
    /// Checks lengths, finiteness and positive `var + eps`.
    ///
    /// # Errors
    /// A message naming the offending parameter.
    pub fn validate(&self) -> Result<(), String> {
        let n = self.mean.len();
        if n == 0 {
            return Err("expected a non-empty mean, got length 0".into());
        }
        for (name, v) in [
            ("var", &self.var),
            ("weight", &self.weight),
            ("bias", &self.bias),
        ] {
            if v.len() != n {
                return Err(format!(
                    "expected {name} of length {n} (as mean), got {}",
                    v.len()
                ));
            }
        }
        for (name, v) in [
            ("mean", &self.mean),
            ("var", &self.var),
            ("weight", &self.weight),
            ("bias", &self.bias),
        ] {
            check_finite(name, v)?;
        }
        if let Some(i) = self.var.iter().position(|&v| v + self.eps <= 0.0) {
            return Err(format!(
                "expected var + eps > 0, got {} at neuron {i}",
                self.var[i] + self.eps
            ));
        }
        Ok(())
    }

    /// Number of neurons.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The equivalent per-neuron affine map `a ↦ γ'·a + β'` with `γ' = γ/√(var+eps)` and
    /// `β' = β − mean·γ'` (cafe.md §Reducing other layers).
    pub fn scale_shift(&self) -> (Vec<f64>, Vec<f64>) {
        let scale: Vec<f64> = self
            .weight
            .iter()
            .zip(&self.var)
            .map(|(g, v)| g / (v + self.eps).sqrt())
            .collect();
        let shift = self
            .bias
            .iter()
            .zip(&self.mean)
            .zip(&scale)
            .map(|((b, m), s)| b - m * s)
            .collect();
        (scale, shift)
    }
}

/// One layer of a [`super::Network`].
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Fully connected layer.
    Dense(Dense),
    /// Element-wise activation.
    Act(Activation),
    /// BatchNorm1d in eval mode (its own per-neuron affine layer for CAFE).
    BatchNorm(BatchNorm),
    /// Flatten (a relabelling of neurons; a no-op on `[batch, features]` data).
    Flatten,
    /// Dropout (inference: identity); `p` is kept for round-trips.
    Dropout {
        /// Drop probability used in training.
        p: f64,
    },
}

impl Layer {
    /// The type name used in conflux's JSON model format.
    pub fn type_name(&self) -> &'static str {
        match self {
            Layer::Dense(_) => "linear",
            Layer::Act(a) => a.type_name(),
            Layer::BatchNorm(_) => "batchnorm",
            Layer::Flatten => "flatten",
            Layer::Dropout { .. } => "dropout",
        }
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        match self {
            Layer::Dense(d) => d.weight.len() + d.bias.as_ref().map_or(0, Vec::len),
            Layer::BatchNorm(b) => 2 * b.dim(),
            _ => 0,
        }
    }
}

/// A trailing output head: kept for forward passes, explained before it by default
/// (cafe.md §Output heads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Softmax over the outputs.
    Softmax,
    /// Log-softmax over the outputs.
    LogSoftmax,
    /// Element-wise logistic sigmoid.
    Sigmoid,
}

impl Head {
    /// The type name used in conflux's JSON model format.
    pub fn type_name(self) -> &'static str {
        match self {
            Head::Softmax => "softmax",
            Head::LogSoftmax => "log_softmax",
            Head::Sigmoid => "sigmoid",
        }
    }
}

fn check_finite(name: &str, v: &[f64]) -> Result<(), String> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!(
            "expected finite {name} values, got {} at index {i}",
            v[i]
        )),
        None => Ok(()),
    }
}
