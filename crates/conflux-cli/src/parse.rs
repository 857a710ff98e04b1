//! Value parsers for numeric flags: every number a user types is range-checked by the
//! argument parser, so the error names the flag (`invalid value '-1' for '--radius <R>':
//! expected a number > 0`) and nothing runs with a nonsensical value.

/// An integer ≥ 1 (counts: rows, samples, epochs, threads, widths).
pub fn count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected an integer ≥ 1".into()),
    }
}

/// An integer ≥ 0 (patience, where 0 means never).
pub fn natural(s: &str) -> Result<usize, String> {
    s.trim()
        .parse::<usize>()
        .map_err(|_| "expected an integer ≥ 0".into())
}

fn number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("expected a finite number".into()),
    }
}

/// A finite number > 0 (radii, learning rates, standard deviations of noise, seconds).
pub fn positive(s: &str) -> Result<f64, String> {
    match number(s) {
        Ok(v) if v > 0.0 => Ok(v),
        _ => Err("expected a number > 0".into()),
    }
}

/// A finite number ≥ 0 (standard deviations, weight decay).
pub fn non_negative(s: &str) -> Result<f64, String> {
    match number(s) {
        Ok(v) if v >= 0.0 => Ok(v),
        _ => Err("expected a number ≥ 0".into()),
    }
}

/// A probability in [0, 1].
pub fn probability(s: &str) -> Result<f64, String> {
    match number(s) {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err("expected a number in [0, 1]".into()),
    }
}

/// A fraction in [0, 1): validation splits, dropout rates.
pub fn split(s: &str) -> Result<f64, String> {
    match number(s) {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err("expected a number in [0, 1)".into()),
    }
}

/// A resource limit: a positive integer with an optional K, M, G or T suffix (×1024ⁿ).
pub fn limit(s: &str) -> Result<u64, String> {
    conflux_core::limits::parse_limit(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(count("3"), Ok(3));
        for bad in ["0", "-1", "1.5", "x", ""] {
            assert!(count(bad).is_err(), "{bad}");
        }
        assert_eq!(natural("0"), Ok(0));
        assert!(natural("-1").is_err());
        assert_eq!(positive("0.02"), Ok(0.02));
        for bad in ["0", "-1", "nan", "inf", "x"] {
            assert!(positive(bad).is_err(), "{bad}");
        }
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-0.1").is_err());
        assert_eq!(probability("1"), Ok(1.0));
        assert!(probability("1.01").is_err() && probability("-0.1").is_err());
        assert!(split("0").is_ok() && split("1").is_err() && split("-0.1").is_err());
        assert_eq!(limit("16M"), Ok(16 << 20));
        assert!(limit("0").is_err());
    }
}

/// A per-row input shape (`--input-shape`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape(pub Vec<usize>);

/// A per-row input shape such as `1,28,28` (positive integers, at most 8 of them).
pub fn shape(s: &str) -> Result<Shape, String> {
    let dims: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>().ok().filter(|&d| d > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            format!("expected positive integers separated by commas, e.g. 1,28,28, got '{s}'")
        })?;
    conflux_core::io::valid_input_shape(&dims)?;
    Ok(Shape(dims))
}

/// `--groups`: a JSON file of named groups, or `patch:KxK` square image patches
/// (graph.md; `patch:HxW` for rectangles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    /// `{"group": ["column", …], …}`.
    File(std::path::PathBuf),
    /// Patches of `(height, width)` pixels spanning every channel.
    Patch(usize, usize),
}

impl Groups {
    /// The file, when the groups come from one (checked like every input file).
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Groups::File(p) => Some(p),
            Groups::Patch(..) => None,
        }
    }

    /// The groups for a model with per-row input `shape` whose features are `features`.
    ///
    /// # Errors
    /// An unreadable or inconsistent groups file; patches on a non-image input.
    pub fn resolve(
        &self,
        features: &[String],
        shape: &[usize],
    ) -> anyhow::Result<conflux_core::FeatureGroups> {
        use anyhow::Context;
        match self {
            Groups::File(p) => conflux_core::FeatureGroups::load(p, features),
            Groups::Patch(h, w) => conflux_core::FeatureGroups::patches(shape, *h, *w),
        }
        .context("--groups")
    }
}

/// Parses `--groups`: `patch:KxK` (or `patch:HxW`), otherwise a file path.
pub fn groups(s: &str) -> Result<Groups, String> {
    let Some(size) = s.strip_prefix("patch:") else {
        return Ok(Groups::File(s.into()));
    };
    let (h, w) = dims2(size)
        .ok_or_else(|| format!("expected patch:KxK with K ≥ 1 (e.g. patch:4x4), got '{s}'"))?;
    Ok(Groups::Patch(h, w))
}

/// `HxW` with both sizes ≥ 1 (`x` or `X` between them).
pub fn dims2(s: &str) -> Option<(usize, usize)> {
    let (h, w) = s.split_once(['x', 'X'])?;
    Some((count(h).ok()?, count(w).ok()?))
}
