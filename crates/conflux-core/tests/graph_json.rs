//! conflux's JSON model format 2 (graphs): every graph network of `tests/models/graph` and
//! random generated graphs save and load back to the same function; bad nodes are errors
//! naming the node.

use conflux_core::io::{json, onnx};
use conflux_core::{Network, Plan};

fn same_function(a: &Network, b: &Network, what: &str) {
    let (pa, pb) = (
        Plan::<f64>::new(a, false).unwrap(),
        Plan::<f64>::new(b, false).unwrap(),
    );
    assert_eq!(pa.input_dim(), pb.input_dim(), "{what}");
    let d = pa.input_dim();
    let x: Vec<f64> = (0..3 * d)
        .map(|i| ((i * 37 % 101) as f64 / 50.0) - 1.0)
        .collect();
    assert_eq!(
        pa.forward(&x, 3),
        pb.forward(&x, 3),
        "{what}: outputs differ"
    );
    assert_eq!(pa.nodes().len(), pb.nodes().len(), "{what}");
    for (na, nb) in pa.nodes().iter().zip(pb.nodes()) {
        assert_eq!(
            (na.op.kind(), &na.inputs),
            (nb.op.kind(), &nb.inputs),
            "{what}"
        );
    }
}

#[test]
fn every_graph_model_round_trips_through_format_2() {
    let dir = conflux_testkit::repo_root().join("tests/models/graph");
    let tmp = tempfile::tempdir().unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "onnx") {
            continue;
        }
        let net = onnx::load(&p).unwrap();
        let out = tmp.path().join("m.json");
        json::save(&net, &out).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["format_version"], 2);
        let back = json::load(&out).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        same_function(&net, &back, &p.display().to_string());
        n += 1;
    }
    assert_eq!(n, 13);
}

#[test]
fn random_graphs_round_trip() {
    use conflux_testkit::graphs::{Acts, graph};
    for seed in 0..60 {
        let net = graph(seed, Acts::All);
        let back =
            json::from_value(&json::to_value(&net)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        same_function(&net, &back, &format!("seed {seed}"));
    }
}

#[test]
fn bad_format_2_nodes_name_the_node() {
    let net = conflux_testkit::graphs::graph(3, conflux_testkit::graphs::Acts::All);
    let good = json::to_value(&net);
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|v| v["nodes"][0]["inputs"][0]["from"] = "nowhere".into()),
            "'nowhere' is not an earlier node",
        ),
        (
            Box::new(|v| v["nodes"][0]["weight"] = serde_json::json!([1.0])),
            "kernel values",
        ),
        (Box::new(|v| v["nodes"][0]["op"] = "lstm".into()), "lstm"),
        (
            Box::new(|v| v["nodes"][0]["inputs"][0]["shape"] = serde_json::json!([7])),
            "cannot reshape",
        ),
        (
            Box::new(|v| v["format_version"] = 3.into()),
            "format_version 1 or 2",
        ),
    ];
    for (edit, want) in cases {
        let mut v = good.clone();
        edit(&mut v);
        let e = json::from_value(&v).unwrap_err().to_string();
        assert!(e.contains(want), "expected {want:?} in {e}");
        if want != "format_version 1 or 2" {
            assert!(e.contains("layer 0") && e.contains("conv0"), "{e}");
        }
    }
}
