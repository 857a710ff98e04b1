//! The CAFE paper's synthetic conflict data (evaluation.md §Synthetic conflict data):
//! continuous features `z ~ N(0, σ²I_d)`, cancellation flags `k_i ~ Bernoulli(q)`, label
//! `y = Σ w_i z_i (1 − k_i)` with `w_i ~ U(−1, 1)` drawn once per dataset, and ground-truth
//! attributions: `z_i` gets `w_i z_i`, `k_i` gets `−w_i z_i` when set (they sum to `y`).

use crate::rng::Rng;

/// Generation parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConflictSpec {
    /// Continuous features d (the data has 2d feature columns).
    pub dim: usize,
    /// Conflict (cancellation) likelihood q.
    pub likelihood: f64,
    /// Noise standard deviation σ of the continuous features (the authors use 10).
    pub sigma: f64,
    /// Rows.
    pub rows: usize,
    /// Seed.
    pub seed: u64,
}

/// A generated dataset: `x` `[rows, 2d]` (`z` then `k`), labels, ground truth `[rows, 2d]`
/// and the weights.
#[derive(Debug, Clone)]
pub struct ConflictData {
    /// Features, row-major.
    pub x: Vec<f64>,
    /// Labels.
    pub y: Vec<f64>,
    /// Ground-truth attributions, row-major.
    pub truth: Vec<f64>,
    /// The weights `w`.
    pub weights: Vec<f64>,
}

impl ConflictSpec {
    /// Column names: `z0…`, `k0…` (features), `y` (label), `gt_z0…`, `gt_k0…` (ground truth).
    pub fn columns(&self) -> Vec<String> {
        let d = self.dim;
        let mut c: Vec<String> = (0..d)
            .map(|i| format!("z{i}"))
            .chain((0..d).map(|i| format!("k{i}")))
            .collect();
        c.push("y".into());
        c.extend(
            (0..d)
                .map(|i| format!("gt_z{i}"))
                .chain((0..d).map(|i| format!("gt_k{i}"))),
        );
        c
    }

    /// Generates the data (deterministic in `seed`).
    pub fn generate(&self) -> ConflictData {
        let d = self.dim;
        let mut wr = Rng::for_row(self.seed, usize::MAX);
        let weights: Vec<f64> = (0..d).map(|_| 2.0 * wr.uniform() - 1.0).collect();
        let (mut x, mut y, mut truth) = (
            Vec::with_capacity(self.rows * 2 * d),
            Vec::with_capacity(self.rows),
            Vec::with_capacity(self.rows * 2 * d),
        );
        for row in 0..self.rows {
            let mut rng = Rng::for_row(self.seed, row);
            let z: Vec<f64> = (0..d).map(|_| self.sigma * rng.normal()).collect();
            let k: Vec<bool> = (0..d).map(|_| rng.uniform() < self.likelihood).collect();
            x.extend(&z);
            x.extend(k.iter().map(|&b| f64::from(u8::from(b))));
            y.push(
                (0..d)
                    .map(|i| if k[i] { 0.0 } else { weights[i] * z[i] })
                    .sum(),
            );
            truth.extend((0..d).map(|i| weights[i] * z[i]));
            truth.extend((0..d).map(|i| if k[i] { -weights[i] * z[i] } else { 0.0 }));
        }
        ConflictData {
            x,
            y,
            truth,
            weights,
        }
    }
}

impl ConflictData {
    /// The dataset as CSV text with [`ConflictSpec::columns`].
    pub fn to_csv(&self, spec: &ConflictSpec) -> String {
        let d2 = 2 * spec.dim;
        let mut s = spec.columns().join(",");
        s.push('\n');
        for (r, &label) in self.y.iter().enumerate() {
            let cells: Vec<String> = self.x[r * d2..(r + 1) * d2]
                .iter()
                .chain(std::iter::once(&label))
                .chain(&self.truth[r * d2..(r + 1) * d2])
                .map(|v| format!("{v:?}"))
                .collect();
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ground_truth_sums_to_the_label() {
        let spec = ConflictSpec {
            dim: 3,
            likelihood: 0.25,
            sigma: 10.0,
            rows: 500,
            seed: 4,
        };
        let data = spec.generate();
        let mut flagged = 0;
        for r in 0..spec.rows {
            let t: f64 = data.truth[r * 6..(r + 1) * 6].iter().sum();
            assert!((t - data.y[r]).abs() < 1e-9);
            flagged += data.x[r * 6 + 3..(r + 1) * 6]
                .iter()
                .filter(|&&k| k == 1.0)
                .count();
        }
        let rate = flagged as f64 / 1500.0;
        assert!((rate - 0.25).abs() < 0.04, "{rate}");
        assert_eq!(spec.generate().x, data.x, "deterministic");
        assert!(data.weights.iter().all(|w| (-1.0..1.0).contains(w)));
    }
}
