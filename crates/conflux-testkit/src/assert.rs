//! Closeness assertions that report the worst index and both values.

/// Index and size of the worst violation of `|got − want| ≤ max(abs, rel·|want|)`, if any.
pub fn worst_violation(got: &[f64], want: &[f64], rel: f64, abs: f64) -> Option<(usize, f64)> {
    assert_eq!(got.len(), want.len(), "length mismatch");
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = abs.max(rel * w.abs());
        let excess = if g.is_nan() || w.is_nan() {
            f64::INFINITY
        } else {
            (g - w).abs() / tol
        };
        if excess > 1.0 && worst.is_none_or(|(_, e)| excess > e) {
            worst = Some((i, excess));
        }
    }
    worst
}

/// Panics with the worst index and both values when `got` and `want` differ by more than
/// `max(abs, rel·|want|)` anywhere.
#[track_caller]
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64, abs: f64) {
    if let Some((i, excess)) = worst_violation(got, want, rel, abs) {
        panic!(
            "{what}: worst mismatch at index {i}: got {}, expected {} ({excess:.2}× the tolerance rel {rel:e} / abs {abs:e})",
            got[i], want[i]
        );
    }
}
