//! Reference inputs (interface.md §Spaces and references).

use std::path::PathBuf;

/// How the reference input is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Reference {
    /// Zeros in the network's input space (after preprocessing) — the papers' convention.
    #[default]
    Zeros,
    /// Column means of the data (raw units, then preprocessed).
    Mean,
    /// Column medians of the data (raw units, then preprocessed).
    Median,
    /// A CSV or `.npy` file in raw units: one row shared by all inputs, or one row per input
    /// row.
    File(PathBuf),
}

impl std::str::FromStr for Reference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "zeros" => Reference::Zeros,
            "mean" => Reference::Mean,
            "median" => Reference::Median,
            p if p == "-"
                || p.to_ascii_lowercase().ends_with(".csv")
                || p.to_ascii_lowercase().ends_with(".npy") =>
            {
                Reference::File(PathBuf::from(p))
            }
            other => {
                return Err(format!(
                    "expected zeros, mean, median, a FILE.csv, a FILE.npy or - (standard input), got '{}'",
                    crate::error::quote(other)
                ));
            }
        })
    }
}

/// Column statistic of row-major data with `d` columns: mean (`median = false`) or median
/// (the mean of the two middle values for an even count).
pub fn column_stat(x: &[f64], d: usize, median: bool) -> Vec<f64> {
    let n = x.len() / d;
    (0..d)
        .map(|j| {
            let mut col: Vec<f64> = x.iter().skip(j).step_by(d).copied().collect();
            if median {
                col.sort_by(f64::total_cmp);
                if n % 2 == 1 {
                    col[n / 2]
                } else {
                    0.5 * (col[n / 2 - 1] + col[n / 2])
                }
            } else {
                #[allow(clippy::cast_precision_loss)]
                let m = col.iter().sum::<f64>() / n as f64;
                m
            }
        })
        .collect()
}
