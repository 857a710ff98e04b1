//! AME end to end on synthetic data with known influences (ame.md; issue acceptance):
//! three informative groups with weights 3 : 2 : 1 and two pure-noise groups.

use conflux_core::ame::AmeTask;
use conflux_core::ame::json;
use conflux_core::rng::Rng;
use conflux_core::{FeatureGroups, Predict};
use conflux_train::{AmeConfig, train_ame};

/// Five groups of two standard-normal features; `y = Σ_g w_g (x_g0 + x_g1) + noise` with
/// `w = (3, 2, 1, 0, 0)`.
fn data(rows: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<String>, FeatureGroups) {
    let w = [3.0, 2.0, 1.0, 0.0, 0.0];
    let d = 10;
    let mut x = Vec::with_capacity(rows * d);
    let mut y = Vec::with_capacity(rows);
    for r in 0..rows {
        let mut rng = Rng::for_row(seed, r);
        let row: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        y.push(
            (0..5)
                .map(|g| w[g] * (row[2 * g] + row[2 * g + 1]))
                .sum::<f64>()
                + 0.1 * rng.normal(),
        );
        x.extend(row);
    }
    let names: Vec<String> = (0..d).map(|i| format!("x{i}")).collect();
    let groups = FeatureGroups::new(
        d,
        ["strong", "medium", "weak", "noise_a", "noise_b"]
            .iter()
            .enumerate()
            .map(|(g, n)| (n.to_string(), vec![2 * g, 2 * g + 1]))
            .collect(),
    )
    .unwrap();
    (x, y, names, groups)
}

/// Trains AME(α = 0.05) and AME(α = 0) and checks the importances against the truth.
fn check_task(task: AmeTask, epochs: usize) {
    let (x, y, names, groups) = data(3000, 11);
    let y: Vec<f64> = match task {
        AmeTask::Binary => y.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect(),
        _ => y,
    };
    let mut report = String::new();
    let mut results = Vec::new();
    for alpha in [0.05, 0.0] {
        let mut cfg = AmeConfig::new(task);
        cfg.alpha = alpha;
        cfg.epochs = epochs;
        cfg.seed = 4;
        let (ame, rep) =
            train_ame(&x, &y, names.clone(), Some(groups.clone()), &cfg, |_| {}).unwrap();
        let v = rep.validation.clone().expect("a validation split");
        report.push_str(&format!(
            "{task:?} α = {alpha}: importance {:?}, MGE {:.4}, r² {:.3}, {:?}\n",
            v.importance
                .iter()
                .map(|a| (a * 1000.0).round() / 1000.0)
                .collect::<Vec<_>>(),
            v.mge,
            v.granger_r2,
            v.quality
        ));
        results.push((ame, v));
    }
    // Both runs side by side (`cargo test -- --nocapture` shows them).
    println!("{report}");
    let (ame, v) = &results[0];
    let imp = &v.importance;
    assert!(
        imp[0] > imp[1] && imp[1] > imp[2],
        "ordered like 3 : 2 : 1\n{report}"
    );
    assert!(
        imp[3] < 0.05 && imp[4] < 0.05,
        "noise groups < 5 %\n{report}"
    );
    assert!(
        v.mge < 0.8 * results[1].1.mge,
        "the objective lowers the MGE\n{report}"
    );
    assert!(
        v.granger_r2 > results[1].1.granger_r2,
        "and raises r²\n{report}"
    );
    match task {
        // A mixture Σ a_i c_i with every c_i also trained to predict y alone fits an additive
        // target only approximately; predicting the mean gives RMSE ≈ 5.3.
        AmeTask::Regression => assert!(v.quality[0].1 < 2.2, "{report}"),
        _ => assert!(v.quality[0].1 > 0.95, "{report}"),
    }

    // Save → load → identical predictions and importances.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ame.json");
    json::save(ame, None, &path).unwrap();
    let back = json::load(&path).unwrap();
    assert_eq!(&back, ame);
    let mut xs = x[..200 * 10].to_vec();
    ame.preprocess.as_ref().unwrap().apply(&mut xs);
    let (f1, f2) = (ame.forward(&xs, 200), back.forward(&xs, 200));
    assert_eq!(f1.y, f2.y);
    assert_eq!(f1.a, f2.a);
    let p1: Vec<f64> = Predict::<f64>::predict(ame, &xs, 200);
    assert_eq!(p1, Predict::<f64>::predict(&back, &xs, 200));
}

#[test]
fn regression_importances_follow_the_true_influences() {
    check_task(AmeTask::Regression, 40);
}

#[test]
fn binary_importances_follow_the_true_influences() {
    check_task(AmeTask::Binary, 40);
}

#[test]
fn same_seed_same_model() {
    let (x, y, names, groups) = data(300, 2);
    let mut cfg = AmeConfig::new(AmeTask::Regression);
    cfg.epochs = 3;
    cfg.seed = 9;
    let (a, _) = train_ame(&x, &y, names.clone(), Some(groups.clone()), &cfg, |_| {}).unwrap();
    let (b, _) = train_ame(&x, &y, names.clone(), Some(groups.clone()), &cfg, |_| {}).unwrap();
    assert_eq!(a, b);
    cfg.seed = 10;
    let (c, _) = train_ame(&x, &y, names, Some(groups), &cfg, |_| {}).unwrap();
    assert_ne!(a, c);
}

#[test]
fn bad_configurations_are_named() {
    let (x, y, names, groups) = data(50, 1);
    let mut cfg = AmeConfig::new(AmeTask::Regression);
    cfg.alpha = 1.5;
    let e = train_ame(&x, &y, names.clone(), Some(groups.clone()), &cfg, |_| {}).unwrap_err();
    assert!(e.to_string().contains("alpha"), "{e}");
    let cfg = AmeConfig::new(AmeTask::Binary);
    let e = train_ame(&x, &y, names, Some(groups), &cfg, |_| {}).unwrap_err();
    assert!(
        e.to_string().contains("expected 0 or 1 for a binary task"),
        "{e}"
    );
}
