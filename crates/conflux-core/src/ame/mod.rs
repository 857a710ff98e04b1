//! Attentive Mixture of Experts (ame.md): the trained model as conflux's own IR — inference,
//! the Granger-causal quantities and the file format. Training lives in `conflux-train`;
//! nothing here depends on it.
//!
//! Shapes (row-major, f64): `p` experts, hidden width `h` (the expert's topmost
//! representation), `o` outputs (1 for regression and binary, the classes otherwise), gate
//! width `k`.

pub mod evaluate;
pub mod granger;
pub mod json;

pub use evaluate::{AmeEvaluation, AmeScorer};

use crate::data::groups::FeatureGroups;
use crate::error::{Error, Result};
use crate::float::Float;
use crate::linalg::mul_wt;
use crate::model::Predict;
use crate::net::Preprocess;

/// What an AME predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmeTask {
    /// Identity output, MSE main loss, MAE auxiliary loss.
    Regression,
    /// One sigmoid probability; binary cross-entropy.
    Binary,
    /// Softmax over `classes`; cross-entropy.
    Multiclass {
        /// Number of classes.
        classes: usize,
    },
}

impl AmeTask {
    /// The class a prediction `y` (`[o]`, after the output function) names: `y > 0.5` for
    /// binary, the arg-max for multi-class; `None` for regression.
    pub fn predicted_class(self, y: &[f64]) -> Option<usize> {
        match self {
            AmeTask::Regression => None,
            AmeTask::Binary => Some(usize::from(y[0] > 0.5)),
            AmeTask::Multiclass { .. } => Some(crate::stats::argmax(y)),
        }
    }
    /// Outputs per expert (`o`).
    pub fn outputs(self) -> usize {
        match self {
            AmeTask::Multiclass { classes } => classes,
            _ => 1,
        }
    }
    /// `true` for the classification tasks.
    pub fn is_classification(self) -> bool {
        !matches!(self, AmeTask::Regression)
    }
    /// The task's name as the CLI spells it (`regression`, `binary`, `multiclass`).
    pub fn name(self) -> &'static str {
        match self {
            AmeTask::Regression => "regression",
            AmeTask::Binary => "binary",
            AmeTask::Multiclass { .. } => "multiclass",
        }
    }
    /// Checks labels against the task: `Err((index, expected))` for the first label that
    /// does not fit (a finite number, 0 or 1, or a class `0..classes`).
    pub fn check_labels(self, labels: &[f64]) -> std::result::Result<(), (usize, String)> {
        let fits = |l: f64| match self {
            AmeTask::Regression => l.is_finite(),
            AmeTask::Binary => l == 0.0 || l == 1.0,
            AmeTask::Multiclass { classes } => {
                l >= 0.0 && l.fract() == 0.0 && (l as usize) < classes
            }
        };
        match labels.iter().position(|&l| !fits(l)) {
            None => Ok(()),
            Some(i) => Err((
                i,
                match self {
                    AmeTask::Regression => "a finite number".to_string(),
                    AmeTask::Binary => "0 or 1".to_string(),
                    AmeTask::Multiclass { classes } => format!("a class 0..{}", classes - 1),
                },
            )),
        }
    }
    /// Applies the task's output function `out` to one row of `o` pre-activations.
    pub fn out(self, row: &mut [f64]) {
        match self {
            AmeTask::Regression => {}
            AmeTask::Binary => row[0] = sigmoid(row[0]),
            AmeTask::Multiclass { .. } => {
                let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for v in row.iter_mut() {
                    *v = (*v - m).exp();
                    s += *v;
                }
                for v in row.iter_mut() {
                    *v /= s;
                }
            }
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// SELU, the experts' default activation (PyTorch's constants).
pub fn selu(z: f64) -> f64 {
    const ALPHA: f64 = 1.673_263_242_354_377_3;
    const SCALE: f64 = 1.050_700_987_355_480_5;
    if z > 0.0 {
        SCALE * z
    } else {
        SCALE * ALPHA * z.exp_m1()
    }
}

/// ELU with α = 1, the image stem's activation.
pub fn elu(z: f64) -> f64 {
    if z > 0.0 { z } else { z.exp_m1() }
}

/// One layer of all experts at once: `w` is `[p, out, in]`, `b` is `[p, out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertLayer {
    /// Input width (for the first layer: the largest group; smaller groups are zero-padded).
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// Weights `[p, out, in]`.
    pub w: Vec<f64>,
    /// Biases `[p, out]`.
    pub b: Vec<f64>,
}

/// A 2×2, stride-2 convolution: `w` is `[c_out, c_in, 2, 2]` (PyTorch's layout), `b` `[c_out]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2x2 {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Weights `[c_out, c_in, 2, 2]`.
    pub w: Vec<f64>,
    /// Biases `[c_out]`.
    pub b: Vec<f64>,
}

/// How the experts read their inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoder {
    /// One MLP (SELU) per expert over its group's columns.
    Tabular {
        /// The layers, all experts batched.
        layers: Vec<ExpertLayer>,
    },
    /// A strided-conv stem (ELU) turning a `height × width` single-channel image (pixels in
    /// row-major column order) into a grid of experts, one per output cell.
    Image {
        /// Image height in pixels.
        height: usize,
        /// Image width in pixels.
        width: usize,
        /// The convolutions, each halving both sides.
        convs: Vec<Conv2x2>,
    },
}

/// A trained AME.
#[derive(Debug, Clone, PartialEq)]
pub struct Ame {
    /// The task.
    pub task: AmeTask,
    /// Input feature names.
    pub features: Vec<String>,
    /// The experts' feature groups.
    pub groups: FeatureGroups,
    /// Input scaler (applied by the caller, as for networks).
    pub preprocess: Option<Preprocess>,
    /// The experts' encoder.
    pub encoder: Encoder,
    /// Per-expert output layer `[p, o, h]`.
    pub out_w: Vec<f64>,
    /// Per-expert output bias `[p, o]`.
    pub out_b: Vec<f64>,
    /// Shared gate projection `[k, p·(h + o)]`.
    pub gate_w: Vec<f64>,
    /// Gate bias `[k]`.
    pub gate_b: Vec<f64>,
    /// Context vectors (already weight-normalised) `[p, k]`.
    pub context: Vec<f64>,
    /// All-features auxiliary predictor `[o, p·h]`.
    pub aux_all_w: Vec<f64>,
    /// Its bias `[o]`.
    pub aux_all_b: Vec<f64>,
    /// The `p` all-but-one predictors stacked `[p·o, p·h]`; block `(i, i)` is zero.
    pub aux_minus_w: Vec<f64>,
    /// Their biases `[p·o]`.
    pub aux_minus_b: Vec<f64>,
    /// Hidden layers of the Granger-causal (auxiliary) predictors, or `None` for the
    /// paper's linear predictors. With them, `aux_all_w` is `[o, g]` over the all-features
    /// predictor's hidden units and `aux_minus_w` is `[p·o, g]`: row `i·o + j` is output `j`
    /// of predictor `i` over predictor `i`'s own hidden units.
    pub aux_hidden: Option<AuxHidden>,
}

/// The hidden layer (SELU, width `g`) of the auxiliary predictors: a small MLP over the
/// experts' hidden states, so that ω can see interactions between groups. Each of the `p`
/// all-but-one predictors has its own weights; predictor `i` does not read expert `i`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuxHidden {
    /// Hidden width `g`.
    pub width: usize,
    /// All-features predictor `[g, p·h]`.
    pub all_w: Vec<f64>,
    /// Its bias `[g]`.
    pub all_b: Vec<f64>,
    /// The `p` all-but-one predictors stacked `[p·g, p·h]`; block `(i, i)` is zero.
    pub minus_w: Vec<f64>,
    /// Their biases `[p·g]`.
    pub minus_b: Vec<f64>,
}

/// One forward pass of an AME over `rows` rows.
#[derive(Debug, Clone)]
pub struct AmeOutput {
    /// Rows.
    pub rows: usize,
    /// Prediction `y = Σ a_i c_i` after the output function, `[rows, o]`.
    pub y: Vec<f64>,
    /// Attention `a`, `[rows, p]` (each row sums to 1).
    pub a: Vec<f64>,
    /// Expert contributions `c_i` after the output function, `[rows, p, o]`.
    pub c: Vec<f64>,
    /// Topmost hidden states `h_i`, `[rows, p, h]`.
    pub h: Vec<f64>,
}

/// The auxiliary predictors' outputs (after the output function).
#[derive(Debug, Clone)]
pub struct AuxOutput {
    /// `ŷ_all`, `[rows, o]`.
    pub all: Vec<f64>,
    /// `ŷ_−i`, `[rows, p, o]`.
    pub minus: Vec<f64>,
}

/// The product of sizes read from a file, `usize::MAX` when it overflows (no array has that
/// many elements, so a length check against it fails cleanly).
fn prod(sizes: &[usize]) -> usize {
    sizes
        .iter()
        .try_fold(1usize, |a, &b| a.checked_mul(b))
        .unwrap_or(usize::MAX)
}

impl Ame {
    /// Number of experts `p`.
    pub fn experts(&self) -> usize {
        self.groups.len()
    }
    /// Inputs `d`.
    pub fn input_dim(&self) -> usize {
        self.features.len()
    }
    /// Width `h` of an expert's topmost hidden representation.
    pub fn hidden(&self) -> usize {
        match &self.encoder {
            Encoder::Tabular { layers } => layers.last().map_or(0, |l| l.outputs),
            Encoder::Image { convs, .. } => convs.last().map_or(1, |c| c.c_out),
        }
    }
    /// Gate width `k`.
    pub fn gate_width(&self) -> usize {
        self.gate_b.len()
    }
    /// Learned parameters.
    pub fn param_count(&self) -> usize {
        let enc: usize = match &self.encoder {
            Encoder::Tabular { layers } => layers.iter().map(|l| l.w.len() + l.b.len()).sum(),
            Encoder::Image { convs, .. } => convs.iter().map(|c| c.w.len() + c.b.len()).sum(),
        };
        enc + self.out_w.len()
            + self.out_b.len()
            + self.gate_w.len()
            + self.gate_b.len()
            + self.context.len()
            + self.aux_all_w.len()
            + self.aux_all_b.len()
            + self.aux_minus_w.len()
            + self.aux_minus_b.len()
            + self.aux_hidden.as_ref().map_or(0, |a| {
                a.all_w.len() + a.all_b.len() + a.minus_w.len() + a.minus_b.len()
            })
    }

    /// Checks that every array has the shape the configuration implies.
    ///
    /// # Errors
    /// [`Error::Model`] (empty path) naming the array, its length and the expected one.
    pub fn validate(&self) -> Result<()> {
        let (p, o, d) = (self.experts(), self.task.outputs(), self.input_dim());
        if self.groups.features() != d {
            return Err(Error::model(
                "",
                format!(
                    "groups cover {} features, the model has {d}",
                    self.groups.features()
                ),
            ));
        }
        if let Some(pre) = &self.preprocess
            && pre.offset_scale().0.len() != d
        {
            return Err(Error::model(
                "",
                format!(
                    "preprocess has {} columns, the model has {d} features",
                    pre.offset_scale().0.len()
                ),
            ));
        }
        if let AmeTask::Multiclass { classes } = self.task
            && classes < 2
        {
            return Err(Error::model(
                "",
                "a multiclass AME needs at least 2 classes",
            ));
        }
        let check = |name: &str, got: usize, want: usize| -> Result<()> {
            if got == want {
                Ok(())
            } else {
                Err(Error::model(
                    "",
                    format!("'{name}' has {got} values, expected {want}"),
                ))
            }
        };
        match &self.encoder {
            Encoder::Tabular { layers } => {
                let widest = (0..p).map(|g| self.groups.members(g).len()).max();
                let mut width = widest.unwrap_or(0);
                if layers.is_empty() {
                    return Err(Error::model("", "an AME needs at least one expert layer"));
                }
                for (l, layer) in layers.iter().enumerate() {
                    if layer.inputs != width || layer.outputs == 0 {
                        return Err(Error::model(
                            "",
                            format!(
                                "expert layer {l}: {} → {} does not follow width {width}",
                                layer.inputs, layer.outputs
                            ),
                        ));
                    }
                    check(
                        &format!("experts[{l}].weight"),
                        layer.w.len(),
                        prod(&[p, layer.outputs, layer.inputs]),
                    )?;
                    check(
                        &format!("experts[{l}].bias"),
                        layer.b.len(),
                        prod(&[p, layer.outputs]),
                    )?;
                    width = layer.outputs;
                }
            }
            Encoder::Image {
                height,
                width,
                convs,
            } => {
                let cell = u32::try_from(convs.len())
                    .ok()
                    .and_then(|n| 1usize.checked_shl(n))
                    .filter(|&c| c <= (*height).max(*width).max(1))
                    .unwrap_or(0);
                if convs.is_empty() || cell == 0 || height % cell != 0 || width % cell != 0 {
                    return Err(Error::model(
                        "",
                        format!(
                            "image stem: {height}×{width} is not divisible by the cell size 2^{}",
                            convs.len()
                        ),
                    ));
                }
                if prod(&[*height, *width]) != d || prod(&[height / cell, width / cell]) != p {
                    return Err(Error::model(
                        "",
                        format!(
                            "image stem: {height}×{width} pixels in {cell}×{cell} cells do not \
                             match {d} features in {p} groups"
                        ),
                    ));
                }
                let mut c_in = 1;
                for (l, c) in convs.iter().enumerate() {
                    if c.c_in != c_in {
                        return Err(Error::model(
                            "",
                            format!("conv {l}: {} input channels, expected {c_in}", c.c_in),
                        ));
                    }
                    check(
                        &format!("convs[{l}].weight"),
                        c.w.len(),
                        prod(&[c.c_out, c.c_in, 4]),
                    )?;
                    check(&format!("convs[{l}].bias"), c.b.len(), c.c_out)?;
                    c_in = c.c_out;
                }
            }
        }
        let (h, k) = (self.hidden(), self.gate_width());
        // Saturating products: a size that overflows can never match an array's length.
        check("out_weight", self.out_w.len(), prod(&[p, o, h]))?;
        check("out_bias", self.out_b.len(), prod(&[p, o]))?;
        check(
            "gate_weight",
            self.gate_w.len(),
            prod(&[k, p, h.saturating_add(o)]),
        )?;
        check("context", self.context.len(), prod(&[p, k]))?;
        // The output layers read the hidden states, or the predictors' hidden units.
        let reads = self.aux_hidden.as_ref().map_or(prod(&[p, h]), |a| a.width);
        let minus_reads = self.aux_hidden.as_ref().map_or(prod(&[p, h]), |a| a.width);
        check("aux_all_weight", self.aux_all_w.len(), prod(&[o, reads]))?;
        check("aux_all_bias", self.aux_all_b.len(), o)?;
        check(
            "aux_minus_weight",
            self.aux_minus_w.len(),
            prod(&[p, o, minus_reads]),
        )?;
        check("aux_minus_bias", self.aux_minus_b.len(), prod(&[p, o]))?;
        if let Some(a) = &self.aux_hidden {
            let g = a.width;
            if g == 0 {
                return Err(Error::model("", "aux_hidden: width must be at least 1"));
            }
            check("aux_hidden.all_weight", a.all_w.len(), prod(&[g, p, h]))?;
            check("aux_hidden.all_bias", a.all_b.len(), g)?;
            check(
                "aux_hidden.minus_weight",
                a.minus_w.len(),
                prod(&[p, g, p, h]),
            )?;
            check("aux_hidden.minus_bias", a.minus_b.len(), prod(&[p, g]))?;
            // Predictor i must not read expert i: an all-but-one predictor that does is not one.
            for i in 0..p {
                for u in 0..g {
                    let row = &a.minus_w[(i * g + u) * p * h..][..p * h];
                    if row[i * h..(i + 1) * h].iter().any(|&w| w != 0.0) {
                        return Err(Error::model(
                            "",
                            format!(
                                "aux_hidden.minus_weight: predictor {i} (without expert {i}) has \
                                 non-zero weights on expert {i}'s hidden state"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The groups of an image grid: cell `(r, c)` of side `cell` holds its pixels.
    pub fn image_groups(height: usize, width: usize, cell: usize) -> FeatureGroups {
        let mut groups = Vec::new();
        for r in 0..height / cell {
            for c in 0..width / cell {
                let members = (0..cell)
                    .flat_map(|dy| (0..cell).map(move |dx| (r * cell + dy) * width + c * cell + dx))
                    .collect();
                groups.push((format!("cell_{r}_{c}"), members));
            }
        }
        FeatureGroups::new(height * width, groups).expect("a grid partitions the image")
    }

    /// Topmost hidden states `[rows, p, h]` for `x` (`[rows, d]`, scaled).
    fn encode(&self, x: &[f64], rows: usize) -> Vec<f64> {
        let (p, d, hw) = (self.experts(), self.input_dim(), self.hidden());
        let mut h = vec![0.0; rows * p * hw];
        match &self.encoder {
            Encoder::Tabular { layers } => {
                let first = layers[0].inputs;
                let mut cur = vec![0.0; rows * first];
                let mut next = Vec::new();
                for g in 0..p {
                    cur.clear();
                    cur.resize(rows * first, 0.0);
                    for (r, row) in cur.chunks_exact_mut(first).enumerate() {
                        for (slot, &f) in row.iter_mut().zip(self.groups.members(g)) {
                            *slot = x[r * d + f];
                        }
                    }
                    let mut width = first;
                    for layer in layers {
                        let n = layer.outputs;
                        next.clear();
                        next.resize(rows * n, 0.0);
                        let w = &layer.w[g * n * width..(g + 1) * n * width];
                        mul_wt(&cur, rows, width, w, n, &mut next);
                        let b = &layer.b[g * n..(g + 1) * n];
                        for row in next.chunks_exact_mut(n) {
                            for (v, bj) in row.iter_mut().zip(b) {
                                *v = selu(*v + bj);
                            }
                        }
                        std::mem::swap(&mut cur, &mut next);
                        width = n;
                    }
                    for r in 0..rows {
                        h[(r * p + g) * hw..(r * p + g + 1) * hw]
                            .copy_from_slice(&cur[r * hw..(r + 1) * hw]);
                    }
                }
            }
            Encoder::Image {
                height,
                width,
                convs,
            } => {
                for r in 0..rows {
                    // Channels-last planes.
                    let (mut ih, mut iw, mut ch) = (*height, *width, 1);
                    let mut plane: Vec<f64> = x[r * d..(r + 1) * d].to_vec();
                    for conv in convs {
                        let (oh, ow) = (ih / 2, iw / 2);
                        let mut out = vec![0.0; oh * ow * conv.c_out];
                        for y in 0..oh {
                            for xx in 0..ow {
                                let o = &mut out[(y * ow + xx) * conv.c_out..][..conv.c_out];
                                for (co, v) in o.iter_mut().enumerate() {
                                    let mut s = conv.b[co];
                                    for ci in 0..ch {
                                        for dy in 0..2 {
                                            for dx in 0..2 {
                                                s += conv.w[((co * ch + ci) * 2 + dy) * 2 + dx]
                                                    * plane[((2 * y + dy) * iw + 2 * xx + dx) * ch
                                                        + ci];
                                            }
                                        }
                                    }
                                    *v = elu(s);
                                }
                            }
                        }
                        (ih, iw, ch) = (oh, ow, conv.c_out);
                        plane = out;
                    }
                    h[r * p * hw..(r + 1) * p * hw].copy_from_slice(&plane);
                }
            }
        }
        h
    }

    /// Prediction, attention and expert contributions for `x` (`[rows, d]`, scaled).
    pub fn forward(&self, x: &[f64], rows: usize) -> AmeOutput {
        let (p, o, hw, k) = (
            self.experts(),
            self.task.outputs(),
            self.hidden(),
            self.gate_width(),
        );
        let h = self.encode(x, rows);
        // Expert contributions c_i = out(V_i h_i + v_i).
        let mut c = vec![0.0; rows * p * o];
        for r in 0..rows {
            for g in 0..p {
                let hi = &h[(r * p + g) * hw..(r * p + g + 1) * hw];
                let ci = &mut c[(r * p + g) * o..(r * p + g + 1) * o];
                for (j, v) in ci.iter_mut().enumerate() {
                    *v = self.out_b[g * o + j]
                        + crate::linalg::dot(hi, &self.out_w[(g * o + j) * hw..][..hw]);
                }
                self.task.out(ci);
            }
        }
        // h_all = concat(h_1, c_1, …), z = tanh(W h_all + b), s = z·u_i, a = softmax(s).
        let width = p * (hw + o);
        let mut h_all = vec![0.0; rows * width];
        for r in 0..rows {
            for g in 0..p {
                let dst = &mut h_all[r * width + g * (hw + o)..][..hw + o];
                dst[..hw].copy_from_slice(&h[(r * p + g) * hw..][..hw]);
                dst[hw..].copy_from_slice(&c[(r * p + g) * o..][..o]);
            }
        }
        let mut z = vec![0.0; rows * k];
        mul_wt(&h_all, rows, width, &self.gate_w, k, &mut z);
        for row in z.chunks_exact_mut(k) {
            for (v, b) in row.iter_mut().zip(&self.gate_b) {
                *v = (*v + b).tanh();
            }
        }
        let mut a = vec![0.0; rows * p];
        mul_wt(&z, rows, k, &self.context, p, &mut a);
        for row in a.chunks_exact_mut(p) {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut s = 0.0;
            for v in row.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            for v in row.iter_mut() {
                *v /= s;
            }
        }
        let mut y = vec![0.0; rows * o];
        for r in 0..rows {
            for g in 0..p {
                let ag = a[r * p + g];
                for j in 0..o {
                    y[r * o + j] += ag * c[(r * p + g) * o + j];
                }
            }
        }
        AmeOutput { rows, y, a, c, h }
    }

    /// The auxiliary predictors on a forward pass's hidden states.
    pub fn auxiliary(&self, fwd: &AmeOutput) -> AuxOutput {
        let (p, o, hw) = (self.experts(), self.task.outputs(), self.hidden());
        let rows = fwd.rows;
        let mut all = vec![0.0; rows * o];
        let mut minus = vec![0.0; rows * p * o];
        match &self.aux_hidden {
            None => {
                mul_wt(&fwd.h, rows, p * hw, &self.aux_all_w, o, &mut all);
                mul_wt(&fwd.h, rows, p * hw, &self.aux_minus_w, p * o, &mut minus);
            }
            Some(a) => {
                let g = a.width;
                // Hidden units: u = selu(W₁ h + b₁), all-features and each all-but-one.
                let hidden = |w: &[f64], b: &[f64], width: usize| {
                    let mut u = vec![0.0; rows * width];
                    mul_wt(&fwd.h, rows, p * hw, w, width, &mut u);
                    for row in u.chunks_exact_mut(width) {
                        for (v, bias) in row.iter_mut().zip(b) {
                            *v = selu(*v + bias);
                        }
                    }
                    u
                };
                let u_all = hidden(&a.all_w, &a.all_b, g);
                mul_wt(&u_all, rows, g, &self.aux_all_w, o, &mut all);
                // Predictor i's outputs read only its own units (a grouped product).
                let u_minus = hidden(&a.minus_w, &a.minus_b, p * g);
                for r in 0..rows {
                    for i in 0..p {
                        let u = &u_minus[(r * p + i) * g..][..g];
                        for j in 0..o {
                            minus[(r * p + i) * o + j] =
                                crate::linalg::dot(u, &self.aux_minus_w[(i * o + j) * g..][..g]);
                        }
                    }
                }
            }
        }
        for row in all.chunks_exact_mut(o) {
            for (v, b) in row.iter_mut().zip(&self.aux_all_b) {
                *v += b;
            }
            self.task.out(row);
        }
        for row in minus.chunks_exact_mut(p * o) {
            for (v, b) in row.iter_mut().zip(&self.aux_minus_b) {
                *v += b;
            }
            for block in row.chunks_exact_mut(o) {
                self.task.out(block);
            }
        }
        AuxOutput { all, minus }
    }

    /// The AME's own explanation of `x` (`[rows, d]`, scaled), on row blocks in parallel:
    /// predictions, attention and, with `labels`, the Granger-causal targets ω.
    pub fn explain_rows(&self, x: &[f64], labels: Option<&[f64]>) -> AmeRows {
        use rayon::prelude::*;
        const BLOCK: usize = 256;
        let d = self.input_dim().max(1);
        let parts: Vec<AmeRows> = x
            .par_chunks(BLOCK * d)
            .enumerate()
            .map(|(c, block)| {
                let n = block.len() / d;
                match labels {
                    Some(l) => {
                        let (fwd, _, granger) =
                            self.granger_pass(block, &l[c * BLOCK..c * BLOCK + n]);
                        AmeRows {
                            prediction: fwd.y,
                            importance: fwd.a,
                            granger,
                        }
                    }
                    None => {
                        let fwd = self.forward(block, n);
                        AmeRows {
                            prediction: fwd.y,
                            importance: fwd.a,
                            granger: Vec::new(),
                        }
                    }
                }
            })
            .collect();
        let mut out = AmeRows::default();
        for p in parts {
            out.prediction.extend(p.prediction);
            out.importance.extend(p.importance);
            out.granger.extend(p.granger);
        }
        out
    }

    /// The prediction on the explained scale: the value itself for regression, log-odds
    /// `log y/(1 − y)` for binary, log-probabilities for multi-class (what `explain` and the
    /// model-agnostic methods attribute, like a network's logits).
    pub fn explained_output(&self, y: &[f64]) -> Vec<f64> {
        const TINY: f64 = 1e-300;
        match self.task {
            AmeTask::Regression => y.to_vec(),
            AmeTask::Binary => y
                .iter()
                .map(|&v| v.max(TINY).ln() - (1.0 - v).max(TINY).ln())
                .collect(),
            AmeTask::Multiclass { .. } => y.iter().map(|&v| v.max(TINY).ln()).collect(),
        }
    }
}

/// An AME's own explanation of a set of rows ([`Ame::explain_rows`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmeRows {
    /// Predictions `[rows, o]`: probabilities for classification, values for regression.
    pub prediction: Vec<f64>,
    /// Attention `[rows, p]` (each row sums to 1): the importance of every expert.
    pub importance: Vec<f64>,
    /// Granger-causal targets ω `[rows, p]` (empty without labels).
    pub granger: Vec<f64>,
}

impl<F: Float> Predict<F> for Ame {
    fn input_dim(&self) -> usize {
        Ame::input_dim(self)
    }
    fn output_dim(&self) -> usize {
        self.task.outputs()
    }
    fn predict(&self, x: &[F], rows: usize) -> Vec<F> {
        let x64: Vec<f64> = x.iter().map(|v| v.f64()).collect();
        // Row blocks in parallel: samplers send thousands of rows at once.
        use rayon::prelude::*;
        let d = Ame::input_dim(self).max(1);
        x64[..rows * d]
            .par_chunks(256 * d)
            .flat_map_iter(|block| {
                let n = block.len() / d;
                self.explained_output(&self.forward(block, n).y)
            })
            .map(F::of)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Two experts over one feature each, hidden width 1, gate width 1, regression — small
    /// enough to compute every quantity by hand.
    fn tiny() -> Ame {
        let names = vec!["x0".to_string(), "x1".to_string()];
        Ame {
            task: AmeTask::Regression,
            features: names.clone(),
            groups: FeatureGroups::singletons(&names),
            preprocess: None,
            encoder: Encoder::Tabular {
                layers: vec![ExpertLayer {
                    inputs: 1,
                    outputs: 1,
                    w: vec![1.0, 2.0],
                    b: vec![0.0, 0.0],
                }],
            },
            // c_i = V_i h_i + v_i.
            out_w: vec![1.0, 0.5],
            out_b: vec![0.0, 1.0],
            // z = tanh(W [h1, c1, h2, c2] + b).
            gate_w: vec![0.0, 1.0, 0.0, -1.0],
            gate_b: vec![0.0],
            context: vec![1.0, -1.0],
            aux_all_w: vec![1.0, 1.0],
            aux_all_b: vec![0.0],
            // ŷ_−1 reads h2 only, ŷ_−2 reads h1 only.
            aux_minus_w: vec![0.0, 1.0, 1.0, 0.0],
            aux_minus_b: vec![0.0, 0.0],
            aux_hidden: None,
        }
    }

    #[test]
    fn tiny_by_hand() {
        let m = tiny();
        m.validate().unwrap();
        // x = (1, 0.5): h = selu(1), selu(1) = 1.0507…; c = (h1, 0.5·h2 + 1).
        let s: f64 = 1.050_700_987_355_480_5;
        let (h1, h2) = (s, s);
        let (c1, c2) = (h1, 0.5 * h2 + 1.0);
        let z = (c1 - c2).tanh();
        let (s1, s2) = (z, -z);
        let a1 = s1.exp() / (s1.exp() + s2.exp());
        let a2 = 1.0 - a1;
        let y = a1 * c1 + a2 * c2;
        let fwd = m.forward(&[1.0, 0.5], 1);
        assert!((fwd.a[0] - a1).abs() < 1e-15 && (fwd.a[1] - a2).abs() < 1e-15);
        assert!((fwd.y[0] - y).abs() < 1e-15);
        assert!((fwd.c[0] - c1).abs() < 1e-15 && (fwd.c[1] - c2).abs() < 1e-15);
        // Auxiliary: ŷ_all = h1 + h2, ŷ_−1 = h2, ŷ_−2 = h1. Label t = 2.5.
        let t = 2.5;
        let aux = m.auxiliary(&fwd);
        assert!((aux.all[0] - (h1 + h2)).abs() < 1e-15);
        assert!((aux.minus[0] - h2).abs() < 1e-15 && (aux.minus[1] - h1).abs() < 1e-15);
        // MAE: ε_all = |2.1014 − 2.5|, ε_−i = |1.0507 − 2.5|; Δε equal ⇒ ω = (½, ½).
        let omega = m.omega(&aux, &[t]);
        assert!((omega[0] - 0.5).abs() < 1e-15 && (omega[1] - 0.5).abs() < 1e-15);
        let alpha = 0.25;
        let (terms, _, _) = m.loss_terms(&[1.0, 0.5], &[t], alpha);
        let main = (y - t).powi(2);
        let mge = 0.5 * (0.5 / a1).ln() + 0.5 * (0.5 / a2).ln();
        let rep = (h1 + h2 - t).powi(2)
            + (c1 - t).powi(2)
            + (c2 - t).powi(2)
            + (h2 - t).powi(2)
            + (h1 - t).powi(2);
        assert!((terms.main - main).abs() < 1e-14);
        assert!((terms.mge - mge).abs() < 1e-14);
        assert!((terms.rep - rep).abs() < 1e-14);
        assert!((terms.total - (0.75 * main + 0.25 * mge + rep)).abs() < 1e-14);
    }

    fn random_ame(rng: &mut Rng, task: AmeTask, sizes: &[usize], hidden: usize, k: usize) -> Ame {
        let d: usize = sizes.iter().sum();
        let p = sizes.len();
        let o = task.outputs();
        let names: Vec<String> = (0..d).map(|i| format!("f{i}")).collect();
        let mut start = 0;
        let groups = FeatureGroups::new(
            d,
            sizes
                .iter()
                .enumerate()
                .map(|(g, &n)| {
                    start += n;
                    (format!("g{g}"), (start - n..start).collect())
                })
                .collect(),
        )
        .unwrap();
        let g_max = *sizes.iter().max().unwrap();
        let mut v = |n: usize| (0..n).map(|_| rng.normal()).collect::<Vec<f64>>();
        let mut aux_minus_w = v(p * o * p * hidden);
        for i in 0..p {
            for j in 0..o {
                aux_minus_w[(i * o + j) * p * hidden + i * hidden..][..hidden].fill(0.0);
            }
        }
        Ame {
            task,
            features: names,
            groups,
            preprocess: None,
            encoder: Encoder::Tabular {
                layers: vec![ExpertLayer {
                    inputs: g_max,
                    outputs: hidden,
                    w: v(p * hidden * g_max),
                    b: v(p * hidden),
                }],
            },
            out_w: v(p * o * hidden),
            out_b: v(p * o),
            gate_w: v(k * p * (hidden + o)),
            gate_b: v(k),
            context: v(p * k),
            aux_all_w: v(o * p * hidden),
            aux_all_b: v(o),
            aux_minus_w,
            aux_minus_b: v(p * o),
            aux_hidden: None,
        }
    }

    #[test]
    fn scoring_in_blocks_equals_scoring_at_once() {
        let mut rng = Rng::for_row(9, 0);
        for task in [
            AmeTask::Regression,
            AmeTask::Binary,
            AmeTask::Multiclass { classes: 3 },
        ] {
            let m = random_ame(&mut rng, task, &[2, 1, 3], 3, 4);
            let (d, rows) = (6, 37);
            let x: Vec<f64> = (0..rows * d).map(|_| rng.normal()).collect();
            let labels: Vec<f64> = (0..rows)
                .map(|r| match task {
                    AmeTask::Regression => rng.normal(),
                    AmeTask::Binary => (r % 2) as f64,
                    AmeTask::Multiclass { .. } => (r % 3) as f64,
                })
                .collect();
            let whole = m.evaluate(&x, &labels);
            let mut blocks = AmeScorer::new(&m);
            for (xb, lb) in x.chunks(10 * d).zip(labels.chunks(10)) {
                blocks.add_rows(xb, lb);
            }
            let parts = blocks.finish();
            assert_eq!(parts.rows, rows);
            assert_eq!(
                parts.importance_by_class.len(),
                whole.importance_by_class.len()
            );
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + a.abs());
            assert!(close(parts.mge, whole.mge) && whole.mge > 0.0);
            assert!(close(parts.granger_r2, whole.granger_r2));
            for ((k, a), (_, b)) in parts.quality.iter().zip(&whole.quality) {
                assert!(close(*a, *b), "{k}");
            }
            // The streamed r² is the textbook two-pass Pearson correlation, squared.
            let (fwd, _, omega) = m.granger_pass(&x, &labels);
            let n = fwd.a.len() as f64;
            let (ma, mw) = (fwd.a.iter().sum::<f64>() / n, omega.iter().sum::<f64>() / n);
            let (mut saw, mut saa, mut sww) = (0.0, 0.0, 0.0);
            for (a, w) in fwd.a.iter().zip(&omega) {
                saw += (a - ma) * (w - mw);
                saa += (a - ma).powi(2);
                sww += (w - mw).powi(2);
            }
            assert!(close(whole.granger_r2, saw * saw / (saa * sww)));
            for (a, b) in parts.importance.iter().zip(&whole.importance) {
                assert!(close(*a, *b));
            }
            assert!((whole.importance.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // Against direct computations: the MGE, and the mean attention per label class.
            let p = 3;
            let mge = (0..rows)
                .map(|r| granger::kl(&omega[r * p..(r + 1) * p], &fwd.a[r * p..(r + 1) * p]))
                .sum::<f64>()
                / rows as f64;
            assert!(close(whole.mge, mge));
            for (class, mean) in &whole.importance_by_class {
                let members: Vec<usize> = (0..rows)
                    .filter(|&r| labels[r] as usize == *class)
                    .collect();
                for (g, m) in mean.iter().enumerate() {
                    let direct = members.iter().map(|&r| fwd.a[r * p + g]).sum::<f64>()
                        / members.len() as f64;
                    assert!(close(*m, direct));
                }
            }
            assert_eq!(
                whole.importance_by_class.len(),
                if task.is_classification() {
                    task.outputs().max(2)
                } else {
                    0
                }
            );
        }
    }

    /// `m` with non-linear Granger predictors of width `g` (random weights; the block of
    /// predictor i on expert i zero, as training masks it).
    fn with_hidden(rng: &mut Rng, mut m: Ame, g: usize) -> Ame {
        let (p, o, h) = (m.experts(), m.task.outputs(), m.hidden());
        let mut v = |n: usize| (0..n).map(|_| rng.normal()).collect::<Vec<f64>>();
        let mut minus_w = v(p * g * p * h);
        for i in 0..p {
            for u in 0..g {
                minus_w[(i * g + u) * p * h + i * h..][..h].fill(0.0);
            }
        }
        m.aux_hidden = Some(AuxHidden {
            width: g,
            all_w: v(g * p * h),
            all_b: v(g),
            minus_w,
            minus_b: v(p * g),
        });
        m.aux_all_w = v(o * g);
        m.aux_minus_w = v(p * o * g);
        m
    }

    #[test]
    fn nonlinear_all_but_one_predictors_equal_naive_ones_and_round_trip() {
        let mut rng = Rng::for_row(11, 0);
        for task in [
            AmeTask::Regression,
            AmeTask::Binary,
            AmeTask::Multiclass { classes: 3 },
        ] {
            let base = random_ame(&mut rng, task, &[2, 1, 3, 2], 3, 4);
            let g = 5;
            let m = with_hidden(&mut rng, base, g);
            m.validate().unwrap();
            let (p, o, h, d, rows) = (4, task.outputs(), 3, 8, 6);
            let x: Vec<f64> = (0..rows * d).map(|_| rng.normal()).collect();
            let fwd = m.forward(&x, rows);
            let aux = m.auxiliary(&fwd);
            let a = m.aux_hidden.as_ref().unwrap();
            for r in 0..rows {
                let hr = |j: usize| &fwd.h[(r * p + j) * h..(r * p + j + 1) * h];
                // Predictor i, built naively: its own hidden layer over concat(h_j, j ≠ i).
                for i in 0..p {
                    let input: Vec<f64> = (0..p)
                        .filter(|&j| j != i)
                        .flat_map(|j| hr(j).to_vec())
                        .collect();
                    let units: Vec<f64> = (0..g)
                        .map(|u| {
                            let row = &a.minus_w[(i * g + u) * p * h..][..p * h];
                            let w: Vec<f64> = (0..p)
                                .filter(|&j| j != i)
                                .flat_map(|j| row[j * h..(j + 1) * h].to_vec())
                                .collect();
                            selu(
                                a.minus_b[i * g + u]
                                    + input.iter().zip(&w).map(|(x, w)| x * w).sum::<f64>(),
                            )
                        })
                        .collect();
                    let mut pred: Vec<f64> = (0..o)
                        .map(|q| {
                            m.aux_minus_b[i * o + q]
                                + units
                                    .iter()
                                    .zip(&m.aux_minus_w[(i * o + q) * g..][..g])
                                    .map(|(u, w)| u * w)
                                    .sum::<f64>()
                        })
                        .collect();
                    task.out(&mut pred);
                    for (got, want) in aux.minus[(r * p + i) * o..][..o].iter().zip(&pred) {
                        assert!((got - want).abs() < 1e-12, "{task:?} row {r} predictor {i}");
                    }
                }
                // The all-features predictor.
                let all_in: Vec<f64> = (0..p).flat_map(|j| hr(j).to_vec()).collect();
                let units: Vec<f64> = (0..g)
                    .map(|u| {
                        selu(
                            a.all_b[u]
                                + all_in
                                    .iter()
                                    .zip(&a.all_w[u * p * h..][..p * h])
                                    .map(|(x, w)| x * w)
                                    .sum::<f64>(),
                        )
                    })
                    .collect();
                let mut pred: Vec<f64> = (0..o)
                    .map(|q| {
                        m.aux_all_b[q]
                            + units
                                .iter()
                                .zip(&m.aux_all_w[q * g..][..g])
                                .map(|(u, w)| u * w)
                                .sum::<f64>()
                    })
                    .collect();
                task.out(&mut pred);
                for (got, want) in aux.all[r * o..][..o].iter().zip(&pred) {
                    assert!((got - want).abs() < 1e-12, "{task:?} row {r} all-features");
                }
            }
            // Save → load is identical, predictions and ω included.
            let back = json::from_value(&json::to_value(&m, None)).unwrap();
            assert_eq!(back, m);
            // A predictor that reads its own expert is refused.
            let mut bad = m.clone();
            bad.aux_hidden.as_mut().unwrap().minus_w[2 * g * p * h + 2 * h] = 0.5;
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains("predictor 2"), "{err}");
        }
    }

    #[test]
    fn stacked_all_but_one_predictors_equal_the_naive_ones() {
        // Predictor i, built naively: its own weight matrix over concat(h_j, j ≠ i).
        let mut rng = Rng::for_row(5, 0);
        for task in [
            AmeTask::Regression,
            AmeTask::Binary,
            AmeTask::Multiclass { classes: 3 },
        ] {
            let m = random_ame(&mut rng, task, &[2, 1, 3, 2], 3, 4);
            m.validate().unwrap();
            let (p, o, h, d) = (4, task.outputs(), 3, 8);
            let rows = 5;
            let x: Vec<f64> = (0..rows * d).map(|_| rng.normal()).collect();
            let fwd = m.forward(&x, rows);
            let aux = m.auxiliary(&fwd);
            for r in 0..rows {
                for i in 0..p {
                    let h_without: Vec<f64> = (0..p)
                        .filter(|&j| j != i)
                        .flat_map(|j| fwd.h[(r * p + j) * h..(r * p + j + 1) * h].to_vec())
                        .collect();
                    let mut pred: Vec<f64> = (0..o)
                        .map(|q| {
                            let row = &m.aux_minus_w[(i * o + q) * p * h..][..p * h];
                            let w_without: Vec<f64> = (0..p)
                                .filter(|&j| j != i)
                                .flat_map(|j| row[j * h..(j + 1) * h].to_vec())
                                .collect();
                            m.aux_minus_b[i * o + q]
                                + h_without
                                    .iter()
                                    .zip(&w_without)
                                    .map(|(a, b)| a * b)
                                    .sum::<f64>()
                        })
                        .collect();
                    task.out(&mut pred);
                    let got = &aux.minus[(r * p + i) * o..][..o];
                    for (g, want) in got.iter().zip(&pred) {
                        assert!((g - want).abs() < 1e-12, "{task:?} row {r} expert {i}");
                    }
                }
            }
            // Attention is a distribution; predictions are mixtures of the experts'.
            for row in fwd.a.chunks_exact(p) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                assert!(row.iter().all(|&v| v >= 0.0));
            }
        }
    }
}
