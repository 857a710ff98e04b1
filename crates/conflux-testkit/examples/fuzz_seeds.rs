//! Writes the fuzzers' seed corpora from the repository's test files (FUZZING.md):
//! `cargo run -p conflux-testkit --example fuzz_seeds -- fuzz/corpus`.

use std::path::{Path, PathBuf};

use conflux_testkit::fixtures::seed_files;

fn put(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("corpus folder");
    std::fs::write(d.join(name), bytes).expect("seed written");
    WRITTEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

static WRITTEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The safetensors target's input: u16 length, text (sidecar JSON, or `--arch` when the
/// length is odd), weights.
fn safetensors_seed(text: &str, arch: bool, weights: &[u8]) -> Vec<u8> {
    let mut t = text.to_string();
    if (t.len() % 2 == 1) != arch {
        t.push(' ');
    }
    let n = u16::try_from(t.len()).expect("a short text");
    let mut out = n.to_le_bytes().to_vec();
    out.extend(t.as_bytes());
    out.extend(weights);
    out
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );
    let seeds = seed_files(40);
    let get = |n: &str| {
        seeds
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, b)| b.clone())
            .expect("seed present")
    };
    for (name, bytes) in &seeds {
        if name.ends_with(".onnx") {
            put(&dir, "onnx", name, bytes);
        } else if name.ends_with(".csv") {
            for flags in 0u8..4 {
                let mut b = vec![flags];
                b.extend(bytes);
                put(&dir, "csv", &format!("{flags}-{name}"), &b);
            }
        } else if name.ends_with(".json") && !name.ends_with(".arch.json") {
            put(&dir, "json_model", name, bytes);
        }
    }
    // .npy arrays: an image batch in f32 and a table in f64.
    let img: Vec<f64> = (0..2 * 2 * 3 * 3).map(|i| f64::from(i) / 7.0).collect();
    put(
        &dir,
        "npy",
        "images_f32",
        &conflux_testkit::npy::npy_bytes(&[2, 2, 3, 3], &img, false),
    );
    put(
        &dir,
        "npy",
        "table_f64",
        &conflux_testkit::npy::npy_bytes(&[3, 4], &img[..12], true),
    );
    let weights = get("adult_mlp.safetensors");
    let side = String::from_utf8(get("adult_mlp.arch.json")).expect("UTF-8 sidecar");
    put(
        &dir,
        "safetensors",
        "sidecar",
        &safetensors_seed(&side, false, &weights),
    );
    let arch = "linear,relu,linear,relu,linear,sigmoid";
    put(
        &dir,
        "safetensors",
        "arch",
        &safetensors_seed(arch, true, &weights),
    );
    for (i, spec) in [
        "cafe",
        "cafe:c=0.2,0.8,0.5:mode=reverse",
        "cafe:c=1:mode=forward",
        "saliency:abs=true",
        "gradient-x-input",
        "lrp:epsilon=1e-6",
        "deeplift:eps=1e-10",
        "deeplift-reveal-cancel",
        "ig:steps=64:rule=riemann-trapezoid",
        "integrated-gradients:steps=8",
        "smoothgrad:n=5:sd=0.5:multiply=true",
        "gradient-shap:n=5:sd=0.1",
        "kernel-shap:n=64",
        "kernel-shap:exact=true",
        "shapley-sampling:n=4",
        "lime:n=50:width=0.75:surrogate=lasso:alpha=0.01",
        "lime:surrogate=wls",
        "ablation",
    ]
    .iter()
    .enumerate()
    {
        put(&dir, "method_spec", &format!("spec{i}"), spec.as_bytes());
    }
    println!(
        "wrote {} seeds into {}",
        WRITTEN.load(std::sync::atomic::Ordering::Relaxed),
        dir.display()
    );
}
