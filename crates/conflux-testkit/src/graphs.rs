//! Random small graph networks for property tests: convolutions (stride, padding, dilation,
//! groups), BatchNorm, every activation, max and average pooling with and without overlap,
//! residual blocks with and without a projection shortcut, LayerNorm and dense heads —
//! built from a seed through the same [`GraphBuilder`] the loaders use.

use conflux_core::net::graph::{GraphBuilder, Kernel, Value};
use conflux_core::net::ops::window::WindowSpec;
use conflux_core::rng::Rng;
use conflux_core::{Activation, BatchNorm, Limits, Network};
use proptest::prelude::*;

/// Which ops a generated graph may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acts {
    /// Every activation of cafe.md, max pooling and LayerNorm.
    All,
    /// Smooth activations and no max pooling: differentiable everywhere (for
    /// finite-difference gradient checks; max pooling's gradient is checked against Captum on
    /// the golden networks).
    Smooth,
    /// Smooth activations, no max pooling and no LayerNorm: the functions on which `f32`
    /// follows `f64` closely (a max-pool arg-max within rounding of a tie, or a LayerNorm
    /// gate cancelling below `f32` resolution, legitimately flips CAFE's choices).
    Conditioned,
}

fn weights(rng: &mut Rng, n: usize, scale: f64) -> Vec<f64> {
    (0..n).map(|_| rng.normal() * scale).collect()
}

fn activation(rng: &mut Rng, acts: Acts) -> Activation {
    let all = Activation::all();
    loop {
        let a = all[rng.below(all.len())];
        let smooth = !matches!(
            a,
            Activation::Relu
                | Activation::LeakyRelu { .. }
                | Activation::Elu { .. }
                | Activation::Selu
        );
        if acts == Acts::All || smooth {
            return a;
        }
    }
}

fn spec(kernel: usize, stride: usize, pad: usize, dilation: usize) -> WindowSpec {
    WindowSpec {
        kernel: vec![kernel; 2],
        stride: vec![stride; 2],
        dilation: vec![dilation; 2],
        pads: vec![pad; 4],
        auto_pad: String::new(),
        ceil_mode: false,
    }
}

fn conv(
    b: &mut GraphBuilder,
    rng: &mut Rng,
    x: &Value,
    c_out: usize,
    same: bool,
    name: &str,
) -> Value {
    let c_in = x.shape[0];
    let groups = if !same && c_in > 1 && c_out.is_multiple_of(c_in) && rng.below(3) == 0 {
        c_in
    } else {
        1
    };
    let (k, stride, dil) = if same {
        (3, 1, 1)
    } else {
        (1 + rng.below(3), 1 + rng.below(2), 1 + rng.below(2))
    };
    let span = dil * (k - 1) + 1;
    // Padding up to the span (a 1×1 kernel may be padded by 1, as ONNX allows).
    let pad = if same { 1 } else { rng.below(span.min(2) + 1) };
    let pad = if x.shape[1].min(x.shape[2]) + 2 * pad < span {
        span - 1
    } else {
        pad
    };
    let dims = [c_out, c_in / groups, k, k];
    let w = weights(rng, dims.iter().product(), 0.6);
    let bias = weights(rng, c_out, 0.3);
    let kernel = Kernel {
        dims: &dims,
        weight: &w,
        bias: (rng.below(4) > 0).then_some(&bias[..]),
        groups,
    };
    b.conv(name, x, &kernel, &spec(k, stride, pad, dil))
        .expect("generated conv fits")
}

/// A random graph network built from `seed`: input `(C, H, W)`, outputs 1–3.
pub fn graph(seed: u64, acts: Acts) -> Network {
    let mut rng = Rng::for_row(seed, 0);
    let shape = vec![1 + rng.below(2), 3 + rng.below(4), 3 + rng.below(4)];
    let (mut b, input) = GraphBuilder::new(shape, Limits::default()).expect("small input");
    let c0 = 2 + rng.below(3);
    let mut x = conv(&mut b, &mut rng, &input, c0, false, "conv0");
    if rng.below(2) == 0 {
        let c = x.shape[0];
        let bn = BatchNorm {
            mean: weights(&mut rng, c, 0.3),
            var: (0..c).map(|_| 0.5 + rng.uniform()).collect(),
            weight: weights(&mut rng, c, 1.0),
            bias: weights(&mut rng, c, 0.3),
            eps: 1e-5,
        };
        x = b.batch_norm("bn0", &x, &bn).expect("channels match");
    }
    let a = activation(&mut rng, acts);
    x = b.act("act0", &x, a).expect("act");
    match rng.below(3) {
        0 if x.shape[1] >= 2 && x.shape[2] >= 2 && acts == Acts::All => {
            let k = 2 + rng.below(2).min(x.shape[1].min(x.shape[2]) - 2);
            let stride = 1 + rng.below(2);
            let pad = rng.below(2).min(k / 2);
            x = b
                .max_pool("maxpool", &x, &spec(k, stride, pad, 1))
                .expect("pool fits");
        }
        1 if x.shape[1] >= 2 && x.shape[2] >= 2 => {
            let s = spec(2, 1 + rng.below(2), rng.below(2), 1);
            x = b
                .avg_pool("avgpool", &x, &s, rng.below(2) == 0)
                .expect("pool fits");
        }
        _ => {}
    }
    if rng.below(2) == 0 {
        // Residual block: conv → act → conv, plus the identity or a 1×1 projection.
        let c = x.shape[0];
        let mid = c + rng.below(2);
        let h = conv(&mut b, &mut rng, &x, mid, true, "res_a");
        let h = b
            .act("res_act", &h, activation(&mut rng, acts))
            .expect("act");
        let out_c = c + rng.below(2);
        let h = conv(&mut b, &mut rng, &h, out_c, true, "res_b");
        let short = if out_c == c && rng.below(2) == 0 {
            x.clone()
        } else {
            let dims = [out_c, c, 1, 1];
            let w = weights(&mut rng, out_c * c, 0.6);
            let bias = weights(&mut rng, out_c, 0.3);
            let k = Kernel {
                dims: &dims,
                weight: &w,
                bias: Some(&bias),
                groups: 1,
            };
            b.conv("proj", &x, &k, &spec(1, 1, 0, 1)).expect("1×1 conv")
        };
        x = b
            .add("res_add", &h, &short, rng.below(4) == 0)
            .expect("same shapes");
    }
    let flat = GraphBuilder::reshape("flatten", "Flatten", &x, vec![x.size()]).expect("same size");
    let hidden = 3 + rng.below(6);
    let w = weights(
        &mut rng,
        hidden * flat.size(),
        1.0 / (flat.size() as f64).sqrt(),
    );
    let bias = weights(&mut rng, hidden, 0.3);
    let mut y = b
        .dense("fc0", &flat, hidden, flat.size(), &w, Some(&bias))
        .expect("dense");
    if rng.below(2) == 0 && acts != Acts::Conditioned {
        let gamma: Vec<f64> = (0..hidden).map(|_| 0.5 + rng.uniform()).collect();
        let beta = weights(&mut rng, hidden, 0.3);
        y = b.layer_norm("ln", &y, 0, &gamma, &beta, 1e-5).expect("ln");
    }
    y = b.act("act1", &y, activation(&mut rng, acts)).expect("act");
    let outs = 1 + rng.below(3);
    let w = weights(&mut rng, outs * hidden, 0.7);
    let bias = weights(&mut rng, outs, 0.3);
    let out = b
        .dense("fc1", &y, outs, hidden, &w, Some(&bias))
        .expect("dense");
    Network::from_graph(b.finish(&out).expect("graph"), None, None, None).expect("network")
}

/// A random graph with `rows` inputs and a reference (some input elements equal to the
/// reference, for missingness).
pub fn graph_with_data(
    rows: usize,
    acts: Acts,
) -> impl Strategy<Value = (Network, Vec<f64>, Vec<f64>)> {
    any::<u64>().prop_map(move |seed| {
        let net = graph(seed, acts);
        let d = net.input_dim();
        let mut rng = Rng::for_row(seed, 1);
        let r: Vec<f64> = (0..d).map(|_| rng.normal() * 0.5).collect();
        let mut x: Vec<f64> = (0..rows * d).map(|_| rng.normal()).collect();
        for (i, v) in x.iter_mut().enumerate() {
            if rng.below(5) == 0 {
                *v = r[i % d];
            }
        }
        (net, x, r)
    })
}
