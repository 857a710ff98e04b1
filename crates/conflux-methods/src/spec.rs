//! `--method NAME[:key=value[:key=value…]]` parsing and method construction
//! (interface.md §CLI conventions).

use conflux_core::{Error, Result};

use crate::cafe::{Cafe, CafeParams, Mode};

/// A parsed method spec: kebab-case name and `key=value` parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSpec {
    /// Method id as typed.
    pub name: String,
    /// Parameters as typed.
    pub params: Vec<(String, String)>,
}

/// Method ids this build knows.
pub const KNOWN_METHODS: &[&str] = &["cafe"];

impl std::str::FromStr for MethodSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.split(':');
        let name = parts.next().unwrap_or_default().trim().to_string();
        if name.is_empty() {
            return Err(Error::param(
                "method",
                "method",
                s,
                "expected NAME[:key=value…]",
            ));
        }
        let params = parts
            .map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                    .ok_or_else(|| {
                        Error::param(
                            "method",
                            "method",
                            s,
                            format!("expected key=value after ':', got '{kv}'"),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MethodSpec { name, params })
    }
}

/// Parses a comma-separated list of numbers (`0.2,0.5`).
///
/// # Errors
/// [`Error::Param`] naming `method` and `name` when an element is not a number.
pub fn parse_list(method: &'static str, name: &'static str, v: &str) -> Result<Vec<f64>> {
    v.split(',')
        .map(|x| {
            x.trim().parse::<f64>().map_err(|_| {
                Error::param(
                    method,
                    name,
                    v,
                    format!("expected comma-separated numbers, got '{x}'"),
                )
            })
        })
        .collect()
}

impl MethodSpec {
    /// Builds CAFE from this spec (`c=LIST`, `mode=auto|forward|reverse`).
    ///
    /// # Errors
    /// [`Error::Param`] for another method name, an unknown key or a bad value.
    pub fn cafe(&self) -> Result<Cafe> {
        if self.name != "cafe" {
            return Err(Error::param(
                "method",
                "method",
                &self.name,
                format!(
                    "unknown method; expected one of {}",
                    KNOWN_METHODS.join(", ")
                ),
            ));
        }
        let mut p = CafeParams::new();
        for (k, v) in &self.params {
            p = match k.as_str() {
                "c" => p.c(parse_list("cafe", "c", v)?),
                "mode" => p.mode(match v.as_str() {
                    "auto" => Mode::Auto,
                    "forward" => Mode::Forward,
                    "reverse" => Mode::Reverse,
                    _ => {
                        return Err(Error::param(
                            "cafe",
                            "mode",
                            v,
                            "expected auto, forward or reverse",
                        ));
                    }
                }),
                _ => {
                    return Err(Error::param(
                        "cafe",
                        "key",
                        k,
                        "unknown parameter; expected c or mode",
                    ));
                }
            };
        }
        p.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let s: MethodSpec = "cafe:c=0.2,0.5:mode=forward".parse().unwrap();
        assert_eq!(s.params.len(), 2);
        assert_eq!(s.cafe().unwrap().c(), &[0.2, 0.5]);
        assert!(matches!(
            "cafe:c".parse::<MethodSpec>(),
            Err(Error::Param { .. })
        ));
        assert!(matches!(
            "cafe:q=1".parse::<MethodSpec>().unwrap().cafe(),
            Err(Error::Param { name: "key", .. })
        ));
        assert!(matches!(
            "cafe:c=x".parse::<MethodSpec>().unwrap().cafe(),
            Err(Error::Param { name: "c", .. })
        ));
        assert!(matches!(
            "lime".parse::<MethodSpec>().unwrap().cafe(),
            Err(Error::Param { name: "method", .. })
        ));
    }
}
