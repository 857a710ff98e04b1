//! proptest strategies: random networks (depth 1–4, width 1–32, every activation), inputs and
//! references. `CONFLUX_EXTENDED=1` raises case counts.

use conflux_core::{Activation, BatchNorm, Dense, Layer, Network};
use proptest::prelude::*;

/// Number of proptest cases: `base`, or 10× with `CONFLUX_EXTENDED=1`.
pub fn cases(base: u32) -> u32 {
    if std::env::var("CONFLUX_EXTENDED").is_ok_and(|v| v == "1") {
        base * 10
    } else {
        base
    }
}

/// Any activation, with random parameters where it has some.
pub fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Relu),
        (0.01f64..0.5).prop_map(|slope| Activation::LeakyRelu { slope }),
        (0.5f64..2.0).prop_map(|alpha| Activation::Elu { alpha }),
        Just(Activation::Selu),
        Just(Activation::Gelu),
        Just(Activation::GeluTanh),
        Just(Activation::Silu),
        (0.5f64..3.0).prop_map(|beta| Activation::Softplus {
            beta,
            threshold: 20.0
        }),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
        Just(Activation::Identity),
    ]
}

fn values(n: usize, scale: f64) -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(-scale..scale, n)
}

fn dense(n_in: usize, n_out: usize, with_bias: bool) -> impl Strategy<Value = Dense> {
    let scale = 1.5 / (n_in as f64).sqrt();
    (values(n_in * n_out, scale), values(n_out, 0.5)).prop_map(move |(w, b)| {
        Dense::new(n_out, n_in, w, with_bias.then_some(b)).expect("shapes are consistent")
    })
}

/// A random network with `1..=max_depth` dense layers of width `1..=max_width`, an
/// activation after every hidden dense layer (and sometimes a BatchNorm before it).
pub fn network(
    max_depth: usize,
    max_width: usize,
    max_inputs: usize,
) -> impl Strategy<Value = Network> {
    (
        1..=max_inputs,
        proptest::collection::vec(
            (1..=max_width, activation(), any::<bool>(), 0u8..8),
            1..=max_depth,
        ),
        1usize..=3,
    )
        .prop_flat_map(|(d, hidden, outputs)| {
            let mut widths = vec![d];
            widths.extend(hidden.iter().map(|h| h.0));
            let mut layer_strats: Vec<BoxedStrategy<Vec<Layer>>> = Vec::new();
            for (i, (w, act, bias, bn)) in hidden.iter().enumerate() {
                let (n_in, n_out, act, bias, bn) = (widths[i], *w, *act, *bias, *bn == 0);
                layer_strats.push(
                    (
                        dense(n_in, n_out, bias),
                        values(n_out, 0.5),
                        proptest::collection::vec(0.2f64..2.0, n_out),
                    )
                        .prop_map(move |(dl, m, v)| {
                            let mut ls = vec![Layer::Dense(dl)];
                            if bn {
                                let weight = v.iter().map(|x| x - 1.0).collect();
                                ls.push(Layer::BatchNorm(BatchNorm {
                                    mean: m.clone(),
                                    var: v,
                                    weight,
                                    bias: m,
                                    eps: 1e-5,
                                }));
                            }
                            ls.push(Layer::Act(act));
                            ls
                        })
                        .boxed(),
                );
            }
            let last_in = *widths.last().expect("non-empty");
            layer_strats.push(
                dense(last_in, outputs, true)
                    .prop_map(|l| vec![Layer::Dense(l)])
                    .boxed(),
            );
            layer_strats.prop_map(move |ls| {
                Network::new(d, ls.into_iter().flatten().collect(), None, None, None)
                    .expect("consistent shapes")
            })
        })
}

/// A network with `rows` random inputs and a random reference (some features of some rows
/// set equal to the reference to exercise missingness).
pub fn network_with_data(
    max_depth: usize,
    max_width: usize,
    max_inputs: usize,
    rows: usize,
) -> impl Strategy<Value = (Network, Vec<f64>, Vec<f64>)> {
    network(max_depth, max_width, max_inputs).prop_flat_map(move |net| {
        let d = net.input_dim();
        (
            Just(net),
            values(rows * d, 2.0),
            values(d, 1.0),
            proptest::collection::vec(any::<bool>(), rows * d),
        )
            .prop_map(move |(net, mut x, r, same)| {
                for (i, s) in same.iter().enumerate() {
                    if *s && i % 3 == 0 {
                        x[i] = r[i % d];
                    }
                }
                (net, x, r)
            })
    })
}
