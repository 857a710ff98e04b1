//! Bad graphs give errors naming the node, the op and the shapes: unsupported ops,
//! mismatched shapes, shapes that cannot be made static up to the batch, windows that do not
//! fit.

use conflux_core::io::onnx;
use conflux_testkit::onnx::{Attr, OnnxBuilder};

fn load_err(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.onnx");
    std::fs::write(&p, bytes).unwrap();
    onnx::load(&p).unwrap_err().to_string()
}

fn check(e: &str, wants: &[&str]) {
    for w in wants {
        assert!(e.contains(w), "expected {w:?} in {e}");
    }
}

#[test]
fn mismatched_residual_shapes_name_the_node_and_shapes() {
    let g = OnnxBuilder::new(3, 17)
        .init("A", &[6, 3], &[0.1; 18])
        .init("B", &[4, 3], &[0.2; 12])
        .node("Gemm", &["x", "A"], &["a"], &[("transB", Attr::I(1))])
        .node("Gemm", &["x", "B"], &["b"], &[("transB", Attr::I(1))])
        .node("Add", &["a", "b"], &["y"], &[])
        .build("y");
    check(
        &load_err(&g),
        &["node 'add_2' (op Add)", "same shape, got (N, 6) and (N, 4)"],
    );
}

#[test]
fn a_reshape_that_is_not_batch_first_is_refused() {
    let g = OnnxBuilder::new(12, 17)
        .init("s", &[2], &[1.0, -1.0])
        .node("Reshape", &["x", "s"], &["r"], &[])
        .node("Relu", &["r"], &["y"], &[])
        .build("y");
    check(
        &load_err(&g),
        &[
            "node 'reshape_0' (op Reshape)",
            "the first dimension is not the batch",
            "(N, [12])",
        ],
    );
    // A symbolic dimension after the batch cannot be made static.
    let g = OnnxBuilder::shaped(&[Some(1), None, Some(4)], 17)
        .init("W", &[1, 1, 1, 1], &[1.0])
        .node("Conv", &["x", "W"], &["y"], &[])
        .build("y");
    check(
        &load_err(&g),
        &["graph input 'x'", "expected static positive dimensions"],
    );
}

#[test]
fn convolution_and_pooling_shapes_are_checked() {
    let conv = OnnxBuilder::shaped(&[Some(1), Some(5), Some(5)], 17)
        .init("W", &[2, 3, 3, 3], &[0.1; 54])
        .node(
            "Conv",
            &["x", "W"],
            &["y"],
            &[("kernel_shape", Attr::Ints(vec![3, 3]))],
        )
        .build("y");
    check(
        &load_err(&conv),
        &[
            "node 'conv_0' (op Conv)",
            "input (N, 1, 5, 5)",
            "groups 1, kernel [2, 3, 3, 3]",
        ],
    );
    let pool = OnnxBuilder::shaped(&[Some(1), Some(2), Some(2)], 17)
        .node(
            "MaxPool",
            &["x"],
            &["y"],
            &[("kernel_shape", Attr::Ints(vec![3, 3]))],
        )
        .build("y");
    check(
        &load_err(&pool),
        &[
            "node 'maxpool_0' (op MaxPool)",
            "input (N, 1, 2, 2)",
            "kernel span 3 is larger than the padded input 2",
        ],
    );
    let pads = OnnxBuilder::shaped(&[Some(1), Some(4), Some(4)], 17)
        .node(
            "AveragePool",
            &["x"],
            &["y"],
            &[
                ("kernel_shape", Attr::Ints(vec![2, 2])),
                ("pads", Attr::Ints(vec![5, 0, 0, 0])),
            ],
        )
        .build("y");
    check(
        &load_err(&pads),
        &[
            "node 'averagepool_0' (op AveragePool)",
            "padding smaller than the kernel",
        ],
    );
    // A valid small CNN loads and runs.
    let ok = OnnxBuilder::shaped(&[Some(1), Some(4), Some(4)], 17)
        .init("W", &[2, 1, 3, 3], &[0.1; 18])
        .node(
            "Conv",
            &["x", "W"],
            &["c"],
            &[("pads", Attr::Ints(vec![1, 1, 1, 1]))],
        )
        .node(
            "MaxPool",
            &["c"],
            &["m"],
            &[
                ("kernel_shape", Attr::Ints(vec![2, 2])),
                ("strides", Attr::Ints(vec![2, 2])),
            ],
        )
        .node("Flatten", &["m"], &["y"], &[])
        .build("y");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ok.onnx");
    std::fs::write(&p, ok).unwrap();
    let net = onnx::load(&p).unwrap();
    assert_eq!((net.input_shape(), net.output_dim()), (vec![1, 4, 4], 8));
}

#[test]
fn hostile_attributes_and_constants_are_refused_before_allocating() {
    // A max pool whose index table would hold ~1e12 entries (a few hundred bytes of file).
    let pool = OnnxBuilder::shaped(&[Some(1), Some(2048), Some(2048)], 17)
        .node(
            "MaxPool",
            &["x"],
            &["y"],
            &[
                ("kernel_shape", Attr::Ints(vec![1024, 1024])),
                ("strides", Attr::Ints(vec![1, 1])),
            ],
        )
        .build("y");
    check(
        &load_err(&pool),
        &["node 'maxpool_0' (op MaxPool)", "working tables"],
    );
    // Reshaping a 4-value constant to 3×5 before a MatMul.
    let reshape = OnnxBuilder::new(3, 17)
        .init("W", &[4], &[1.0, 2.0, 3.0, 4.0])
        .init("s", &[2], &[3.0, 5.0])
        .node("Reshape", &["W", "s"], &["W2"], &[])
        .node("MatMul", &["x", "W2"], &["y"], &[])
        .build("y");
    check(
        &load_err(&reshape),
        &[
            "node 'reshape_0' (op Reshape)",
            "cannot reshape 4 values to",
        ],
    );
    // A transpose permutation of i64::MIN.
    let perm = OnnxBuilder::shaped(&[Some(2), Some(3)], 17)
        .node(
            "Transpose",
            &["x"],
            &["y"],
            &[("perm", Attr::Ints(vec![0, i64::MIN, 1]))],
        )
        .build("y");
    check(
        &load_err(&perm),
        &["node 'transpose_0' (op Transpose)", "permutation"],
    );
}

#[test]
fn convolution_padding_may_exceed_the_kernel() {
    // A 1×1 convolution with padding 1 (allowed by ONNX and PyTorch): a 2×2 image becomes
    // 4×4, the border holding the bias alone.
    let g = OnnxBuilder::shaped(&[Some(1), Some(2), Some(2)], 17)
        .init("W", &[1, 1, 1, 1], &[2.0])
        .init("B", &[1], &[0.5])
        .node(
            "Conv",
            &["x", "W", "B"],
            &["y"],
            &[("pads", Attr::Ints(vec![1, 1, 1, 1]))],
        )
        .build("y");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pad.onnx");
    std::fs::write(&p, g).unwrap();
    let net = onnx::load(&p).unwrap();
    let plan = conflux_core::Plan::<f64>::new(&net, false).unwrap();
    let y = plan.forward(&[1.0, 2.0, 3.0, 4.0], 1);
    #[rustfmt::skip]
    let want = [
        0.5, 0.5, 0.5, 0.5,
        0.5, 2.5, 4.5, 0.5,
        0.5, 6.5, 8.5, 0.5,
        0.5, 0.5, 0.5, 0.5,
    ];
    assert_eq!(y, want);
    // The transpose (gradient of the sum of outputs) is 2 per input pixel.
    let g = conflux_core::Gradient::gradient(&plan, &[1.0, 2.0, 3.0, 4.0], 1, &[5]);
    assert_eq!(g, [2.0, 0.0, 0.0, 0.0]);
}
