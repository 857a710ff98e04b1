//! Feature groups (`--groups FILE.json`): `{"group": ["col", …], …}`, every feature in exactly
//! one group. Sampling methods switch whole groups on and off (one-hot encoded categoricals
//! must move together); each feature of a group reports the group's score (Captum's feature
//! mask convention).

use std::path::Path;

use crate::error::{Error, Result, list, quote, quote_json};

/// A partition of the features into named groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureGroups {
    names: Vec<String>,
    members: Vec<Vec<usize>>,
    group_of: Vec<usize>,
}

impl FeatureGroups {
    /// One group per feature.
    pub fn singletons(names: &[String]) -> Self {
        FeatureGroups {
            names: names.to_vec(),
            members: (0..names.len()).map(|i| vec![i]).collect(),
            group_of: (0..names.len()).collect(),
        }
    }

    /// Square (or `kh × kw`) image patches as groups (graph.md §Inputs and outputs for
    /// images): the input of shape `[C, H, W]` is tiled from its top-left
    /// corner, edge patches are smaller, and every patch spans all channels. Group
    /// `patch_{i}_{j}` holds rows `i·kh..` and columns `j·kw..` (C-order feature indices).
    ///
    /// # Errors
    /// [`Error::Param`] for a zero patch size or an input that is not an image.
    pub fn patches(shape: &[usize], kh: usize, kw: usize) -> Result<Self> {
        let [c, h, w] = *shape else {
            return Err(Error::param(
                "groups",
                "patch",
                format!("{kh}x{kw}"),
                format!(
                    "patch groups need a model whose input is an image [C, H, W]; this model's input is {shape:?} (an ONNX model with a flat input takes --input-shape C,H,W)"
                ),
            ));
        };
        if kh == 0 || kw == 0 {
            return Err(Error::param(
                "groups",
                "patch",
                format!("{kh}x{kw}"),
                "a patch is at least 1x1",
            ));
        }
        let (rows, cols) = (h.div_ceil(kh), w.div_ceil(kw));
        let mut groups = Vec::with_capacity(rows * cols);
        for i in 0..rows {
            for j in 0..cols {
                let mut m = Vec::new();
                for ch in 0..c {
                    for y in i * kh..((i + 1) * kh).min(h) {
                        for x in j * kw..((j + 1) * kw).min(w) {
                            m.push((ch * h + y) * w + x);
                        }
                    }
                }
                groups.push((format!("patch_{i}_{j}"), m));
            }
        }
        Self::new(c * h * w, groups)
    }

    /// Builds groups from `(name, feature indices)`, checking that they partition `0..d`.
    ///
    /// # Errors
    /// [`Error::Model`] (with an empty path) naming a feature in two groups or in none.
    pub fn new(d: usize, groups: Vec<(String, Vec<usize>)>) -> Result<Self> {
        let mut group_of = vec![usize::MAX; d];
        for (g, (name, m)) in groups.iter().enumerate() {
            if m.is_empty() {
                return Err(Error::model(
                    "",
                    format!("group '{}' is empty", quote(name)),
                ));
            }
            for &f in m {
                if f >= d {
                    return Err(Error::model(
                        "",
                        format!(
                            "group '{}': feature index {f} out of range 0..{d}",
                            quote(name)
                        ),
                    ));
                }
                if group_of[f] != usize::MAX {
                    return Err(Error::model(
                        "",
                        format!(
                            "feature {f} is in two groups ('{}' and '{}')",
                            quote(&groups[group_of[f]].0),
                            quote(name)
                        ),
                    ));
                }
                group_of[f] = g;
            }
        }
        if let Some(f) = group_of.iter().position(|&g| g == usize::MAX) {
            return Err(Error::model(
                "",
                format!("feature {f} is in no group; every feature must be in exactly one"),
            ));
        }
        let (names, members) = groups.into_iter().unzip();
        Ok(FeatureGroups {
            names,
            members,
            group_of,
        })
    }

    /// Reads `{"group": ["col", …], …}` and resolves column names against `features`.
    ///
    /// # Errors
    /// [`Error::Io`], or [`Error::Model`] naming the file and the unknown, missing or
    /// repeated column.
    pub fn load(path: &Path, features: &[String]) -> Result<Self> {
        let text = crate::io::read::read_text(
            path,
            crate::io::read::Source::Named,
            crate::Limits::current().json_bytes(),
        )?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::model(
                path,
                format!("expected a JSON object of groups, got invalid JSON ({e})"),
            )
        })?;
        let obj = v.as_object().ok_or_else(|| {
            Error::model(path, "expected a JSON object {\"group\": [\"column\", …]}")
        })?;
        let column: std::collections::HashMap<&str, usize> = features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.as_str(), i))
            .collect();
        let mut groups = Vec::new();
        for (name, cols) in obj {
            let cols = cols.as_array().ok_or_else(|| {
                Error::model(
                    path,
                    format!("group '{}': expected an array of column names", quote(name)),
                )
            })?;
            let idx = cols
                .iter()
                .map(|c| {
                    let c = c.as_str().ok_or_else(|| {
                        Error::model(
                            path,
                            format!(
                                "group '{}': expected column names, got {}",
                                quote(name),
                                quote_json(c)
                            ),
                        )
                    })?;
                    column.get(c).copied().ok_or_else(|| {
                        Error::model(
                            path,
                            format!(
                                "group '{}': unknown column '{}'; features are {}",
                                quote(name),
                                quote(c),
                                list(features)
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            groups.push((name.clone(), idx));
        }
        Self::natural(features.len(), groups).map_err(|e| e.with_path(path))
    }

    /// [`FeatureGroups::new`] with the groups in their natural order, by first member, as
    /// a groups file is read (so the order a file or a dict lists them in does not matter).
    ///
    /// # Errors
    /// As [`FeatureGroups::new`].
    pub fn natural(d: usize, mut groups: Vec<(String, Vec<usize>)>) -> Result<Self> {
        groups.sort_by_key(|(_, m)| m.iter().copied().min().unwrap_or(usize::MAX));
        Self::new(d, groups)
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.members.len()
    }
    /// `true` when there are no groups.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    /// Group names.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Feature indices of group `g`.
    pub fn members(&self, g: usize) -> &[usize] {
        &self.members[g]
    }
    /// The group of feature `f`.
    pub fn group_of(&self, f: usize) -> usize {
        self.group_of[f]
    }
    /// Number of features.
    pub fn features(&self) -> usize {
        self.group_of.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_checked() {
        assert!(
            FeatureGroups::new(3, vec![("a".into(), vec![0, 2]), ("b".into(), vec![1])]).is_ok()
        );
        let e = FeatureGroups::new(3, vec![("a".into(), vec![0, 1]), ("b".into(), vec![1])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("feature 1 is in two groups"), "{e}");
        let e = FeatureGroups::new(3, vec![("a".into(), vec![0])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("feature 1 is in no group"), "{e}");
    }

    #[test]
    fn patches_tile_from_the_top_left_and_span_channels() {
        // [2, 3, 5] in 2×2 patches: 2 × 3 patches, the last row and column smaller.
        let g = FeatureGroups::patches(&[2, 3, 5], 2, 2).unwrap();
        assert_eq!(g.len(), 6);
        assert_eq!(g.names()[5], "patch_1_2");
        assert_eq!(g.members(0), [0, 1, 5, 6, 15, 16, 20, 21]);
        // Row 2 (the edge row) and column 4 (the edge column): one pixel per channel.
        assert_eq!(g.members(5), [14, 29]);
        assert_eq!(g.group_of(29), 5);
        assert_eq!(FeatureGroups::patches(&[1, 4, 4], 4, 4).unwrap().len(), 1);
        // Only images: a tabular row or a 1-D signal [C, L] has no patches.
        for shape in [&[12][..], &[3, 4], &[1, 2, 3, 4]] {
            let e = FeatureGroups::patches(shape, 2, 2).unwrap_err().to_string();
            assert!(
                e.contains("an image [C, H, W]") && e.contains(&format!("{shape:?}")),
                "{e}"
            );
        }
        let e = FeatureGroups::patches(&[1, 4, 4], 0, 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1x1"), "{e}");
    }
}
