//! Training an Attentive Mixture of Experts with the Granger-causal objective (ame.md) on
//! burn. The experts run as one batched product (`[p, B, in] × [p, in, out]`); the `p`
//! all-but-one predictors are one `[p·h, p·o]` product whose diagonal blocks are multiplied
//! by a constant 0/1 mask. The result is conflux's own [`Ame`] IR; validation runs on it.

use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, grad_clipping::GradientClippingConfig};
use burn::tensor::activation;
use burn::tensor::{Device, Tensor, TensorData};
use conflux_core::ame::granger::{DELTA, LossTerms, PROB_EPS};
use conflux_core::ame::{Ame, AmeEvaluation, AmeTask, AuxHidden, Conv2x2, Encoder, ExpertLayer};
use conflux_core::rng::Rng;
use conflux_core::{Error, FeatureGroups, Preprocess, Result};

/// The image stem: a `height × width` image, `convs` strided 2×2 convolutions (ELU); the
/// first has `hidden` channels, each further one doubles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageStem {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Number of convolutions.
    pub convs: usize,
}

/// AME training configuration (defaults in [`AmeConfig::new`]).
#[derive(Debug, Clone)]
pub struct AmeConfig {
    /// The task.
    pub task: AmeTask,
    /// Expert hidden widths (tabular experts; SELU), default `[16]`. With an image stem the
    /// first entry is the first convolution's channel count.
    pub hidden: Vec<usize>,
    /// Gate width `k`; default `min(p·(h + o), 256)`.
    pub gate_width: Option<usize>,
    /// Weight of the Granger-causal term, in `[0, 1]`.
    pub alpha: f64,
    /// Dropout on the attention weights during training.
    pub attention_dropout: f64,
    /// Maximum epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Epochs without validation improvement before stopping (0: never).
    pub patience: usize,
    /// Fraction of rows (seeded shuffle, stratified for classification) held out.
    pub val_split: f64,
    /// Standardise inputs (constant columns map to 0).
    pub standardize: bool,
    /// Image stem instead of tabular experts.
    pub image: Option<ImageStem>,
    /// Hidden width of the Granger-causal (auxiliary) predictors: small SELU MLPs over the
    /// experts' hidden states, which see interactions between groups; 0 is the paper's
    /// linear predictors. `None` (the default) picks [`AmeConfig::granger_width`]'s: 32
    /// for tabular experts — on tasks where one group switches which other group drives the
    /// label, the linear predictors' ω names the driver for 71–79 % of rows and the MLP's for
    /// 94–99 % (`bench ame-granger`, BENCHMARKS.md) — and 0 for an image stem, whose many
    /// cell experts make the p² hidden units costly (11× the training time on the MNIST
    /// benchmark) for no gain in accuracy there.
    pub granger_hidden: Option<usize>,
    /// Seed for initialisation, split, shuffling and attention dropout.
    pub seed: u64,
}

impl AmeConfig {
    /// The defaults of ame.md, except the learning rate: 1e-3 rather than the paper's 1e-4,
    /// which converges more slowly (README, "Choices to know").
    pub fn new(task: AmeTask) -> Self {
        AmeConfig {
            task,
            hidden: vec![16],
            gate_width: None,
            alpha: 0.05,
            attention_dropout: 0.2,
            epochs: 200,
            batch_size: 64,
            lr: 1e-3,
            patience: 12,
            val_split: 0.2,
            standardize: true,
            image: None,
            granger_hidden: None,
            seed: 0,
        }
    }

    /// The Granger predictors' hidden width this configuration trains: `granger_hidden`,
    /// or by default 32 for tabular experts and 0 (linear) for an image stem.
    pub fn granger_width(&self) -> usize {
        self.granger_hidden
            .unwrap_or(if self.image.is_some() { 0 } else { 32 })
    }

    /// Checks the configuration.
    ///
    /// # Errors
    /// [`Error::Param`] naming the flag.
    pub fn validate(&self) -> Result<()> {
        let err = |k: &'static str, v: f64, why: &str| Err(Error::param("train ame", k, v, why));
        if !(0.0..=1.0).contains(&self.alpha) {
            return err("alpha", self.alpha, "expected a weight in [0, 1]");
        }
        if !(0.0..1.0).contains(&self.attention_dropout) {
            return err(
                "attention-dropout",
                self.attention_dropout,
                "expected a rate in [0, 1)",
            );
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return err("epochs", 0.0, "expected epochs and batch size ≥ 1");
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return err("lr", self.lr, "expected a positive learning rate");
        }
        if !(0.0..1.0).contains(&self.val_split) {
            return err("val-split", self.val_split, "expected a fraction in [0, 1)");
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return err("hidden", 0.0, "expected positive widths");
        }
        if let AmeTask::Multiclass { classes } = self.task
            && classes < 2
        {
            return err("classes", classes as f64, "expected at least 2 classes");
        }
        if let Some(s) = self.image {
            let cell = u32::try_from(s.convs)
                .ok()
                .filter(|&c| c <= 16)
                .map_or(0, |c| 1usize << c);
            if s.convs == 0
                || cell == 0
                || s.height % cell != 0
                || s.width % cell != 0
                || s.height.checked_mul(s.width).is_none()
            {
                return err(
                    "image",
                    s.height as f64,
                    "the image sides must be divisible by 2^convs (1 ≤ convs ≤ 16)",
                );
            }
        }
        Ok(())
    }
}

/// Refuses a configuration whose parameter count (as [`Ame::param_count`] will count it)
/// exceeds the [`conflux_core::Limits`] in force, before anything is allocated for it.
fn check_size(
    cfg: &AmeConfig,
    p: usize,
    widest: usize,
    h: usize,
    o: usize,
    k: usize,
) -> Result<()> {
    let (p, widest, h, o, k) = (p as u64, widest as u64, h as u64, o as u64, k as u64);
    let mul = |xs: &[u64]| xs.iter().fold(1u64, |a, &b| a.saturating_mul(b));
    let mut total = 0u64;
    match cfg.image {
        Some(stem) => {
            // Channels start at hidden[0] and double with every 2×2 convolution.
            let (mut c_in, mut c_out) = (1u64, cfg.hidden[0] as u64);
            for _ in 0..stem.convs {
                total = total.saturating_add(mul(&[c_in, c_out, 4]).saturating_add(c_out));
                c_in = c_out;
                c_out = c_out.saturating_mul(2);
            }
        }
        None => {
            let mut w_in = widest;
            for &w in &cfg.hidden {
                let w = w as u64;
                total = total.saturating_add(mul(&[p, w_in, w]).saturating_add(mul(&[p, w])));
                w_in = w;
            }
        }
    }
    // The auxiliary predictors: linear over the hidden states, or a hidden layer of width g.
    let g = cfg.granger_width() as u64;
    let aux = if g == 0 {
        mul(&[o, p, h]).saturating_add(mul(&[p, o, p, h]))
    } else {
        mul(&[g, p, h])
            .saturating_add(mul(&[p, g, p, h]))
            .saturating_add(mul(&[p, g]))
            .saturating_add(g)
            .saturating_add(mul(&[o, g]))
            .saturating_add(mul(&[p, o, g]))
    };
    for part in [
        mul(&[p, o, h]),
        mul(&[p, o]),
        mul(&[k, p, h.saturating_add(o)]),
        k,
        mul(&[p, k]),
        o,
        mul(&[p, o]),
    ] {
        total = total.saturating_add(part);
    }
    let limits = conflux_core::Limits::current();
    limits
        .check_parameters(total)
        .map_err(|why| Error::param("train ame", "hidden", format!("{:?}", cfg.hidden), why))?;
    // What fits without the Granger predictors but not with them is their width's doing.
    limits
        .check_parameters(total.saturating_add(aux))
        .map_err(|why| Error::param("train ame", "granger-hidden", cfg.granger_width(), why))
}

/// One epoch's numbers.
#[derive(Debug, Clone, Copy)]
pub struct AmeEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (total objective, with dropout).
    pub train_loss: f64,
    /// Validation loss terms (inference mode).
    pub val: LossTerms,
}

/// What training did.
#[derive(Debug, Clone)]
pub struct AmeReport {
    /// Per-epoch numbers.
    pub epochs: Vec<AmeEpoch>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether patience ran out.
    pub stopped_early: bool,
    /// Rows used for training and for validation.
    pub rows: (usize, usize),
    /// The kept model's scores on the validation rows (none without a validation split).
    pub validation: Option<AmeEvaluation>,
}

impl AmeReport {
    /// The training record stored in the model file: the configuration that mattered, the
    /// epochs run and kept, the split and the kept model's validation scores.
    pub fn record(&self, cfg: &AmeConfig) -> serde_json::Value {
        use serde_json::{Map, json};
        json!({
            "alpha": cfg.alpha,
            "hidden": cfg.hidden,
            "granger_hidden": cfg.granger_width(),
            "attention_dropout": cfg.attention_dropout,
            "epochs_run": self.epochs.len(),
            "best_epoch": self.best_epoch,
            "lr": cfg.lr,
            "batch_size": cfg.batch_size,
            "seed": cfg.seed,
            "train_rows": self.rows.0,
            "validation_rows": self.rows.1,
            "validation": self.validation.as_ref().map(|v| json!({
                "quality": v.quality.iter().map(|(k, x)| ((*k).to_string(), json!(x))).collect::<Map<_, _>>(),
                "mge": v.mge,
                "granger_r2": v.granger_r2,
            })),
        })
    }
}

#[derive(Module, Debug)]
struct AmeNet {
    /// Tabular expert layers `[p, in, out]` and biases `[p, 1, out]`.
    experts_w: Vec<Param<Tensor<3>>>,
    experts_b: Vec<Param<Tensor<3>>>,
    /// Image stem: `[4·c_in, c_out]` (rows ordered dy, dx, c_in) and `[c_out]`.
    conv_w: Vec<Param<Tensor<2>>>,
    conv_b: Vec<Param<Tensor<1>>>,
    out_w: Param<Tensor<3>>,
    out_b: Param<Tensor<3>>,
    gate_w: Param<Tensor<2>>,
    gate_b: Param<Tensor<1>>,
    ctx_v: Param<Tensor<2>>,
    ctx_g: Param<Tensor<1>>,
    aux_all_w: Param<Tensor<2>>,
    aux_all_b: Param<Tensor<1>>,
    /// Output layers of the auxiliary predictors: `[p·h, o]` and `[p·h, p·o]` (linear), or
    /// `[g, o]` and `[p·g, o]` (predictor i's rows i·g.. over its own hidden units).
    aux_minus_w: Param<Tensor<2>>,
    aux_minus_b: Param<Tensor<1>>,
    /// Hidden layers of the auxiliary predictors (`--granger-hidden`).
    aux_hidden: Option<AuxNet>,
}

/// The auxiliary predictors' hidden layers: `[p·h, g]`, `[g]` (all features) and
/// `[p·h, p·g]` masked, `[p·g]` (the p all-but-one predictors).
#[derive(Module, Debug)]
struct AuxNet {
    all_w: Param<Tensor<2>>,
    all_b: Param<Tensor<1>>,
    minus_w: Param<Tensor<2>>,
    minus_b: Param<Tensor<1>>,
}

/// Fixed shapes and constants of one model.
struct Shapes {
    task: AmeTask,
    p: usize,
    h: usize,
    o: usize,
    /// Widest group (tabular input width).
    g_max: usize,
    image: Option<ImageStem>,
    /// The constant 0/1 mask of the stacked all-but-one predictors (built once): on their
    /// output weights (linear) or on their hidden layer (width `g`).
    minus_mask: Tensor<2>,
    /// The auxiliary predictors' hidden width (0: linear).
    g: usize,
}

impl Shapes {
    #[allow(clippy::too_many_arguments)]
    fn new(
        task: AmeTask,
        p: usize,
        h: usize,
        o: usize,
        g_max: usize,
        image: Option<ImageStem>,
        g: usize,
        device: &Device,
    ) -> Self {
        Shapes {
            task,
            p,
            h,
            o,
            g_max,
            image,
            minus_mask: block_mask(p, h, if g == 0 { o } else { g }, device),
            g,
        }
    }
}

/// Everything one forward pass produces that the loss needs.
struct Pass {
    a: Tensor<2>,
    y: Tensor<3>,
    c: Tensor<3>,
    all: Tensor<3>,
    minus: Tensor<3>,
}

fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (bound * (2.0 * rng.uniform() - 1.0)) as f32)
        .collect()
}

fn param<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device))
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .expect("f32 parameters")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Applies the task's output function along the last axis of `[.., .., o]`.
fn out_fn(task: AmeTask, t: Tensor<3>) -> Tensor<3> {
    match task {
        AmeTask::Regression => t,
        AmeTask::Binary => activation::sigmoid(t),
        AmeTask::Multiclass { .. } => activation::softmax(t, 2),
    }
}

/// Per-sample losses of predictions `[B, m, o]` against targets `[B, 1, o]` (value, 0/1, or
/// one-hot): `[B, m]`. `absolute` picks MAE over MSE for regression (the auxiliary loss).
fn per_sample(task: AmeTask, pred: Tensor<3>, t: Tensor<3>, absolute: bool) -> Tensor<2> {
    let [b, m, _] = pred.dims();
    let l = match task {
        AmeTask::Regression if absolute => (pred - t).abs(),
        AmeTask::Regression => (pred - t).powi_scalar(2),
        AmeTask::Binary => {
            let p = pred.clamp(PROB_EPS, 1.0 - PROB_EPS);
            (t.clone() * p.clone().log() + t.neg().add_scalar(1.0) * p.neg().add_scalar(1.0).log())
                .neg()
        }
        AmeTask::Multiclass { .. } => (t * pred.clamp(PROB_EPS, 1.0 - PROB_EPS).log()).neg(),
    };
    l.sum_dim(2).reshape([b, m])
}

impl AmeNet {
    fn init(s: &Shapes, cfg: &AmeConfig, k: usize, rng: &mut Rng, device: &Device) -> Self {
        let (p, h, o) = (s.p, s.h, s.o);
        let (mut experts_w, mut experts_b, mut conv_w, mut conv_b) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        match s.image {
            None => {
                let mut width = s.g_max;
                for &n in &cfg.hidden {
                    let bound = 1.0 / (width as f64).sqrt();
                    experts_w.push(param(
                        uniform(rng, p * width * n, bound),
                        [p, width, n],
                        device,
                    ));
                    experts_b.push(param(uniform(rng, p * n, bound), [p, 1, n], device));
                    width = n;
                }
            }
            Some(stem) => {
                let mut c_in = 1;
                for l in 0..stem.convs {
                    let c_out = cfg.hidden[0] << l;
                    let bound = 1.0 / ((4 * c_in) as f64).sqrt();
                    conv_w.push(param(
                        uniform(rng, 4 * c_in * c_out, bound),
                        [4 * c_in, c_out],
                        device,
                    ));
                    conv_b.push(param(uniform(rng, c_out, bound), [c_out], device));
                    c_in = c_out;
                }
            }
        }
        let bh = 1.0 / (h as f64).sqrt();
        let bg = 1.0 / ((p * (h + o)) as f64).sqrt();
        let bk = 1.0 / (k as f64).sqrt();
        let ba = 1.0 / ((p * h) as f64).sqrt();
        // Auxiliary predictors: linear over the hidden states, or a hidden layer of width g
        // whose units the output layers read (predictor i only its own).
        let g = s.g;
        let aux_hidden = (g > 0).then(|| AuxNet {
            all_w: param(uniform(rng, p * h * g, ba), [p * h, g], device),
            all_b: param(uniform(rng, g, ba), [g], device),
            minus_w: param(uniform(rng, p * h * p * g, ba), [p * h, p * g], device),
            minus_b: param(uniform(rng, p * g, ba), [p * g], device),
        });
        let (reads, minus_rows, minus_cols, bo) = if g == 0 {
            (p * h, p * h, p, ba)
        } else {
            (g, p * g, 1, 1.0 / (g as f64).sqrt())
        };
        let ctx = uniform(rng, k * p, bk);
        // Weight normalisation starts at g = ‖v‖ (so u = v).
        let norms: Vec<f32> = (0..p)
            .map(|i| (0..k).map(|r| ctx[r * p + i].powi(2)).sum::<f32>().sqrt())
            .collect();
        AmeNet {
            experts_w,
            experts_b,
            conv_w,
            conv_b,
            out_w: param(uniform(rng, p * h * o, bh), [p, h, o], device),
            out_b: param(uniform(rng, p * o, bh), [p, 1, o], device),
            gate_w: param(uniform(rng, p * (h + o) * k, bg), [p * (h + o), k], device),
            gate_b: param(uniform(rng, k, bg), [k], device),
            ctx_v: param(ctx, [k, p], device),
            ctx_g: param(norms, [p], device),
            aux_all_w: param(uniform(rng, reads * o, bo), [reads, o], device),
            aux_all_b: param(uniform(rng, o, bo), [o], device),
            aux_minus_w: param(
                uniform(rng, minus_rows * o * minus_cols, bo),
                [minus_rows, o * minus_cols],
                device,
            ),
            aux_minus_b: param(uniform(rng, p * o, bo), [p * o], device),
            aux_hidden,
        }
    }

    /// Hidden states `[p, B, h]`: `x` is `[p, B, g_max]` (tabular) or `[B, d]` (image).
    fn encode(&self, s: &Shapes, x: Tensor<3>) -> Tensor<3> {
        match s.image {
            None => {
                let mut t = x;
                for (w, b) in self.experts_w.iter().zip(&self.experts_b) {
                    t = activation::selu(t.matmul(w.val()) + b.val());
                }
                t
            }
            Some(stem) => {
                let [_, bsz, _] = x.dims();
                let (mut ih, mut iw, mut ch) = (stem.height, stem.width, 1);
                let mut t: Tensor<2> = x.reshape([bsz * ih * iw, 1]);
                for (w, b) in self.conv_w.iter().zip(&self.conv_b) {
                    let (oh, ow) = (ih / 2, iw / 2);
                    let blocks: Tensor<6> = t.reshape([bsz, oh, 2, ow, 2, ch]);
                    let patches: Tensor<2> = blocks
                        .permute([0, 1, 3, 2, 4, 5])
                        .reshape([bsz * oh * ow, 4 * ch]);
                    let c_out = b.val().dims()[0];
                    t = activation::elu(patches.matmul(w.val()) + b.val().unsqueeze::<2>(), 1.0);
                    (ih, iw, ch) = (oh, ow, c_out);
                }
                t.reshape([bsz, ih * iw, ch]).swap_dims(0, 1)
            }
        }
    }

    fn forward(&self, s: &Shapes, x: Tensor<3>, drop: Option<Tensor<2>>) -> Pass {
        let (p, h, o) = (s.p, s.h, s.o);
        let hid = self.encode(s, x); // [p, B, h]
        let bsz = hid.dims()[1];
        let c = out_fn(
            s.task,
            hid.clone().matmul(self.out_w.val()) + self.out_b.val(),
        ); // [p,B,o]
        let h_all: Tensor<2> = Tensor::cat(vec![hid.clone(), c.clone()], 2)
            .swap_dims(0, 1)
            .reshape([bsz, p * (h + o)]);
        let z = activation::tanh(h_all.matmul(self.gate_w.val()) + self.gate_b.val().unsqueeze());
        let v = self.ctx_v.val();
        let norm = v.clone().powi_scalar(2).sum_dim(0).sqrt(); // [1, p]
        let u = v / norm * self.ctx_g.val().unsqueeze::<2>();
        let a = activation::softmax(z.matmul(u), 1); // [B, p]
        let mix = match drop {
            Some(mask) => {
                let kept = a.clone() * mask;
                kept.clone() / kept.sum_dim(1).add_scalar(1e-12)
            }
            None => a.clone(),
        };
        let c_b = c.swap_dims(0, 1); // [B, p, o]
        let y = (mix.unsqueeze_dim::<3>(2) * c_b.clone()).sum_dim(1); // [B, 1, o]
        let h_cat: Tensor<2> = hid.swap_dims(0, 1).reshape([bsz, p * h]);
        let (all, minus) = match &self.aux_hidden {
            None => (
                (h_cat.clone().matmul(self.aux_all_w.val()) + self.aux_all_b.val().unsqueeze())
                    .reshape([bsz, 1, o]),
                (h_cat.matmul(self.aux_minus_w.val() * s.minus_mask.clone())
                    + self.aux_minus_b.val().unsqueeze())
                .reshape([bsz, p, o]),
            ),
            Some(a) => {
                let g = s.g;
                let u = activation::selu(
                    h_cat.clone().matmul(a.all_w.val()) + a.all_b.val().unsqueeze(),
                );
                let all = (u.matmul(self.aux_all_w.val()) + self.aux_all_b.val().unsqueeze())
                    .reshape([bsz, 1, o]);
                // The p predictors' own hidden units, then a grouped product: [p, B, g]·[p, g, o].
                let um = activation::selu(
                    h_cat.matmul(a.minus_w.val() * s.minus_mask.clone())
                        + a.minus_b.val().unsqueeze(),
                );
                let um: Tensor<3> = um.reshape([bsz, p, g]).swap_dims(0, 1);
                let w2: Tensor<3> = self.aux_minus_w.val().reshape([p, g, o]);
                let minus =
                    um.matmul(w2).swap_dims(0, 1) + self.aux_minus_b.val().reshape([1, p, o]);
                (all, minus)
            }
        };
        let (all, minus) = (out_fn(s.task, all), out_fn(s.task, minus));
        Pass {
            a,
            y,
            c: c_b,
            all,
            minus,
        }
    }

    /// The objective of ame.md (mean over the batch): `(1 − α)·main + α·KL(ω‖a) + rep`.
    fn loss(task: AmeTask, pass: Pass, t: Tensor<3>, alpha: f64) -> Tensor<1> {
        Self::loss_with(task, pass, t, alpha, None)
    }

    /// [`AmeNet::loss`], optionally with `ω` given from outside (tests).
    fn loss_with(
        task: AmeTask,
        pass: Pass,
        t: Tensor<3>,
        alpha: f64,
        given_omega: Option<Tensor<2>>,
    ) -> Tensor<1> {
        let omega = given_omega.unwrap_or_else(|| Self::omega(task, &pass, t.clone()));
        let omega = omega.clamp(DELTA, 1.0);
        let a = pass.a.clamp(DELTA, 1.0);
        let kl = (omega.clone() * (omega.log() - a.log())).sum_dim(1).mean();
        let main = per_sample(task, pass.y, t.clone(), false).mean();
        let rep = per_sample(task, pass.c, t.clone(), false).sum_dim(1).mean()
            + per_sample(task, pass.minus, t.clone(), false)
                .sum_dim(1)
                .mean()
            + per_sample(task, pass.all, t, false).mean();
        main.mul_scalar(1.0 - alpha) + kl.mul_scalar(alpha) + rep
    }

    /// The Granger-causal target `ω` `[B, p]`, detached: no gradient flows through it.
    fn omega(task: AmeTask, pass: &Pass, t: Tensor<3>) -> Tensor<2> {
        let eps_all = per_sample(task, pass.all.clone(), t.clone(), true); // [B, 1]
        let eps_minus = per_sample(task, pass.minus.clone(), t, true); // [B, p]
        let delta = (eps_minus - eps_all).clamp_min(DELTA);
        (delta.clone() / delta.sum_dim(1)).detach()
    }

    /// conflux's IR of the current weights.
    fn to_ame(
        &self,
        s: &Shapes,
        features: &[String],
        groups: &FeatureGroups,
        preprocess: Option<Preprocess>,
    ) -> Ame {
        let (p, h, o) = (s.p, s.h, s.o);
        let encoder = match s.image {
            None => {
                let mut layers = Vec::new();
                let mut width = s.g_max;
                for (li, (w, b)) in self.experts_w.iter().zip(&self.experts_b).enumerate() {
                    let n = b.val().dims()[2];
                    let wv = to_vec(w.val()); // [p, in, out]
                    let mut wt = vec![0.0; p * n * width];
                    for g in 0..p {
                        // Padding inputs of smaller groups are always zero: drop their weights.
                        let used = if li == 0 {
                            groups.members(g).len()
                        } else {
                            width
                        };
                        for i in 0..used {
                            for j in 0..n {
                                wt[(g * n + j) * width + i] = wv[(g * width + i) * n + j];
                            }
                        }
                    }
                    layers.push(ExpertLayer {
                        inputs: width,
                        outputs: n,
                        w: wt,
                        b: to_vec(b.val()),
                    });
                    width = n;
                }
                Encoder::Tabular { layers }
            }
            Some(stem) => {
                let mut convs = Vec::new();
                let mut c_in = 1;
                for (w, b) in self.conv_w.iter().zip(&self.conv_b) {
                    let c_out = b.val().dims()[0];
                    let wv = to_vec(w.val()); // [(dy·2 + dx)·c_in + ci, co]
                    let mut wt = vec![0.0; c_out * c_in * 4];
                    for co in 0..c_out {
                        for ci in 0..c_in {
                            for q in 0..4 {
                                wt[(co * c_in + ci) * 4 + q] = wv[(q * c_in + ci) * c_out + co];
                            }
                        }
                    }
                    convs.push(Conv2x2 {
                        c_in,
                        c_out,
                        w: wt,
                        b: to_vec(b.val()),
                    });
                    c_in = c_out;
                }
                Encoder::Image {
                    height: stem.height,
                    width: stem.width,
                    convs,
                }
            }
        };
        let k = self.gate_b.val().dims()[0];
        let transpose = |v: Vec<f64>, rows: usize, cols: usize| -> Vec<f64> {
            let mut t = vec![0.0; rows * cols];
            for r in 0..rows {
                for c in 0..cols {
                    t[c * rows + r] = v[r * cols + c];
                }
            }
            t
        };
        let out_w3 = to_vec(self.out_w.val()); // [p, h, o]
        let mut out_w = vec![0.0; p * o * h];
        for g in 0..p {
            for i in 0..h {
                for j in 0..o {
                    out_w[(g * o + j) * h + i] = out_w3[(g * h + i) * o + j];
                }
            }
        }
        let v = to_vec(self.ctx_v.val()); // [k, p]
        let g = to_vec(self.ctx_g.val());
        let mut context = vec![0.0; p * k];
        for i in 0..p {
            let norm = (0..k).map(|r| v[r * p + i].powi(2)).sum::<f64>().sqrt();
            for r in 0..k {
                context[i * k + r] = g[i] * v[r * p + i] / norm;
            }
        }
        let g = s.g;
        let (aux_all_w, aux_minus_w, aux_hidden) = match &self.aux_hidden {
            None => {
                let mut w = transpose(to_vec(self.aux_minus_w.val()), p * h, p * o);
                for i in 0..p {
                    for j in 0..o {
                        w[(i * o + j) * p * h + i * h..][..h].fill(0.0);
                    }
                }
                (transpose(to_vec(self.aux_all_w.val()), p * h, o), w, None)
            }
            Some(a) => {
                let mut minus_w = transpose(to_vec(a.minus_w.val()), p * h, p * g);
                for i in 0..p {
                    for u in 0..g {
                        minus_w[(i * g + u) * p * h + i * h..][..h].fill(0.0);
                    }
                }
                // [p·g, o] (predictor i's rows i·g..) → [p·o, g].
                let w2 = to_vec(self.aux_minus_w.val());
                let mut out = vec![0.0; p * o * g];
                for i in 0..p {
                    for u in 0..g {
                        for j in 0..o {
                            out[(i * o + j) * g + u] = w2[(i * g + u) * o + j];
                        }
                    }
                }
                let hidden = AuxHidden {
                    width: g,
                    all_w: transpose(to_vec(a.all_w.val()), p * h, g),
                    all_b: to_vec(a.all_b.val()),
                    minus_w,
                    minus_b: to_vec(a.minus_b.val()),
                };
                (
                    transpose(to_vec(self.aux_all_w.val()), g, o),
                    out,
                    Some(hidden),
                )
            }
        };
        Ame {
            task: s.task,
            features: features.to_vec(),
            groups: groups.clone(),
            preprocess,
            encoder,
            out_w,
            out_b: to_vec(self.out_b.val()),
            gate_w: transpose(to_vec(self.gate_w.val()), p * (h + o), k),
            gate_b: to_vec(self.gate_b.val()),
            context,
            aux_all_w,
            aux_all_b: to_vec(self.aux_all_b.val()),
            aux_minus_w,
            aux_minus_b: to_vec(self.aux_minus_b.val()),
            aux_hidden,
        }
    }
}

/// Maps a regression AME trained on `(y − mean)/sd` to label units: every output that
/// predicts the label (`c_i`, `ŷ_all`, `ŷ_−i`) becomes `sd·v + mean`; `y = Σ a_i c_i` follows
/// because the attention sums to 1. The gate reads `c_i`, so its weights on `c_i` are divided
/// by `sd` and its bias corrected, leaving the attention unchanged.
fn fold_label_scale(ame: &mut Ame, mean: f64, sd: f64) {
    let (p, h, k) = (ame.experts(), ame.hidden(), ame.gate_width());
    for v in ame
        .out_w
        .iter_mut()
        .chain(&mut ame.aux_all_w)
        .chain(&mut ame.aux_minus_w)
    {
        *v *= sd;
    }
    for v in ame
        .out_b
        .iter_mut()
        .chain(&mut ame.aux_all_b)
        .chain(&mut ame.aux_minus_b)
    {
        *v = sd * *v + mean;
    }
    // Gate input c' = sd·c + mean: W_c·c = (W_c/sd)·c' − W_c·mean/sd.
    let width = p * (h + 1);
    for r in 0..k {
        for g in 0..p {
            let w = &mut ame.gate_w[r * width + g * (h + 1) + h];
            ame.gate_b[r] -= *w * mean / sd;
            *w /= sd;
        }
    }
}

/// The 0/1 mask of the stacked all-but-one predictors: block `(i, i)` (predictor `i`'s
/// weights on expert `i`'s hidden state) is 0.
fn block_mask(p: usize, h: usize, o: usize, device: &Device) -> Tensor<2> {
    let mut m = vec![1.0f32; p * h * p * o];
    for i in 0..p {
        for r in i * h..(i + 1) * h {
            m[r * p * o + i * o..][..o].fill(0.0);
        }
    }
    Tensor::from_data(TensorData::new(m, [p * h, p * o]), device)
}

/// Scaler from the training rows; constant columns get std 1 (so they map to 0).
fn standardizer(x: &[f64], d: usize, rows: &[usize]) -> Preprocess {
    let n = rows.len().max(1) as f64;
    let mean: Vec<f64> = (0..d)
        .map(|f| rows.iter().map(|&r| x[r * d + f]).sum::<f64>() / n)
        .collect();
    let std: Vec<f64> = (0..d)
        .map(|f| {
            let s = (rows
                .iter()
                .map(|&r| (x[r * d + f] - mean[f]).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            if s > 0.0 { s } else { 1.0 }
        })
        .collect();
    Preprocess::Standardize { mean, std }
}

/// Seeded split of row indices into `(kept, held_out)` with `frac` of the rows held out;
/// stratified by label (each class split in the same proportion) for classification.
pub fn stratified_split(
    labels: &[f64],
    frac: f64,
    classify: bool,
    rng: &mut Rng,
) -> (Vec<usize>, Vec<usize>) {
    let mut strata: Vec<Vec<usize>> = Vec::new();
    if classify {
        let mut keys: Vec<i64> = labels.iter().map(|&v| v as i64).collect();
        keys.sort_unstable();
        keys.dedup();
        strata = keys
            .iter()
            .map(|&k| {
                (0..labels.len())
                    .filter(|&r| labels[r] as i64 == k)
                    .collect()
            })
            .collect();
    } else {
        strata.push((0..labels.len()).collect());
    }
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut s in strata {
        rng.shuffle(&mut s);
        let n_val = (s.len() as f64 * frac).round() as usize;
        val.extend_from_slice(&s[..n_val]);
        train.extend_from_slice(&s[n_val..]);
    }
    (train, val)
}

/// Host-side batch tensors: inputs (`[p, B, g_max]` or `[1, B, d]`) and targets `[B, 1, o]`.
fn batch_tensors(
    s: &Shapes,
    groups: &FeatureGroups,
    x: &[f64],
    d: usize,
    labels: &[f64],
    rows: &[usize],
    device: &Device,
) -> (Tensor<3>, Tensor<3>) {
    let b = rows.len();
    let xt = match s.image {
        None => {
            let mut v = vec![0.0f32; s.p * b * s.g_max];
            for g in 0..s.p {
                for (bi, &r) in rows.iter().enumerate() {
                    for (slot, &f) in groups.members(g).iter().enumerate() {
                        v[(g * b + bi) * s.g_max + slot] = x[r * d + f] as f32;
                    }
                }
            }
            Tensor::from_data(TensorData::new(v, [s.p, b, s.g_max]), device)
        }
        Some(_) => {
            let v: Vec<f32> = rows
                .iter()
                .flat_map(|&r| x[r * d..(r + 1) * d].iter().map(|&v| v as f32))
                .collect();
            Tensor::from_data(TensorData::new(v, [1, b, d]), device)
        }
    };
    let mut t = vec![0.0f32; b * s.o];
    for (bi, &r) in rows.iter().enumerate() {
        match s.task {
            AmeTask::Multiclass { .. } => t[bi * s.o + labels[r] as usize] = 1.0,
            _ => t[bi] = labels[r] as f32,
        }
    }
    (
        xt,
        Tensor::from_data(TensorData::new(t, [b, 1, s.o]), device),
    )
}

/// Checks labels against the task (that a classification task sees two classes is
/// [`crate::check_training_data`]'s).
fn check_labels(task: AmeTask, labels: &[f64]) -> Result<()> {
    task.check_labels(labels).map_err(|(i, expected)| {
        Error::param(
            "train ame",
            "label",
            labels[i],
            format!(
                "data row {}: expected {expected} for a {} task",
                i + 1,
                task.name()
            ),
        )
    })
}

/// Trains an AME on `x` (`[rows, d]`, raw units) and `labels`, with the experts over
/// `groups` (ignored with an image stem, whose experts are the grid cells), calling
/// `progress` after every epoch.
///
/// # Errors
/// [`Error::Param`] for a bad configuration, labels that do not fit the task, or too few rows.
pub fn train_ame(
    x: &[f64],
    labels: &[f64],
    features: Vec<String>,
    groups: Option<FeatureGroups>,
    cfg: &AmeConfig,
    mut progress: impl FnMut(&AmeEpoch),
) -> Result<(Ame, AmeReport)> {
    cfg.validate()?;
    let d = features.len();
    crate::check_training_data(
        "train ame",
        x,
        labels,
        &features,
        cfg.task.is_classification(),
    )?;
    check_labels(cfg.task, labels)?;
    let groups = match cfg.image {
        Some(stem) => {
            if stem.height * stem.width != d {
                return Err(Error::param(
                    "train ame",
                    "image",
                    format!("{}x{}", stem.height, stem.width),
                    format!("the data has {d} feature columns"),
                ));
            }
            Ame::image_groups(stem.height, stem.width, 1 << stem.convs)
        }
        None => groups.unwrap_or_else(|| FeatureGroups::singletons(&features)),
    };
    let p = groups.len();
    let o = cfg.task.outputs();
    let h = match cfg.image {
        Some(stem) => cfg.hidden[0].saturating_mul(1 << (stem.convs - 1)),
        None => *cfg.hidden.last().expect("validated non-empty"),
    };
    let widest = (0..p).map(|g| groups.members(g).len()).max().unwrap_or(1);
    let k = cfg
        .gate_width
        .unwrap_or(p.saturating_mul(h.saturating_add(o)).min(256));
    check_size(cfg, p, widest, h, o, k)?;
    let device = Device::flex().autodiff();
    let shapes = Shapes::new(
        cfg.task,
        p,
        h,
        o,
        (0..p).map(|g| groups.members(g).len()).max().unwrap_or(1),
        cfg.image,
        cfg.granger_width(),
        &device,
    );
    let mut rng = Rng::for_row(cfg.seed, usize::MAX - 2);
    let (train, val) = stratified_split(
        labels,
        cfg.val_split,
        cfg.task.is_classification(),
        &mut rng,
    );
    if train.len() < 2 || (cfg.val_split > 0.0 && val.is_empty()) {
        return Err(Error::param(
            "train ame",
            "rows",
            labels.len(),
            "too few rows for a training and a validation split",
        ));
    }
    let preprocess = cfg.standardize.then(|| standardizer(x, d, &train));
    let mut xs = x.to_vec();
    if let Some(pre) = &preprocess {
        pre.apply(&mut xs);
    }
    // Regression labels are standardised for training so that the MSE terms and the KL term
    // are on comparable scales (otherwise α's effect depends on the label's units); the
    // affine map is folded into the output layers of the saved model (exact, as Σ a = 1).
    let label_scale = (cfg.task == AmeTask::Regression && cfg.standardize).then(|| {
        let n = train.len() as f64;
        let mean = train.iter().map(|&r| labels[r]).sum::<f64>() / n;
        let sd = (train
            .iter()
            .map(|&r| (labels[r] - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        (mean, if sd > 0.0 { sd } else { 1.0 })
    });
    let scaled: Vec<f64>;
    let labels_raw = labels;
    let labels: &[f64] = match label_scale {
        Some((m, s)) => {
            scaled = labels.iter().map(|v| (v - m) / s).collect();
            &scaled
        }
        None => labels,
    };
    let val_rows = if val.is_empty() { &train } else { &val };
    let x_val: Vec<f64> = val_rows
        .iter()
        .flat_map(|&r| xs[r * d..(r + 1) * d].iter().copied())
        .collect();
    let y_val: Vec<f64> = val_rows.iter().map(|&r| labels[r]).collect();
    let mut model = AmeNet::init(&shapes, cfg, k, &mut rng, &device);
    let mut optim = AdamConfig::new()
        .with_epsilon(1e-8)
        .with_grad_clipping(
            (cfg.task == AmeTask::Regression).then_some(GradientClippingConfig::Value(100.0)),
        )
        .init();
    let mut report = AmeReport {
        epochs: Vec::new(),
        best_epoch: 0,
        stopped_early: false,
        rows: (train.len(), val.len()),
        validation: None,
    };
    let mut stopper = crate::early_stop::EarlyStopping::new(cfg.patience);
    let mut order = train.clone();
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for batch in order.chunks(cfg.batch_size) {
            let (xt, tt) = batch_tensors(&shapes, &groups, &xs, d, labels, batch, &device);
            let drop = (cfg.attention_dropout > 0.0).then(|| {
                let keep: Vec<f32> = (0..batch.len() * p)
                    .map(|_| f32::from(u8::from(rng.uniform() >= cfg.attention_dropout)))
                    .collect();
                Tensor::from_data(TensorData::new(keep, [batch.len(), p]), &device)
            });
            let pass = model.forward(&shapes, xt, drop);
            let l = AmeNet::loss(cfg.task, pass, tt, cfg.alpha);
            total += to_vec(l.clone())[0] * batch.len() as f64;
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(cfg.lr, model, grads);
        }
        let ame = model.to_ame(&shapes, &features, &groups, preprocess.clone());
        let (terms, _, _) = ame.loss_terms(&x_val, &y_val, cfg.alpha);
        let e = AmeEpoch {
            epoch,
            train_loss: total / train.len() as f64,
            val: terms,
        };
        progress(&e);
        report.epochs.push(e);
        if !terms.total.is_finite() {
            return Err(Error::param(
                "train ame",
                "lr",
                cfg.lr,
                format!("training diverged at epoch {epoch} (validation loss not finite)"),
            ));
        }
        // Early stopping watches what the model is for — its prediction and its agreement
        // with ω, (1 − α)·main + α·MGE — not the auxiliary predictors' own losses, which only
        // serve to measure ω (large Granger predictors overfit long before the model does).
        if stopper.observe(epoch, terms.total - terms.rep, ame) {
            report.stopped_early = epoch < cfg.epochs;
            break;
        }
    }
    let (mut ame, best_epoch) = stopper.best();
    report.best_epoch = best_epoch;
    if let Some((m, s)) = label_scale {
        fold_label_scale(&mut ame, m, s);
    }
    if !val.is_empty() {
        let y_raw: Vec<f64> = val.iter().map(|&r| labels_raw[r]).collect();
        report.validation = Some(ame.evaluate(&x_val, &y_raw));
    }
    Ok((ame, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny model's burn forward and loss equal conflux's IR forward and f64 loss terms.
    fn differential(
        task: AmeTask,
        image: Option<ImageStem>,
        d: usize,
        groups: Option<Vec<Vec<usize>>>,
        granger_hidden: usize,
    ) {
        let names: Vec<String> = (0..d).map(|i| format!("f{i}")).collect();
        let groups = match (image, groups) {
            (Some(s), _) => Ame::image_groups(s.height, s.width, 1 << s.convs),
            (None, Some(g)) => FeatureGroups::new(
                d,
                g.into_iter()
                    .enumerate()
                    .map(|(i, m)| (format!("g{i}"), m))
                    .collect(),
            )
            .unwrap(),
            (None, None) => FeatureGroups::singletons(&names),
        };
        let mut cfg = AmeConfig::new(task);
        cfg.hidden = vec![3, 4];
        cfg.image = image;
        if image.is_some() {
            cfg.hidden = vec![2];
        }
        cfg.granger_hidden = Some(granger_hidden);
        let p = groups.len();
        let o = task.outputs();
        let h = match image {
            Some(s) => 2 << (s.convs - 1),
            None => 4,
        };
        let device = Device::flex();
        let shapes = Shapes::new(
            task,
            p,
            h,
            o,
            (0..p).map(|g| groups.members(g).len()).max().unwrap(),
            image,
            granger_hidden,
            &device,
        );
        let mut rng = Rng::for_row(7, 0);
        let net = AmeNet::init(&shapes, &cfg, 5, &mut rng, &device);
        let rows = 6;
        let x: Vec<f64> = (0..rows * d).map(|_| rng.normal()).collect();
        let labels: Vec<f64> = (0..rows)
            .map(|r| match task {
                AmeTask::Regression => x[r * d],
                AmeTask::Binary => (r % 2) as f64,
                AmeTask::Multiclass { classes } => (r % classes) as f64,
            })
            .collect();
        let all: Vec<usize> = (0..rows).collect();
        let (xt, tt) = batch_tensors(&shapes, &groups, &x, d, &labels, &all, &device);
        let pass = net.forward(&shapes, xt, None);
        let a_burn = to_vec(pass.a.clone());
        let y_burn = to_vec(pass.y.clone());
        let (all_burn, minus_burn) = (to_vec(pass.all.clone()), to_vec(pass.minus.clone()));
        let alpha = 0.3;
        let loss_burn = to_vec(AmeNet::loss(task, pass, tt, alpha))[0];
        let ame = net.to_ame(&shapes, &names, &groups, None);
        ame.validate().unwrap();
        let (terms, fwd, _) = ame.loss_terms(&x, &labels, alpha);
        for (u, v) in fwd.a.iter().zip(&a_burn) {
            assert!((u - v).abs() < 1e-5, "attention {u} vs {v}");
        }
        for (u, v) in fwd.y.iter().zip(&y_burn) {
            assert!(
                (u - v).abs() < 1e-5 * (1.0 + v.abs()),
                "prediction {u} vs {v}"
            );
        }
        assert!(
            (terms.total - loss_burn).abs() < 1e-4 * (1.0 + loss_burn.abs()),
            "loss {} vs {loss_burn}",
            terms.total
        );
        for row in fwd.a.chunks_exact(p) {
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // The auxiliary predictors themselves, element by element ([rows, o] and [rows, p, o]).
        let aux = ame.auxiliary(&fwd);
        for (name, core, burn) in [
            ("all", &aux.all, &all_burn),
            ("minus", &aux.minus, &minus_burn),
        ] {
            assert_eq!(core.len(), burn.len(), "{name}");
            for (u, v) in core.iter().zip(burn.iter()) {
                assert!((u - v).abs() < 1e-5 * (1.0 + v.abs()), "{name}: {u} vs {v}");
            }
        }
        if task == AmeTask::Regression {
            // Folding a label scale into the weights is exact.
            let mut folded = ame.clone();
            fold_label_scale(&mut folded, 3.0, 0.5);
            let f2 = folded.forward(&x, rows);
            for (u, v) in f2.a.iter().zip(&fwd.a) {
                assert!((u - v).abs() < 1e-12, "attention moved: {u} vs {v}");
            }
            for (u, v) in f2.y.iter().zip(&fwd.y) {
                assert!((u - (0.5 * v + 3.0)).abs() < 1e-12);
            }
            let (aux1, aux2) = (ame.auxiliary(&fwd), folded.auxiliary(&f2));
            for (u, v) in aux2
                .minus
                .iter()
                .zip(&aux1.minus)
                .chain(aux2.all.iter().zip(&aux1.all))
            {
                assert!((u - (0.5 * v + 3.0)).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn burn_and_ir_agree_on_every_task() {
        // Linear (0) and non-linear (5) Granger predictors.
        for g in [0, 5] {
            differential(AmeTask::Regression, None, 4, None, g);
            differential(
                AmeTask::Binary,
                None,
                5,
                Some(vec![vec![0, 3], vec![1], vec![2, 4]]),
                g,
            );
            differential(AmeTask::Multiclass { classes: 3 }, None, 3, None, g);
            differential(
                AmeTask::Binary,
                Some(ImageStem {
                    height: 4,
                    width: 8,
                    convs: 2,
                }),
                32,
                None,
                g,
            );
        }
    }

    #[test]
    fn omega_gets_no_gradient_and_masked_blocks_stay_zero() {
        for g in [0, 4] {
            masked_blocks_get_no_gradient(g);
        }
    }

    /// With Granger predictors of hidden width `g` (0: linear).
    fn masked_blocks_get_no_gradient(granger: usize) {
        // With α = 1 and every other term's weight zero the only gradient would come through
        // a; check instead directly: the masked blocks of the all-but-one predictors get
        // exactly zero gradient from the full objective.
        let task = AmeTask::Regression;
        let d = 3;
        let names: Vec<String> = (0..d).map(|i| format!("f{i}")).collect();
        let groups = FeatureGroups::singletons(&names);
        let mut cfg = AmeConfig::new(task);
        cfg.granger_hidden = Some(granger);
        let device = Device::flex().autodiff();
        let shapes = Shapes::new(task, 3, 16, 1, 1, None, granger, &device);
        let mut rng = Rng::for_row(3, 0);
        let net = AmeNet::init(&shapes, &cfg, 8, &mut rng, &device);
        let x: Vec<f64> = (0..8 * d).map(|_| rng.normal()).collect();
        let labels: Vec<f64> = (0..8).map(|r| x[r * d] - x[r * d + 1]).collect();
        let rows: Vec<usize> = (0..8).collect();
        let (xt, tt) = batch_tensors(&shapes, &groups, &x, d, &labels, &rows, &device);
        let pass = net.forward(&shapes, xt, None);
        let l = AmeNet::loss(task, pass, tt, 0.5);
        let grads = l.backward();
        // The masked weights: the output layer's (linear) or the hidden layer's.
        let (masked, cols) = match &net.aux_hidden {
            None => (net.aux_minus_w.val(), 1),
            Some(a) => (a.minus_w.val(), granger),
        };
        let g = to_vec(masked.grad(&grads).expect("a gradient"));
        let (p, h) = (3, 16);
        for i in 0..p {
            for r in i * h..(i + 1) * h {
                for c in i * cols..(i + 1) * cols {
                    assert_eq!(
                        g[r * p * cols + c],
                        0.0,
                        "masked block ({i}, {i}) got a gradient"
                    );
                }
            }
        }
        assert!(g.iter().any(|&v| v != 0.0), "unmasked blocks learn");
        // ω enters as a constant: the same loss with ω computed separately and fed in as a
        // plain tensor (no graph) gives the same gradients everywhere.
        let (xt, tt) = batch_tensors(&shapes, &groups, &x, d, &labels, &rows, &device);
        let pass = net.forward(&shapes, xt.clone(), None);
        let omega = to_vec(AmeNet::omega(task, &pass, tt.clone()));
        let omega_const: Tensor<2> = Tensor::from_data(
            TensorData::new(omega.iter().map(|&v| v as f32).collect::<Vec<_>>(), [8, p]),
            &device,
        );
        let l2 = AmeNet::loss_with(task, pass, tt, 0.5, Some(omega_const));
        let grads2 = l2.backward();
        for (name, a, b) in [
            (
                "aux_minus_w",
                net.aux_minus_w.val().grad(&grads),
                net.aux_minus_w.val().grad(&grads2),
            ),
            (
                "aux_all_w",
                net.aux_all_w.val().grad(&grads),
                net.aux_all_w.val().grad(&grads2),
            ),
        ] {
            let (a, b) = (to_vec(a.unwrap()), to_vec(b.unwrap()));
            for (u, v) in a.iter().zip(&b) {
                assert!(
                    (u - v).abs() <= 1e-6 * (1.0 + v.abs()),
                    "{name}: {u} vs {v}"
                );
            }
        }
    }
}
