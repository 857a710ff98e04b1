//! Training MLPs for conflux with burn: AdamW, mini-batches, early stopping on the
//! validation loss (best weights kept), standardisation, seeds. Burn's types stay inside this
//! crate; the result is a conflux [`Network`] (with its scaler as `preprocess`).
//!
//! Determinism: weights are initialised and batches shuffled from conflux's own seeded
//! generator, and training runs on burn's CPU backend, so the same seed gives the same model.

pub mod ame;
mod early_stop;

pub use ame::{AmeConfig, AmeEpoch, AmeReport, ImageStem, train_ame};

use burn::module::{Module, Param};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::activation;
use burn::tensor::{Device, Tensor, TensorData};
use conflux_core::rng::Rng;
use conflux_core::{Activation, Dense, Error, Head, Layer, Network, Preprocess, Result};

/// What is learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Mean squared error on a real label; one output.
    Regression,
    /// Binary cross-entropy on a 0/1 label; one logit (sigmoid head).
    Binary,
    /// Cross-entropy over `classes` logits (softmax head); labels 0..classes.
    Multiclass {
        /// Number of classes.
        classes: usize,
    },
}

/// Training configuration.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// The task.
    pub task: Task,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Maximum epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Epochs without validation improvement before stopping (0: never stop early).
    pub patience: usize,
    /// Fraction of rows held out for validation (after a seeded shuffle, or the last rows in
    /// file order with `ordered_split`).
    pub val_split: f64,
    /// Take the validation rows from the end in file order instead of at random.
    pub ordered_split: bool,
    /// Shuffle the training rows every epoch (otherwise file order, as the CAFE paper).
    pub shuffle: bool,
    /// Standardise the inputs (the scaler is stored in the model).
    pub standardize: bool,
    /// Give the dense layers biases (PyTorch's default).
    pub bias: bool,
    /// Seed for initialisation, the split and shuffling.
    pub seed: u64,
}

/// One epoch's numbers.
#[derive(Debug, Clone, Copy)]
pub struct Epoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: f64,
}

/// What training did.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// Per-epoch losses.
    pub epochs: Vec<Epoch>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether patience ran out before `epochs`.
    pub stopped_early: bool,
    /// Validation metrics of the kept model: `("rmse", v)` or `("accuracy", v)`, `("auc", v)`.
    pub val_metrics: Vec<(&'static str, f64)>,
}

#[derive(Module, Debug)]
struct Mlp {
    weights: Vec<Param<Tensor<2>>>,
    biases: Vec<Param<Tensor<1>>>,
}

fn act_tensor(a: Activation, t: Tensor<2>) -> Tensor<2> {
    match a {
        Activation::Relu => activation::relu(t),
        Activation::LeakyRelu { slope } => activation::leaky_relu(t, slope),
        Activation::Elu { alpha } => activation::elu(t, alpha),
        Activation::Selu => activation::selu(t),
        Activation::Gelu => activation::gelu(t),
        Activation::GeluTanh => activation::gelu_approximate(t),
        Activation::Silu => activation::silu(t),
        Activation::Softplus { beta, .. } => activation::softplus(t, beta),
        Activation::Sigmoid => activation::sigmoid(t),
        Activation::Tanh => activation::tanh(t),
        Activation::Identity => t,
    }
}

impl Mlp {
    fn forward(&self, mut x: Tensor<2>, act: Activation) -> Tensor<2> {
        let last = self.weights.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            x = x.matmul(w.val());
            if let Some(b) = self.biases.get(i) {
                x = x + b.val().unsqueeze::<2>();
            }
            if i < last {
                x = act_tensor(act, x);
            }
        }
        x
    }

    /// Weights as conflux layers (`out × in`, f64).
    fn layers(&self, act: Activation) -> Vec<Layer> {
        let last = self.weights.len() - 1;
        let mut out = Vec::new();
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            let [n_in, n_out] = w.val().dims();
            let wv: Vec<f32> = w
                .val()
                .into_data()
                .try_to_vec::<f32>()
                .expect("f32 weights");
            let bv: Vec<f32> = b.val().into_data().try_to_vec::<f32>().expect("f32 bias");
            let mut wt = vec![0.0; n_in * n_out];
            for p in 0..n_in {
                for j in 0..n_out {
                    wt[j * n_in + p] = f64::from(wv[p * n_out + j]);
                }
            }
            let dense = Dense::new(
                n_out,
                n_in,
                wt,
                Some(bv.iter().map(|&v| f64::from(v)).collect()),
            )
            .expect("consistent shapes");
            out.push(Layer::Dense(dense));
            if i < last {
                out.push(Layer::Act(act));
            }
        }
        out
    }
}

/// PyTorch's default initialisation for `nn.Linear` (uniform ±1/√fan_in), from `rng`.
fn init(widths: &[usize], bias: bool, rng: &mut Rng, device: &Device) -> Mlp {
    let mut weights = Vec::new();
    let mut biases = Vec::new();
    for w in widths.windows(2) {
        let bound = 1.0 / (w[0] as f64).sqrt();
        let wv: Vec<f32> = (0..w[0] * w[1])
            .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
            .collect();
        let bv: Vec<f32> = (0..w[1])
            .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
            .collect();
        weights.push(Param::from_tensor(Tensor::from_data(
            TensorData::new(wv, [w[0], w[1]]),
            device,
        )));
        if bias {
            biases.push(Param::from_tensor(Tensor::from_data(
                TensorData::new(bv, [w[1]]),
                device,
            )));
        }
    }
    Mlp { weights, biases }
}

fn param_err(name: &'static str, value: impl std::fmt::Display, reason: &str) -> Error {
    Error::param("train", name, value, reason)
}

impl TrainConfig {
    /// The defaults of `conflux train mlp`: 64,64 ReLU, ≤ 20 epochs of batch 64, AdamW
    /// (lr 1e-3, weight decay 1e-2), patience 5, 20 % validation, shuffled, standardised,
    /// with biases, seed 0.
    pub fn new(task: Task) -> Self {
        TrainConfig {
            task,
            hidden: vec![64, 64],
            activation: Activation::Relu,
            epochs: 20,
            batch_size: 64,
            lr: 1e-3,
            weight_decay: 1e-2,
            patience: 5,
            val_split: 0.2,
            ordered_split: false,
            shuffle: true,
            standardize: true,
            bias: true,
            seed: 0,
        }
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::Param`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(param_err("epochs", 0, "expected at least 1"));
        }
        if self.batch_size == 0 {
            return Err(param_err("batch-size", 0, "expected at least 1"));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(param_err(
                "lr",
                self.lr,
                "expected a positive learning rate",
            ));
        }
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return Err(param_err("weight-decay", self.weight_decay, "expected ≥ 0"));
        }
        if !(0.0..1.0).contains(&self.val_split) || self.val_split.is_nan() {
            return Err(param_err(
                "val-split",
                self.val_split,
                "expected a fraction in [0, 1)",
            ));
        }
        if self.hidden.contains(&0) {
            return Err(param_err("hidden", 0, "expected positive widths"));
        }
        Ok(())
    }
}

/// Loss per batch on burn tensors: `logits` `[B, k]`, `y` `[B, k]` (one-hot for classes).
fn loss(task: Task, logits: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    match task {
        Task::Regression => (logits - y).powi_scalar(2).mean(),
        // mean(max(z, 0) − z·y + log(1 + e^{−|z|})), the stable form.
        Task::Binary => (logits.clone().clamp_min(0.0) - logits.clone() * y
            + logits.abs().neg().exp().add_scalar(1.0).log())
        .mean(),
        Task::Multiclass { .. } => (activation::log_softmax(logits, 1) * y)
            .sum_dim(1)
            .mean()
            .neg(),
    }
}

/// The same loss on conflux outputs (validation), f64.
fn loss_f64(task: Task, logits: &[f64], y: &[f64], k: usize) -> f64 {
    let n = y.len().max(1) as f64
        / if matches!(task, Task::Multiclass { .. }) {
            k as f64
        } else {
            1.0
        };
    match task {
        Task::Regression => {
            logits
                .iter()
                .zip(y)
                .map(|(z, t)| (z - t).powi(2))
                .sum::<f64>()
                / n
        }
        Task::Binary => {
            logits
                .iter()
                .zip(y)
                .map(|(&z, &t)| z.max(0.0) - z * t + (-z.abs()).exp().ln_1p())
                .sum::<f64>()
                / n
        }
        Task::Multiclass { .. } => {
            let mut s = 0.0;
            for (zr, tr) in logits.chunks_exact(k).zip(y.chunks_exact(k)) {
                let m = zr.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = zr.iter().map(|z| (z - m).exp()).sum::<f64>().ln() + m;
                s -= zr.iter().zip(tr).map(|(z, t)| t * (z - lse)).sum::<f64>();
            }
            s / n
        }
    }
}

pub use conflux_core::stats::auc;

/// The class count of multi-class labels: 0..=the largest label. Labels must be class
/// indices, and a stray huge label is refused before it sizes anything (a model with that
/// many classes has more parameters than allowed and could not be built).
///
/// # Errors
/// [`Error::Param`] naming the label.
pub fn class_count(y: &[f64]) -> Result<usize> {
    if let Some(&v) = y.iter().find(|v| !(**v >= 0.0 && v.fract() == 0.0)) {
        return Err(Error::param(
            "train",
            "label",
            v,
            "multiclass labels are class indices 0, 1, 2, …",
        ));
    }
    let top = y.iter().fold(0.0f64, |m, &v| m.max(v));
    let limit = conflux_core::Limits::current().parameters;
    if top >= limit as f64 {
        return Err(Error::param(
            "train",
            "label",
            if top < 1e15 {
                top.to_string()
            } else {
                format!("{top:e}")
            },
            format!(
                "a model with that many classes has more parameters than allowed: {}",
                conflux_core::limits::PARAMETERS.exceeded(limit)
            ),
        ));
    }
    Ok(top as usize + 1)
}

/// Checks the shape of training data before anything is sized from it: at least one
/// feature and one row, `x` holding `rows × names.len()` values, finite values (an error
/// names the row and column), and at least two
/// distinct labels for a classification task. `command` names the trainer in errors.
///
/// # Errors
/// [`Error::Param`] saying what is missing.
pub fn check_training_data(
    command: &'static str,
    x: &[f64],
    y: &[f64],
    names: &[String],
    classification: bool,
) -> Result<()> {
    let (rows, d) = (y.len(), names.len());
    if d == 0 {
        return Err(Error::param(
            command,
            "features",
            0,
            "expected at least one feature column",
        ));
    }
    if rows == 0 {
        return Err(Error::param(
            command,
            "rows",
            0,
            "expected at least one labelled row",
        ));
    }
    if x.len() != rows.saturating_mul(d) {
        return Err(Error::param(
            command,
            "rows",
            rows,
            format!(
                "{rows} labels need {rows} × {d} feature values, got {}",
                x.len()
            ),
        ));
    }
    if let Some(at) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            command,
            "data",
            x[at],
            format!(
                "row {}, column '{}': expected a finite number",
                at / d,
                conflux_core::error::quote(&names[at % d])
            ),
        ));
    }
    if let Some(at) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            command,
            "label",
            y[at],
            format!("row {at}: expected a finite label"),
        ));
    }
    if classification && !y.iter().any(|&v| v != y[0]) {
        return Err(Error::param(
            command,
            "label",
            y[0],
            "every label is the same; classification needs at least two classes",
        ));
    }
    Ok(())
}

/// Targets in the model's output layout: one column, or one-hot over `classes`.
fn targets(task: Task, y: &[f64]) -> Result<(Vec<f64>, usize)> {
    match task {
        Task::Regression => Ok((y.to_vec(), 1)),
        Task::Binary => {
            if let Some(v) = y.iter().find(|&&v| v != 0.0 && v != 1.0) {
                return Err(param_err(
                    "label",
                    v,
                    "a binary task expects labels 0 and 1",
                ));
            }
            Ok((y.to_vec(), 1))
        }
        Task::Multiclass { classes } => {
            let mut t = vec![0.0; y.len() * classes];
            for (i, &v) in y.iter().enumerate() {
                if v < 0.0 || v.fract() != 0.0 || v as usize >= classes {
                    return Err(param_err(
                        "label",
                        v,
                        &format!("expected class labels 0..{classes}"),
                    ));
                }
                t[i * classes + v as usize] = 1.0;
            }
            Ok((t, classes))
        }
    }
}

/// Trains an MLP on `x` (`[rows, d]`, raw units) and `y` (labels), calling `progress` after
/// every epoch.
///
/// # Errors
/// [`Error::Param`] for a bad configuration or labels that do not fit the task.
pub fn train_mlp(
    x: &[f64],
    y: &[f64],
    d: usize,
    names: Vec<String>,
    cfg: &TrainConfig,
    mut progress: impl FnMut(&Epoch),
) -> Result<(Network, TrainReport)> {
    cfg.validate()?;
    if names.len() != d {
        return Err(Error::param(
            "train mlp",
            "features",
            d,
            format!("{d} features need {d} names, got {}", names.len()),
        ));
    }
    check_training_data("train mlp", x, y, &names, cfg.task != Task::Regression)?;
    let rows = y.len();
    // The parameter count and the one-hot targets, bounded before anything is allocated.
    let limits = conflux_core::Limits::current();
    let k = match cfg.task {
        Task::Multiclass { classes } => classes,
        _ => 1,
    };
    let mut total = 0u64;
    let mut w_in = d as u64;
    for &w in cfg.hidden.iter().chain(std::iter::once(&k)) {
        let w = w as u64;
        total = total.saturating_add(w_in.saturating_mul(w).saturating_add(w));
        w_in = w;
    }
    limits
        .check_parameters(total)
        .map_err(|why| Error::param("train mlp", "hidden", format!("{:?}", cfg.hidden), why))?;
    if (rows as u64).saturating_mul(k as u64) > limits.data_cells {
        return Err(Error::param(
            "train mlp",
            "classes",
            k,
            format!(
                "{rows} rows × {k} one-hot targets: {}",
                conflux_core::limits::DATA_CELLS.exceeded(limits.data_cells)
            ),
        ));
    }
    if cfg.val_split > 0.0 && rows < 2 {
        return Err(Error::param(
            "train",
            "val-split",
            cfg.val_split,
            format!("a validation split needs at least 2 rows, got {rows}"),
        ));
    }
    let (t, k) = targets(cfg.task, y)?;
    // Seeded shuffle, then the validation split.
    let mut rng = Rng::for_row(cfg.seed, usize::MAX - 1);
    let n_val = ((rows as f64) * cfg.val_split).round() as usize;
    let n_val = if cfg.val_split > 0.0 {
        n_val.clamp(1, rows.saturating_sub(1))
    } else {
        0
    };
    let mut order: Vec<usize> = (0..rows).collect();
    let (val_idx, train_idx) = if cfg.ordered_split {
        // File order: train on the first rows, validate on the last.
        let (train, val) = order.split_at(rows - n_val);
        (val, train)
    } else {
        rng.shuffle(&mut order);
        order.split_at(n_val)
    };
    if train_idx.is_empty() {
        return Err(param_err(
            "val-split",
            cfg.val_split,
            "leaves no training rows",
        ));
    }
    // The scaler from the training rows.
    let preprocess = cfg.standardize.then(|| {
        let nt = train_idx.len() as f64;
        let mean: Vec<f64> = (0..d)
            .map(|f| train_idx.iter().map(|&r| x[r * d + f]).sum::<f64>() / nt)
            .collect();
        let std: Vec<f64> = (0..d)
            .map(|f| {
                (train_idx
                    .iter()
                    .map(|&r| (x[r * d + f] - mean[f]).powi(2))
                    .sum::<f64>()
                    / nt)
                    .sqrt()
            })
            .collect();
        Preprocess::Standardize { mean, std }
    });
    let mut xs = x.to_vec();
    if let Some(p) = &preprocess {
        p.apply(&mut xs);
    }
    let gather = |idx: &[usize], src: &[f64], w: usize| -> Vec<f64> {
        idx.iter()
            .flat_map(|&r| src[r * w..(r + 1) * w].iter().copied())
            .collect()
    };
    let (x_val, t_val) = (gather(val_idx, &xs, d), gather(val_idx, &t, k));
    let device = Device::flex().autodiff();
    let mut widths = vec![d];
    widths.extend(&cfg.hidden);
    widths.push(k);
    let mut model = init(&widths, cfg.bias, &mut rng, &device);
    // PyTorch's AdamW defaults (burn's own epsilon default is 1e-5).
    let mut optim = AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(cfg.weight_decay as f32)
        .init();
    let head = match cfg.task {
        Task::Regression => None,
        Task::Binary => Some(Head::Sigmoid),
        Task::Multiclass { .. } => Some(Head::Softmax),
    };
    let to_network = |m: &Mlp| {
        Network::new(
            d,
            m.layers(cfg.activation),
            head,
            Some(names.clone()),
            preprocess.clone(),
        )
    };
    let mut stopper = early_stop::EarlyStopping::new(cfg.patience);
    let mut report = TrainReport {
        epochs: Vec::new(),
        best_epoch: 0,
        stopped_early: false,
        val_metrics: Vec::new(),
    };
    let mut train_order = train_idx.to_vec();
    for epoch in 1..=cfg.epochs {
        if cfg.shuffle {
            rng.shuffle(&mut train_order);
        }
        let mut total = 0.0;
        for batch in train_order.chunks(cfg.batch_size) {
            let xb: Vec<f32> = batch
                .iter()
                .flat_map(|&r| xs[r * d..(r + 1) * d].iter().map(|&v| v as f32))
                .collect();
            let tb: Vec<f32> = batch
                .iter()
                .flat_map(|&r| t[r * k..(r + 1) * k].iter().map(|&v| v as f32))
                .collect();
            let xt = Tensor::<2>::from_data(TensorData::new(xb, [batch.len(), d]), &device);
            let tt = Tensor::<2>::from_data(TensorData::new(tb, [batch.len(), k]), &device);
            let l = loss(cfg.task, model.forward(xt, cfg.activation), tt);
            let lv: Vec<f32> = l.clone().into_data().try_to_vec::<f32>().expect("f32 loss");
            total += f64::from(lv[0]) * batch.len() as f64;
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(cfg.lr, model, grads);
        }
        let net = to_network(&model)?;
        let train_loss = total / train_order.len() as f64;
        // Validation on conflux's own forward pass (the scaler is already applied).
        let val_loss = if n_val > 0 {
            let plan = conflux_core::Plan::<f64>::new(&net, false)?;
            loss_f64(cfg.task, &plan.forward(&x_val, n_val), &t_val, k)
        } else {
            train_loss
        };
        let e = Epoch {
            epoch,
            train_loss,
            val_loss,
        };
        progress(&e);
        report.epochs.push(e);
        if stopper.observe(epoch, val_loss, net) {
            report.stopped_early = epoch < cfg.epochs;
            break;
        }
    }
    let (net, best_epoch) = stopper.best();
    report.best_epoch = best_epoch;
    if n_val > 0 {
        let plan = conflux_core::Plan::<f64>::new(&net, false)?;
        let z = plan.forward(&x_val, n_val);
        report.val_metrics = match cfg.task {
            Task::Regression => vec![(
                "rmse",
                (z.iter()
                    .zip(&t_val)
                    .map(|(a, b)| (a - b).powi(2))
                    .sum::<f64>()
                    / n_val as f64)
                    .sqrt(),
            )],
            Task::Binary => {
                let acc = z
                    .iter()
                    .zip(&t_val)
                    .filter(|(z, t)| (**z > 0.0) == (**t > 0.5))
                    .count() as f64
                    / n_val as f64;
                vec![("accuracy", acc), ("auc", auc(&z, &t_val))]
            }
            Task::Multiclass { classes } => {
                let hits = z
                    .chunks_exact(classes)
                    .zip(t_val.chunks_exact(classes))
                    .filter(|(zr, tr)| {
                        conflux_core::stats::argmax(zr) == conflux_core::stats::argmax(tr)
                    })
                    .count();
                vec![("accuracy", hits as f64 / n_val as f64)]
            }
        };
    }
    Ok((net, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Scores 0.1 (neg), 0.4 (pos), 0.35 (neg), 0.8 (pos): 3 of 4 pairs ordered ⇒ 0.75.
        assert!((auc(&[0.1, 0.4, 0.35, 0.8], &[0.0, 1.0, 0.0, 1.0]) - 1.0).abs() < 1e-12);
        assert!((auc(&[0.1, 0.4, 0.5, 0.8], &[0.0, 1.0, 0.0, 1.0]) - 0.75).abs() < 1e-12);
        assert!((auc(&[0.5, 0.5], &[0.0, 1.0]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn learns_a_linear_function_deterministically() {
        // y = 2·x0 − x1 + 0.5 on a grid.
        let mut rng = Rng::for_row(1, 0);
        let rows = 400;
        let x: Vec<f64> = (0..rows * 2).map(|_| 2.0 * rng.uniform() - 1.0).collect();
        let y: Vec<f64> = (0..rows)
            .map(|r| 2.0 * x[2 * r] - x[2 * r + 1] + 0.5)
            .collect();
        let cfg = TrainConfig {
            task: Task::Regression,
            hidden: vec![8],
            activation: Activation::Relu,
            epochs: 60,
            batch_size: 32,
            lr: 1e-2,
            weight_decay: 0.0,
            patience: 0,
            val_split: 0.2,
            ordered_split: false,
            shuffle: true,
            standardize: true,
            bias: true,
            seed: 5,
        };
        let names = vec!["a".to_string(), "b".to_string()];
        let (net, report) = train_mlp(&x, &y, 2, names.clone(), &cfg, |_| {}).unwrap();
        assert!(report.val_metrics[0].1 < 0.1, "{:?}", report.val_metrics);
        let (net2, _) = train_mlp(&x, &y, 2, names, &cfg, |_| {}).unwrap();
        assert_eq!(net, net2, "same seed, same model");
        assert!(matches!(
            net.preprocess(),
            Some(Preprocess::Standardize { .. })
        ));
    }

    #[test]
    fn ordered_split_validates_on_the_last_rows() {
        // The last 20 % of rows are shifted by 100: only a file-order split puts all of them,
        // and nothing else, into validation.
        let rows = 500;
        let x: Vec<f64> = (0..rows).map(|r| (r % 50) as f64 / 50.0).collect();
        let y: Vec<f64> = (0..rows)
            .map(|r| x[r] + if r >= 400 { 100.0 } else { 0.0 })
            .collect();
        let mut cfg = TrainConfig {
            task: Task::Regression,
            hidden: vec![4],
            activation: Activation::Relu,
            epochs: 5,
            batch_size: 50,
            lr: 1e-2,
            weight_decay: 0.0,
            patience: 0,
            val_split: 0.2,
            ordered_split: true,
            shuffle: false,
            standardize: false,
            bias: true,
            seed: 3,
        };
        let names = vec!["a".to_string()];
        let (_, ordered) = train_mlp(&x, &y, 1, names.clone(), &cfg, |_| {}).unwrap();
        assert!(ordered.val_metrics[0].1 > 95.0, "{:?}", ordered.val_metrics);
        cfg.ordered_split = false;
        let (_, random) = train_mlp(&x, &y, 1, names, &cfg, |_| {}).unwrap();
        assert!(random.val_metrics[0].1 < 80.0, "{:?}", random.val_metrics);
    }
}
