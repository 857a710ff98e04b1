//! `conflux bench cafe`: rows/s of CAFE and of the same engine's plain forward pass.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use conflux_core::{Activation, Dense, Layer, Network, Plan, Target};
use conflux_methods::Attributor;
use conflux_methods::cafe::CafeParams;
use ndarray::ArrayView2;

use crate::cli::{BenchArgs, MethodsBenchArgs};

/// splitmix64: deterministic weights and data without a random-number dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        #[allow(clippy::cast_precision_loss)]
        let u = (z >> 11) as f64 / (1u64 << 53) as f64;
        2.0 * u - 1.0
    }
}

/// An MLP with the given widths and activation, He-like uniform weights.
fn mlp(widths: &[usize], act: Activation, rng: &mut Rng) -> Network {
    let mut layers = Vec::new();
    for (i, w) in widths.windows(2).enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let scale = (6.0 / w[0] as f64).sqrt();
        let weight = (0..w[0] * w[1]).map(|_| scale * rng.next()).collect();
        let bias = (0..w[1]).map(|_| 0.1 * rng.next()).collect();
        layers.push(Layer::Dense(
            Dense::new(w[1], w[0], weight, Some(bias)).expect("consistent shapes"),
        ));
        if i + 2 < widths.len() {
            layers.push(Layer::Act(act));
        }
    }
    Network::new(widths[0], layers, None, None, None).expect("consistent shapes")
}

/// The CNN of the CAFE bench: 28×28 input, Conv(1→8, 3×3) ReLU MaxPool(2) Conv(8→16, 3×3)
/// ReLU, a residual block Conv(16→16) ReLU Conv(16→16) + identity, ReLU, MaxPool(2),
/// Flatten, Linear(784→10); He-scaled random weights.
fn cnn(rng: &mut Rng) -> Result<Network> {
    use conflux_core::net::graph::{GraphBuilder, Kernel, Value};
    use conflux_core::net::ops::window::WindowSpec;
    let window = |k: usize, stride: usize, pad: usize| WindowSpec {
        kernel: vec![k; 2],
        stride: vec![stride; 2],
        dilation: vec![1; 2],
        pads: vec![pad; 4],
        auto_pad: String::new(),
        ceil_mode: false,
    };
    let err = |e: conflux_core::net::graph::NodeError| anyhow::anyhow!("{}: {}", e.node, e.reason);
    let (mut b, x) = GraphBuilder::new(vec![1, 28, 28], conflux_core::Limits::default())
        .map_err(anyhow::Error::msg)?;
    let mut conv = |b: &mut GraphBuilder, x: &Value, c_out: usize, name: &str| {
        let c_in = x.shape[0];
        let scale = (2.0 / (9 * c_in) as f64).sqrt();
        let w: Vec<f64> = (0..c_out * c_in * 9)
            .map(|_| (rng.next() - 0.5) * 3.4 * scale)
            .collect();
        let bias: Vec<f64> = (0..c_out).map(|_| (rng.next() - 0.5) * 0.1).collect();
        let k = Kernel {
            dims: &[c_out, c_in, 3, 3],
            weight: &w,
            bias: Some(&bias),
            groups: 1,
        };
        b.conv(name, x, &k, &window(3, 1, 1)).map_err(err)
    };
    let h = conv(&mut b, &x, 8, "conv1")?;
    let h = b.act("relu1", &h, Activation::Relu).map_err(err)?;
    let h = b.max_pool("pool1", &h, &window(2, 2, 0)).map_err(err)?;
    let h = conv(&mut b, &h, 16, "conv2")?;
    let h = b.act("relu2", &h, Activation::Relu).map_err(err)?;
    let r = conv(&mut b, &h, 16, "res_a")?;
    let r = b.act("res_relu", &r, Activation::Relu).map_err(err)?;
    let r = conv(&mut b, &r, 16, "res_b")?;
    let h = b.add("res_add", &r, &h, false).map_err(err)?;
    let h = b.act("relu3", &h, Activation::Relu).map_err(err)?;
    let h = b.max_pool("pool2", &h, &window(2, 2, 0)).map_err(err)?;
    let h = GraphBuilder::reshape("flatten", "Flatten", &h, vec![h.size()]).map_err(err)?;
    let n = h.size();
    let w: Vec<f64> = (0..10 * n)
        .map(|_| (rng.next() - 0.5) * 3.4 / (n as f64).sqrt())
        .collect();
    let bias = vec![0.0; 10];
    let y = b.dense("fc", &h, 10, n, &w, Some(&bias)).map_err(err)?;
    Ok(Network::from_graph(
        b.finish(&y).map_err(anyhow::Error::msg)?,
        None,
        None,
        None,
    )?)
}

/// Rows per second of `a` and of `b` (each processes `rows` rows per call): the best of
/// five timed runs of `budget / 5` each (at least 3 calls per run), after a warm-up call,
/// alternating between the two so that both see the same machine conditions. Best-of filters
/// out interference from other processes on a shared machine.
fn rates(rows: usize, budget: Duration, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64) {
    let run = budget / 5;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        let mut calls = 0u32;
        while calls < 3 || start.elapsed() < run {
            f();
            calls += 1;
        }
        #[allow(clippy::cast_precision_loss)]
        let r = f64::from(calls) * rows as f64 / start.elapsed().as_secs_f64();
        r
    };
    a();
    b();
    let (mut best_a, mut best_b) = (0.0f64, 0.0f64);
    for _ in 0..5 {
        best_a = best_a.max(time(&mut a));
        best_b = best_b.max(time(&mut b));
    }
    (best_a, best_b)
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Runs `bench cafe` and prints a Markdown table.
pub fn cafe(args: &BenchArgs) -> Result<()> {
    let budget = Duration::from_secs_f64(if args.quick {
        0.01
    } else {
        args.seconds.max(0.01)
    });
    let mut rng = Rng(42);
    let nets = [
        (
            "(a) 13→100→2 ReLU",
            mlp(&[13, 100, 2], Activation::Relu, &mut rng),
        ),
        (
            "(b) 100→256→256→256→1 GELU",
            mlp(&[100, 256, 256, 256, 1], Activation::Gelu, &mut rng),
        ),
        (
            "(c) CNN 28×28, 2 conv + residual block, max pooling",
            cnn(&mut rng)?,
        ),
    ];
    let cafe = CafeParams::new().c([0.5]).build()?;
    let batches_mlp: &[usize] = if args.quick { &[1, 64] } else { &[1, 4096] };
    let batches_cnn: &[usize] = if args.quick { &[1, 16] } else { &[1, 256] };
    let mut out = String::new();
    writeln!(
        out,
        "CPU: {} ({} logical cores available)",
        cpu_name(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    )?;
    writeln!(
        out,
        "CAFE: c = 0.5, f32, target 0, reference 0 (mode picked automatically: reverse here)\n"
    )?;
    writeln!(
        out,
        "| network | threads | batch | forward rows/s | CAFE rows/s | CAFE cost (× forward) |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|")?;
    let bar = crate::report::Reporter::steps(
        (nets.len() * 2 * batches_mlp.len()) as u64,
        "benchmarking",
        args.quick,
    );
    for (name, net) in &nets {
        let batches = if net.graph().is_some() {
            batches_cnn
        } else {
            batches_mlp
        };
        let plan = Plan::<f32>::new(net, false)?;
        let d = net.input_dim();
        for threads in [1usize, 2] {
            let pool = super::thread_pool(Some(threads))?;
            for &batch in batches {
                #[allow(clippy::cast_possible_truncation)]
                let x: Vec<f32> = (0..batch * d).map(|_| rng.next() as f32).collect();
                let r = vec![0.0f32; d];
                let (xv, rv) = (
                    ArrayView2::from_shape((batch, d), &x[..])?,
                    ArrayView2::from_shape((1, d), &r[..])?,
                );
                let mut err = None;
                let (fwd, cr) = pool.install(|| {
                    rates(
                        batch,
                        budget,
                        || drop(std::hint::black_box(plan.forward_par(&x, batch, 128))),
                        || match cafe.attribute(&plan, xv, rv, Target::Index(0)) {
                            Ok(a) => drop(std::hint::black_box(a)),
                            Err(e) => err = Some(e),
                        },
                    )
                });
                if let Some(e) = err {
                    return Err(e.into());
                }
                writeln!(
                    out,
                    "| {name} | {threads} | {batch} | {fwd:.0} | {cr:.0} | {:.1} |",
                    fwd / cr
                )?;
                bar.inc();
            }
        }
    }
    bar.finish();
    print!("{out}");
    Ok(())
}

/// Runs `bench methods`: each method explains the same rows (f32, predicted target, zero
/// reference); best of three runs.
pub fn methods(a: &MethodsBenchArgs) -> Result<()> {
    let net = super::load_model(&a.model)?;
    let d = net.input_dim();
    let mut src = conflux_core::data::csv::CsvSource::open(
        &a.data,
        &a.csv.options(),
        a.label.as_deref(),
        d,
        net.stored_feature_names(),
    )?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    src.read_block(a.rows, &mut x, &mut y)?;
    src.ensure_rows()?;
    let rows = src.rows_read();
    if let Some(p) = net.preprocess() {
        p.apply(&mut x);
    }
    let plan = Plan::<f32>::new(&net, false)?;
    #[allow(clippy::cast_possible_truncation)]
    let xf: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let zero = vec![0.0f32; d];
    let (xv, rv) = (
        ArrayView2::from_shape((rows, d), &xf[..])?,
        ArrayView2::from_shape((1, d), &zero[..])?,
    );
    let names: Vec<String> = if a.methods.is_empty() {
        conflux_methods::spec::KNOWN_METHODS
            .iter()
            .map(ToString::to_string)
            .collect()
    } else {
        a.methods.clone()
    };
    let groups = match &a.groups {
        Some(g) => Some(g.resolve(&src.columns().feature_names(), plan.input_shape())?),
        None => None,
    };
    let pool = super::thread_pool(a.threads)?;
    let mut results = Vec::new();
    for name in &names {
        let method = name
            .parse::<conflux_methods::spec::MethodSpec>()?
            .build(groups.as_ref(), 0)?;
        super::check_rows_fit(&method, d, 1, rows, "--rows")
            .with_context(|| format!("--method {name}"))?;
        match method.validate(&plan) {
            // Every method by default: one that has no rule for an op of this network is
            // listed as such instead of ending the run.
            Err(e) if a.methods.is_empty() => {
                results.push((name.clone(), Err(e.to_string())));
                continue;
            }
            r => r.with_context(|| format!("--method {name}"))?,
        }
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let start = Instant::now();
            pool.install(|| method.attribute(&plan, xv, rv, Target::Predicted))?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        #[allow(clippy::cast_precision_loss)]
        results.push((name.clone(), Ok(rows as f64 / best)));
    }
    let cafe = results
        .iter()
        .find(|(n, _)| n.starts_with("cafe"))
        .and_then(|r| r.1.as_ref().ok().copied());
    let mut out = String::new();
    let grouping = groups.as_ref().map_or(String::new(), |g| {
        format!(" (sampling methods: {} groups)", g.len())
    });
    writeln!(
        out,
        "{rows} rows, {} features{grouping}, f32, {} thread(s), CPU: {}
",
        d,
        pool.current_num_threads(),
        cpu_name()
    )?;
    writeln!(out, "| method | rows/s | CAFE is × faster |")?;
    writeln!(out, "|---|---:|---:|")?;
    for (n, r) in &results {
        match r {
            Ok(r) => writeln!(
                out,
                "| {n} | {r:.0} | {} |",
                cafe.map_or("–".into(), |c| format!("{:.1}", c / r))
            )?,
            Err(why) => writeln!(out, "| {n} | – ({}) | – |", why.replace('|', "/"))?,
        }
    }
    print!("{out}");
    Ok(())
}
