//! Hand-worked CAFE cases (cafe.md §Worked example).

use conflux_core::{Plan, Target, io::json};
use conflux_methods::Attributor;
use conflux_methods::cafe::CafeParams;
use ndarray::array;

const XNOR: &str = r#"{"input_dim": 2, "layers": [
    {"type": "linear", "weight": [[1, -1], [-1, 1]], "bias": null}, {"type": "relu"},
    {"type": "linear", "weight": [[-1, -1]], "bias": [1]}]}"#;

/// x = (1, 1), r = (0, 0). Hidden neuron 1 gets S+ = 1 from x₁ and S− = 1 from x₂ (and the
/// mirror for neuron 2): e+ = e− = 1, e* = 0, ρ = 0. ReLU: φ(t+) = 1, φ(t−) = φ(t*) = φ(ρ) = 0,
/// so R↑ = R↓ = 0, H↑ = 1, H↓ = 0 and P[+→+] = P[−→−] = 1, every L = 0 (σ = 0).
/// c = 1: M[+→+] = M[−→−] = 1 — both features keep S+ ≈ 1 at one hidden neuron and
/// S− = 1 at the other. The output −h₁ − h₂ + 1 swaps signs: each feature ends with S+ = S− =
/// 1, joint 0; the bias gives B+ = 1. c = 0: all M = 0, features 0, B+ = 1.
#[test]
fn xnor_conflict_at_c0_and_c1() {
    let net = json::from_str(XNOR).unwrap();
    let plan = Plan::<f64>::new(&net, false).unwrap();
    let (x, r) = (array![[1.0, 1.0]], array![[0.0, 0.0]]);
    let one = 1.0;
    for (c, want) in [(1.0, one), (0.0, 0.0)] {
        let a = CafeParams::new()
            .c([c])
            .build()
            .unwrap()
            .attribute(&plan, x.view(), r.view(), Target::Index(0))
            .unwrap();
        let s = a.split.as_ref().unwrap();
        for f in 0..2 {
            assert!(
                (s.feat_pos[[0, f]] - want).abs() < 1e-15,
                "c={c} S+[{f}] = {}",
                s.feat_pos[[0, f]]
            );
            assert!(
                (s.feat_neg[[0, f]] - want).abs() < 1e-15,
                "c={c} S-[{f}] = {}",
                s.feat_neg[[0, f]]
            );
            assert!(a.scores[[0, f]].abs() < 1e-15);
        }
        assert_eq!((s.bias_pos[0], s.bias_neg[0]), (1.0, 0.0));
        assert_eq!(
            (a.output[0], a.baseline_output.as_ref().unwrap()[0]),
            (1.0, 0.0)
        );
    }
}

/// Gradients are zero at this input for both features, and so would be DeepLIFT: the
/// conflict is visible only in CAFE's split (c > 0). Intermediate c interpolates linearly
/// here because every L is 0: S± = c.
#[test]
fn xnor_intermediate_c_interpolates() {
    let net = json::from_str(XNOR).unwrap();
    let plan = Plan::<f64>::new(&net, false).unwrap();
    let (x, r) = (array![[1.0, 1.0]], array![[0.0, 0.0]]);
    let a = CafeParams::new()
        .c([0.25])
        .build()
        .unwrap()
        .attribute(&plan, x.view(), r.view(), Target::Index(0))
        .unwrap();
    let s = a.split.unwrap();
    assert!((s.feat_pos[[0, 0]] - 0.25).abs() < 1e-15);
}

/// A single ReLU neuron without conflict: y = relu(2x₁ − x₂ + 0.5), x = (1, 1), r = 0.
/// e+ = 2 + 0.5 (bias) = 2.5, e− = 1, ρ = 0, t* = 1.5. R↑ = 1.5, H↑ = max(2.5 − 1.5, 0) = 1,
/// P[+→+] = 2.5, P[−→−] = 1, L[+→+] = min(2.5·1.5/1.5, 2.5) = 2.5, L[−→−] = min(1·1, 1) = 1.
/// Every c gives M[+→+] = M[−→−] = 1 (up to ε): S+ = (2, 0), S− = (0, 1), B+ = 0.5.
#[test]
fn single_relu_without_cancellation_is_exact() {
    let net = json::from_str(r#"{"input_dim": 2, "layers": [{"type": "linear", "weight": [[2, -1]], "bias": [0.5]}, {"type": "relu"}]}"#).unwrap();
    let plan = Plan::<f64>::new(&net, false).unwrap();
    for c in [0.0, 0.5, 1.0] {
        let a = CafeParams::new()
            .c([c])
            .build()
            .unwrap()
            .attribute(
                &plan,
                array![[1.0, 1.0]].view(),
                array![[0.0, 0.0]].view(),
                Target::Index(0),
            )
            .unwrap();
        let s = a.split.unwrap();
        assert!((s.feat_pos[[0, 0]] - 2.0).abs() < 1e-8 && (s.feat_neg[[0, 1]] - 1.0).abs() < 1e-8);
        assert!(s.feat_pos[[0, 1]] == 0.0 && s.feat_neg[[0, 0]] == 0.0);
        assert!((s.bias_pos[0] - 0.5).abs() < 1e-8 && s.bias_neg[0] == 0.0);
    }
}
