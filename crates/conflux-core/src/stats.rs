//! Rank, correlation and classification statistics shared by the evaluations: AUC and
//! arg-max, the AME's Granger r², the report's rank agreement between methods.

/// 1-based ranks of `v`, ties sharing their mean rank.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation of two equally long vectors (0 when either is constant or shorter
/// than 2).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let mut c = Correlation::default();
    for (&a, &b) in x.iter().zip(y) {
        c.push(a, b);
    }
    c.pearson()
}

/// Pearson's correlation accumulated one pair at a time (Welford's co-moments, stable in
/// one pass), for data streamed in blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Correlation {
    n: f64,
    mx: f64,
    my: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Correlation {
    /// Adds the pair `(x, y)`.
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let dx = x - self.mx;
        self.mx += dx / self.n;
        let dy = y - self.my;
        self.my += dy / self.n;
        self.sxx += dx * (x - self.mx);
        self.syy += dy * (y - self.my);
        self.sxy += dx * (y - self.my);
    }

    /// The correlation so far (0 when either side is constant or fewer than 2 pairs).
    pub fn pearson(&self) -> f64 {
        if self.n < 2.0 || self.sxx <= 0.0 || self.syy <= 0.0 {
            0.0
        } else {
            (self.sxy / (self.sxx * self.syy).sqrt()).clamp(-1.0, 1.0)
        }
    }
}

/// Spearman's rank correlation: Pearson's of the ranks (ties at their mean rank, as
/// `scipy.stats.spearmanr`).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Area under the ROC curve (ties counted half); NaN with one class only.
pub fn auc(scores: &[f64], labels: &[f64]) -> f64 {
    let ranks = ranks(scores);
    let (mut rank_sum, mut pos) = (0.0, 0.0);
    for (r, &l) in ranks.iter().zip(labels) {
        if l > 0.5 {
            rank_sum += r;
            pos += 1.0;
        }
    }
    let neg = scores.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        f64::NAN
    } else {
        (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
    }
}

/// Index of the largest value (the first of equals).
pub fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |b, (i, x)| if *x > v[b] { i } else { b })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_correlations() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-15);
        assert!((pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-15);
        // Anti-correlated: r = −1 (the Granger r² squares it to 1).
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-15);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
        // Far from the origin the one-pass co-moments keep their digits.
        let x: Vec<f64> = (0..1000).map(|i| 1e9 + (i % 7) as f64).collect();
        let y: Vec<f64> = x.iter().map(|v| 3.0 * v + 1.0).collect();
        assert!((pearson(&x, &y) - 1.0).abs() < 1e-9);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 300.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ranks (1.5, 1.5, 3) against (1, 2, 3): √3/2, scipy.stats.spearmanr's value.
        assert!((spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]) - 3f64.sqrt() / 2.0).abs() < 1e-12);
    }
}
