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
        // Natural order: by first member.
        groups.sort_by_key(|(_, m)| m.iter().copied().min().unwrap_or(usize::MAX));
        Self::new(features.len(), groups).map_err(|e| e.with_path(path))
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
}
