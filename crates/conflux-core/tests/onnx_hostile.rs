//! Hostile ONNX files: external data that points outside the model's folder, at devices or
//! at ranges beyond the file; dims whose product wraps or exceeds the limits; graphs that
//! reuse tensor names, run backwards or leave nodes dangling; names megabytes long. Each
//! must give an error naming the file and the initializer or node, never a panic, and read
//! nothing it was not allowed to.

use std::path::{Path, PathBuf};

use conflux_core::Limits;
use conflux_core::io::onnx;
use conflux_testkit::onnx::{Attr, OnnxBuilder};

const W: [f32; 6] = [0.5, -1.0, 0.25, 1.5, 0.75, -0.5];
const B: [f32; 2] = [0.1, -0.2];

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A 3 → 2 Gemm whose weight is external data described by `entries`.
fn external(entries: &[(&str, &str)]) -> Vec<u8> {
    OnnxBuilder::new(3, 18)
        .external_entries("W", &[2, 3], entries)
        .init("B", &[2], &B)
        .node("Gemm", &["x", "W", "B"], &["y"], &[("transB", Attr::I(1))])
        .build("y")
}

fn load_err(path: &Path) -> String {
    onnx::load(path).unwrap_err().to_string()
}

#[test]
fn external_data_stays_in_the_model_folder() {
    let root = tempfile::tempdir().unwrap();
    let models = root.path().join("models");
    std::fs::create_dir(&models).unwrap();
    // A secret beside the model folder, holding valid float bytes: loading it would succeed
    // if confinement failed.
    let secret: Vec<u8> = W.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(root.path().join("secret.bin"), &secret).unwrap();
    std::fs::write(models.join("w.bin"), &secret).unwrap();
    let ok = write(&models, "ok.onnx", &external(&[("location", "w.bin")]));
    let (_, files) = onnx::load_with(&ok, &Limits::DEFAULT).unwrap();
    assert_eq!(files, vec![models.join("w.bin").canonicalize().unwrap()]);

    let secret_abs = root.path().join("secret.bin");
    let cases: Vec<(&str, String, &str)> = vec![
        ("abs.onnx", secret_abs.display().to_string(), "is absolute"),
        ("passwd.onnx", "/etc/passwd".into(), "is absolute"),
        (
            "up.onnx",
            "../secret.bin".into(),
            "outside the model's folder",
        ),
        ("deep.onnx", "./x/../../secret.bin".into(), "secret.bin"),
        (
            "many.onnx",
            "../../../../../../../../etc/passwd".into(),
            "outside the model's folder",
        ),
        (
            "dir.onnx",
            ".".into(),
            "expected a regular file, got a folder",
        ),
        ("missing.onnx", "nope.bin".into(), "nope.bin"),
    ];
    for (name, location, want) in &cases {
        let p = write(&models, name, &external(&[("location", location)]));
        let e = load_err(&p);
        assert!(
            e.contains(name) && e.contains("initializer 'W'") && e.contains(want),
            "{name}: {e}"
        );
    }
    #[cfg(unix)]
    {
        // A symbolic link inside the folder that leads out of it, or to a device.
        std::os::unix::fs::symlink(&secret_abs, models.join("link.bin")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", models.join("zero.bin")).unwrap();
        for (name, location) in [("link.onnx", "link.bin"), ("zero.onnx", "zero.bin")] {
            let p = write(&models, name, &external(&[("location", location)]));
            let e = load_err(&p);
            assert!(e.contains("outside the model's folder"), "{name}: {e}");
        }
        // A model beside /dev/zero-like devices cannot name them either.
        let p = write(
            &models,
            "devzero.onnx",
            &external(&[("location", "/dev/zero")]),
        );
        assert!(load_err(&p).contains("is absolute"));
    }
}

#[test]
fn external_ranges_are_checked_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mut blob = vec![0u8; 16];
    blob.extend(W.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(dir.path().join("w.bin"), &blob).unwrap();
    // The tensor's 24 bytes at offset 16: fine, whatever the rest of the file holds.
    let p = write(
        dir.path(),
        "ok.onnx",
        &external(&[("location", "w.bin"), ("offset", "16")]),
    );
    assert!(onnx::load(&p).is_ok());
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            "beyond.onnx",
            &[("location", "w.bin"), ("offset", "20")],
            "expected bytes 20..44 but the file has 40 bytes",
        ),
        (
            "huge.onnx",
            &[("location", "w.bin"), ("offset", "18446744073709551615")],
            "but the file has 40 bytes",
        ),
        (
            "length.onnx",
            &[("location", "w.bin"), ("length", "4000000000")],
            "expected length 24 for the tensor's dims, got 4000000000",
        ),
        (
            "neg.onnx",
            &[("location", "w.bin"), ("offset", "-1")],
            "expected a non-negative integer 'offset', got '-1'",
        ),
        ("noloc.onnx", &[("offset", "0")], "'location' entry"),
    ];
    for (name, entries, want) in cases {
        let p = write(dir.path(), name, &external(entries));
        let e = load_err(&p);
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
    }
    // A sparse 64 GiB data file: only the 24 bytes asked for are read.
    let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
    big.set_len(64 << 30).unwrap();
    let p = write(
        dir.path(),
        "big.onnx",
        &external(&[("location", "big.bin"), ("offset", "1000000")]),
    );
    assert!(onnx::load(&p).is_ok());
}

#[test]
fn tensor_sizes_use_checked_arithmetic_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let model = |dims: &[i64], raw: Vec<u8>| {
        OnnxBuilder::new(3, 17)
            .init_raw("W", dims, raw)
            .node("MatMul", &["x", "W"], &["y"], &[])
            .build("y")
    };
    // 2^32 · 2^32 wraps to 0 in 64-bit arithmetic: it used to pass the size check with no
    // data and panic later.
    let p = write(dir.path(), "wrap.onnx", &model(&[1 << 32, 1 << 32], vec![]));
    let e = load_err(&p);
    assert!(
        e.contains("wrap.onnx")
            && e.contains("initializer 'W'")
            && e.contains("more elements than allowed"),
        "{e}"
    );
    let p = write(
        dir.path(),
        "wrap3.onnx",
        &model(&[1 << 22, 1 << 22, 1 << 22], vec![]),
    );
    assert!(load_err(&p).contains("more elements than allowed"));
    let p = write(dir.path(), "neg.onnx", &model(&[-1, 3], vec![]));
    assert!(load_err(&p).contains("expected non-negative dims"));
    // Over the per-tensor limit, and over a lowered one.
    let p = write(dir.path(), "big.onnx", &model(&[1 << 20, 1 << 9], vec![]));
    let e = load_err(&p);
    assert!(e.contains("--max-tensor-elements"), "{e}");
    let p = write(
        dir.path(),
        "ok.onnx",
        &model(&[3, 2], W.iter().flat_map(|v| v.to_le_bytes()).collect()),
    );
    assert!(onnx::load(&p).is_ok());
    let five = Limits {
        tensor_elements: 5,
        ..Limits::DEFAULT
    };
    let e = onnx::load_with(&p, &five).unwrap_err().to_string();
    assert!(e.contains("the limit is 5 elements per tensor"), "{e}");
    // The total over all tensors.
    let seven = Limits {
        parameters: 7,
        ..Limits::DEFAULT
    };
    let two = OnnxBuilder::new(3, 17)
        .init("W", &[2, 3], &W)
        .init("B", &[2], &B)
        .node("Gemm", &["x", "W", "B"], &["y"], &[("transB", Attr::I(1))])
        .build("y");
    let p = write(dir.path(), "two.onnx", &two);
    let e = onnx::load_with(&p, &seven).unwrap_err().to_string();
    assert!(
        e.contains("the model has 8 parameters") && e.contains("--max-parameters"),
        "{e}"
    );
    let eight = Limits {
        parameters: 8,
        ..Limits::DEFAULT
    };
    assert!(onnx::load_with(&p, &eight).is_ok());
    // A model file over the byte limit is not read at all.
    let small = Limits {
        model_bytes: 10,
        ..Limits::DEFAULT
    };
    let e = onnx::load_with(&p, &small).unwrap_err().to_string();
    assert!(e.contains("--max-model-bytes"), "{e}");
}

#[test]
fn graph_validation() {
    let dir = tempfile::tempdir().unwrap();
    let base = || {
        OnnxBuilder::new(3, 17)
            .init("W", &[2, 3], &W)
            .init("B", &[2], &B)
            .node("Gemm", &["x", "W", "B"], &["h"], &[("transB", Attr::I(1))])
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "reuse.onnx",
            base().node("Relu", &["h"], &["h"], &[]).build("h"),
            "node 'relu_1' (op Relu): output 'h' is already produced",
        ),
        (
            "input.onnx",
            base().node("Relu", &["h"], &["x"], &[]).build("x"),
            "output 'x' is already produced",
        ),
        (
            "init.onnx",
            base().node("Relu", &["h"], &["W"], &[]).build("W"),
            "output 'W' is already produced",
        ),
        (
            "twice.onnx",
            base()
                .node("Relu", &["h"], &["y"], &[])
                .node("Tanh", &["h"], &["y"], &[])
                .build("y"),
            "node 'tanh_2' (op Tanh): output 'y' is already produced",
        ),
        (
            "cycle.onnx",
            OnnxBuilder::new(3, 17)
                .init("W", &[2, 3], &W)
                .node("Relu", &["z"], &["y"], &[])
                .node("Gemm", &["x", "W"], &["h"], &[("transB", Attr::I(1))])
                .node("Tanh", &["y"], &["z"], &[])
                .build("y"),
            "input 'z' is produced by a later node; expected nodes in topological order (no cycles)",
        ),
        (
            "dangling.onnx",
            base()
                .node("Relu", &["h"], &["y"], &[])
                .node("Tanh", &["h"], &["unused"], &[])
                .build("y"),
            "node 'tanh_2' (op Tanh): its outputs are used by no node",
        ),
        (
            "dupinit.onnx",
            base()
                .init("B", &[2], &B)
                .node("Relu", &["h"], &["y"], &[])
                .build("y"),
            "initializer 'B' is defined twice",
        ),
    ];
    for (name, bytes, want) in cases {
        let e = load_err(&write(dir.path(), name, &bytes));
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
    }
}

#[test]
fn long_names_are_cut_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let long = "n".repeat(1_000_000);
    let bytes = OnnxBuilder::new(3, 17)
        .init("W", &[2, 3], &W)
        .node("Gemm", &["x", "W"], &["h"], &[("transB", Attr::I(1))])
        .node("Relu", &[&long], &["y"], &[])
        .build("y");
    let e = load_err(&write(dir.path(), "long.onnx", &bytes));
    assert!(
        e.len() < 400 && e.contains("(1000000 chars)") && e.contains("long.onnx"),
        "{} chars: {}",
        e.len(),
        &e[..e.len().min(400)]
    );
}
