//! `--method NAME[:key=value[:key=value…]]` parsing and method construction
//! (interface.md §CLI conventions).

use conflux_core::{Attribution, Error, FeatureGroups, Float, Plan, Predict, Result, Target};
use ndarray::ArrayView2;

use crate::ablation::Ablation;
use crate::cafe::{Cafe, CafeParams, Mode};
use crate::deeplift::{DeepLift, RevealCancel};
use crate::gradient::{GradientXInput, Saliency};
use crate::gradient_shap::GradientShap;
use crate::ig::{IntegratedGradients, Rule};
use crate::kernel_shap::KernelShap;
use crate::lime::{Lime, Surrogate};
use crate::lrp::Lrp;
use crate::method::{Attributor, MethodId};
use crate::shapley_sampling::ShapleySampling;
use crate::smoothgrad::SmoothGrad;

/// A parsed method spec: kebab-case name and `key=value` parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSpec {
    /// Method id as typed.
    pub name: String,
    /// Parameters as typed.
    pub params: Vec<(String, String)>,
}

/// Method ids this build knows (and `ig`, an alias of `integrated-gradients`).
/// Rows one call explains at most (callers bound it further by memory with
/// [`Method::rows_within`]); the CLI and the Python package batch alike, so their sampling
/// draws (seeded per row of a call) agree.
pub const BATCH_ROWS: usize = 4096;

/// Every method id.
pub const KNOWN_METHODS: &[&str] = &[
    "cafe",
    "saliency",
    "gradient-x-input",
    "lrp",
    "deeplift",
    "deeplift-reveal-cancel",
    "integrated-gradients",
    "smoothgrad",
    "gradient-shap",
    "kernel-shap",
    "shapley-sampling",
    "lime",
    "ablation",
];

/// The spec as typed: `name[:key=value…]` (what `FromStr` reads back).
impl std::fmt::Display for MethodSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        for (k, v) in &self.params {
            write!(f, ":{k}={v}")?;
        }
        Ok(())
    }
}

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
                            format!(
                                "expected key=value after ':', got '{}'",
                                conflux_core::error::quote(kv)
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<(String, String)>>>()?;
        for (i, (k, _)) in params.iter().enumerate() {
            if params[..i].iter().any(|(seen, _)| seen == k) {
                return Err(Error::param(
                    "method",
                    "key",
                    k,
                    "given twice; give each parameter once",
                ));
            }
        }
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
                    format!(
                        "expected comma-separated numbers, got '{}'",
                        conflux_core::error::quote(x)
                    ),
                )
            })
        })
        .collect()
}

/// A configured method, ready to explain a compiled network.
#[derive(Debug, Clone)]
pub enum Method {
    /// CAFE.
    Cafe(Cafe),
    /// Saliency.
    Saliency(Saliency),
    /// Gradient × Input.
    GradientXInput(GradientXInput),
    /// LRP-ε.
    Lrp(Lrp),
    /// DeepLIFT Rescale.
    DeepLift(DeepLift),
    /// DeepLIFT RevealCancel.
    RevealCancel(RevealCancel),
    /// Integrated Gradients.
    IntegratedGradients(IntegratedGradients),
    /// SmoothGrad.
    SmoothGrad(SmoothGrad),
    /// Gradient SHAP.
    GradientShap(GradientShap),
    /// Kernel SHAP / exact Shapley.
    KernelShap(KernelShap),
    /// Shapley value sampling.
    ShapleySampling(ShapleySampling),
    /// LIME.
    Lime(Lime),
    /// Feature ablation.
    Ablation(Ablation),
}

impl Method {
    /// The method's id.
    pub fn id(&self) -> MethodId {
        match self {
            Method::Cafe(_) => MethodId::Cafe,
            Method::Saliency(_) => MethodId::Saliency,
            Method::GradientXInput(_) => MethodId::GradientXInput,
            Method::Lrp(_) => MethodId::Lrp,
            Method::DeepLift(_) => MethodId::DeepLift,
            Method::RevealCancel(_) => MethodId::DeepLiftRevealCancel,
            Method::IntegratedGradients(_) => MethodId::IntegratedGradients,
            Method::SmoothGrad(_) => MethodId::SmoothGrad,
            Method::GradientShap(_) => MethodId::GradientShap,
            Method::KernelShap(_) => MethodId::KernelShap,
            Method::ShapleySampling(_) => MethodId::ShapleySampling,
            Method::Lime(_) => MethodId::Lime,
            Method::Ablation(_) => MethodId::Ablation,
        }
    }

    /// What `baseline_output` means in results: `bias_ablated_reference` (CAFE, F₀(r)),
    /// `bias_ablated_reference_frozen_gates` (CAFE on a graph with LayerNorm: F₀(r) with
    /// every gate frozen at the explained row, graph.md §LayerNorm), `reference` (F(r)),
    /// `reference_frozen_gates` (DeepLIFT on a graph with LayerNorm: F(r) with every gate
    /// frozen at the explained row), or
    /// `None` when the method has no baseline.
    pub fn baseline_kind(&self, gates: bool) -> Option<&'static str> {
        match self {
            Method::Cafe(_) if gates => Some("bias_ablated_reference_frozen_gates"),
            Method::Cafe(_) => Some("bias_ablated_reference"),
            Method::DeepLift(_) if gates => Some("reference_frozen_gates"),
            Method::DeepLift(_)
            | Method::RevealCancel(_)
            | Method::IntegratedGradients(_)
            | Method::KernelShap(_)
            | Method::ShapleySampling(_) => Some("reference"),
            _ => None,
        }
    }

    /// The parameters actually used, as `(name, value)` pairs (for the output's `params`).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let list = |v: &[f64]| {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let num = |v: f64| {
            if v != 0.0 && v.abs() < 1e-4 {
                format!("{v:e}")
            } else {
                v.to_string()
            }
        };
        match self {
            Method::Cafe(c) => vec![("c", list(c.c()))],
            Method::Saliency(m) => vec![("abs", m.abs.to_string())],
            Method::GradientXInput(_) | Method::RevealCancel(_) | Method::Ablation(_) => vec![],
            Method::Lrp(m) => vec![("epsilon", num(m.epsilon))],
            Method::DeepLift(m) => vec![("eps", num(m.eps))],
            Method::IntegratedGradients(m) => vec![
                ("steps", m.steps().to_string()),
                ("rule", m.rule().name().to_string()),
            ],
            Method::SmoothGrad(m) => vec![
                ("n", m.samples.to_string()),
                ("sd", m.sd.to_string()),
                ("multiply", m.multiply_by_inputs.to_string()),
                ("seed", m.seed.to_string()),
            ],
            Method::GradientShap(m) => vec![
                ("n", m.samples.to_string()),
                ("sd", m.sd.to_string()),
                ("seed", m.seed.to_string()),
            ],
            Method::KernelShap(m) => vec![
                ("n", m.samples.to_string()),
                ("exact", m.exact.to_string()),
                ("seed", m.seed.to_string()),
            ],
            Method::ShapleySampling(m) => {
                vec![("n", m.samples.to_string()), ("seed", m.seed.to_string())]
            }
            Method::Lime(m) => {
                let mut v = vec![
                    ("n", m.samples.to_string()),
                    ("width", m.kernel_width.to_string()),
                ];
                match m.surrogate {
                    Surrogate::LeastSquares => v.push(("surrogate", "wls".into())),
                    Surrogate::Lasso { alpha } => {
                        v.extend([("surrogate", "lasso".into()), ("alpha", alpha.to_string())])
                    }
                }
                v.push(("seed", m.seed.to_string()));
                v
            }
        }
    }

    /// The working memory the method needs per explained row and target, in cells (floats or
    /// flags) for `d` features: about one row for the propagation methods; the path points,
    /// noisy copies or coalitions it builds (and their bookkeeping) for the others.
    /// Saturates instead of overflowing.
    pub fn cells_per_row(&self, d: usize) -> u64 {
        let d = d as u64;
        let groups = |g: &Option<FeatureGroups>| g.as_ref().map_or(d, |g| g.len() as u64);
        let n = |k: usize| k as u64;
        match self {
            Method::Cafe(_)
            | Method::Saliency(_)
            | Method::GradientXInput(_)
            | Method::Lrp(_)
            | Method::DeepLift(_)
            | Method::RevealCancel(_) => d,
            Method::IntegratedGradients(m) => n(m.steps()).saturating_add(1).saturating_mul(2 * d),
            Method::SmoothGrad(m) => n(m.samples).saturating_mul(2 * d),
            Method::GradientShap(m) => n(m.samples).saturating_mul(2 * d),
            Method::KernelShap(m) => {
                let g = groups(&m.groups);
                let coalitions = if m.exact {
                    u32::try_from(g)
                        .ok()
                        .and_then(|g| 1u64.checked_shl(g))
                        .unwrap_or(u64::MAX)
                } else {
                    n(m.samples).saturating_add(2)
                };
                coalitions.saturating_mul(d + g + 1)
            }
            Method::ShapleySampling(m) => {
                let g = groups(&m.groups);
                n(m.samples).saturating_mul(g + 1).saturating_mul(d + g)
            }
            Method::Lime(m) => n(m.samples).saturating_mul(d + groups(&m.groups) + 1),
            Method::Ablation(m) => (groups(&m.groups) + 1).saturating_mul(d),
        }
    }

    /// How many rows (with `targets` targets each) one call may explain within `budget`
    /// cells of working memory: at least 1, at most `max_rows`.
    ///
    /// # Errors
    /// [`Error::Param`] naming the parameter to lower when a single row needs more than
    /// `budget` cells.
    pub fn rows_within(
        &self,
        d: usize,
        targets: usize,
        budget: u64,
        max_rows: usize,
    ) -> Result<usize> {
        let per_row = self.cells_per_row(d).saturating_mul(targets.max(1) as u64);
        if per_row > budget {
            let limit = conflux_core::limits::DATA_CELLS.exceeded(budget);
            let groups = if matches!(
                self,
                Method::Ablation(_)
                    | Method::KernelShap(_)
                    | Method::ShapleySampling(_)
                    | Method::Lime(_)
            ) {
                " or group the features (--groups)"
            } else {
                ""
            };
            let knob: Option<(&'static str, String)> = match self {
                Method::IntegratedGradients(m) => Some(("steps", m.steps().to_string())),
                Method::SmoothGrad(m) => Some(("n", m.samples.to_string())),
                Method::GradientShap(m) => Some(("n", m.samples.to_string())),
                Method::KernelShap(m) if m.exact => Some(("exact", "true".into())),
                Method::KernelShap(m) => Some(("n", m.samples.to_string())),
                Method::ShapleySampling(m) => Some(("n", m.samples.to_string())),
                Method::Lime(m) => Some(("n", m.samples.to_string())),
                _ => None,
            };
            let need = format!(
                "one row of {d} features{} needs {per_row} cells of working memory: {limit}",
                if targets > 1 {
                    format!(" × {targets} (targets or copies)")
                } else {
                    String::new()
                }
            );
            return Err(match knob {
                Some((name, value)) => Error::param(
                    self.id().as_str(),
                    name,
                    value,
                    format!("{need}; lower {name}{groups}"),
                ),
                None => Error::param(self.id().as_str(), "features", d, format!("{need}{groups}")),
            });
        }
        Ok(usize::try_from(budget / per_row.max(1))
            .unwrap_or(usize::MAX)
            .clamp(1, max_rows.max(1)))
    }

    /// Checks the configuration against the network before any data is read (CAFE's
    /// per-layer `c`).
    ///
    /// # Errors
    /// [`Error::Param`].
    pub fn validate<F: Float>(&self, plan: &Plan<F>) -> Result<()> {
        match self {
            Method::Cafe(c) => c.c_per_layer(plan).map(drop),
            Method::RevealCancel(_) => RevealCancel::check(plan),
            _ => Ok(()),
        }
    }

    /// Explains `x` against `reference` (see [`Attributor::attribute`]).
    ///
    /// # Errors
    /// As the method's own `attribute`.
    pub fn attribute<F: Float>(
        &self,
        plan: &Plan<F>,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        match self {
            Method::Cafe(m) => m.attribute(plan, x, reference, target),
            Method::Saliency(m) => m.attribute(plan, x, reference, target),
            Method::GradientXInput(m) => m.attribute(plan, x, reference, target),
            Method::Lrp(m) => m.attribute(plan, x, reference, target),
            Method::DeepLift(m) => m.attribute(plan, x, reference, target),
            Method::RevealCancel(m) => m.attribute(plan, x, reference, target),
            Method::IntegratedGradients(m) => m.attribute(plan, x, reference, target),
            Method::SmoothGrad(m) => m.attribute(plan, x, reference, target),
            Method::GradientShap(m) => m.attribute(plan, x, reference, target),
            Method::KernelShap(m) => m.attribute(plan, x, reference, target),
            Method::ShapleySampling(m) => m.attribute(plan, x, reference, target),
            Method::Lime(m) => m.attribute(plan, x, reference, target),
            Method::Ablation(m) => m.attribute(plan, x, reference, target),
        }
    }
}

impl Method {
    /// Whether the method draws random samples (seeded per input row: an input row repeated
    /// within one call draws anew each time).
    pub fn samples(&self) -> bool {
        match self {
            Method::KernelShap(m) => !m.exact,
            Method::ShapleySampling(_)
            | Method::Lime(_)
            | Method::GradientShap(_)
            | Method::SmoothGrad(_) => true,
            _ => false,
        }
    }

    /// Input rows per call when averaging over a background ([`crate::background::average`]):
    /// `max_entries`, or 1 background row per call for sampling methods, so that each input
    /// row draws what a one-reference run draws (the average is then the mean of such runs).
    pub fn background_entries(&self, max_entries: usize) -> usize {
        if self.samples() { 1 } else { max_entries }
    }

    /// Whether the reference changes the result (not for saliency, gradient × input, LRP
    /// and SmoothGrad).
    pub fn uses_reference(&self) -> bool {
        !matches!(
            self,
            Method::Saliency(_)
                | Method::GradientXInput(_)
                | Method::Lrp(_)
                | Method::SmoothGrad(_)
        )
    }

    /// `true` for methods that only query the model's outputs (they explain any
    /// [`Predict`] model, an AME included).
    pub fn is_model_agnostic(&self) -> bool {
        matches!(
            self,
            Method::KernelShap(_)
                | Method::ShapleySampling(_)
                | Method::Lime(_)
                | Method::Ablation(_)
        )
    }

    /// Explains a model known only through its outputs (see [`Method::is_model_agnostic`]).
    ///
    /// # Errors
    /// [`Error::Param`] for a method that needs a layered network (gradients or the layer
    /// walk); otherwise as the method's own `attribute`.
    pub fn attribute_black_box<F: Float, M: Predict<F>>(
        &self,
        model: &M,
        x: ArrayView2<F>,
        reference: ArrayView2<F>,
        target: Target,
    ) -> Result<Attribution<F>> {
        match self {
            Method::KernelShap(m) => m.attribute(model, x, reference, target),
            Method::ShapleySampling(m) => m.attribute(model, x, reference, target),
            Method::Lime(m) => m.attribute(model, x, reference, target),
            Method::Ablation(m) => m.attribute(model, x, reference, target),
            other => Err(Error::param(
                other.id().as_str(),
                "model",
                "a model without layers (AME)",
                "this method needs a layered network; use kernel-shap, shapley-sampling, lime or ablation",
            )),
        }
    }
}

/// Reads `key=value` parameters with typed getters, rejecting unknown keys.
struct Params<'a> {
    method: &'static str,
    given: &'a [(String, String)],
}

impl Params<'_> {
    fn check(&self, allowed: &[&str]) -> Result<()> {
        for (k, _) in self.given {
            if !allowed.contains(&k.as_str()) {
                let expected = if allowed.is_empty() {
                    "this method takes no parameters".to_string()
                } else {
                    format!("expected one of {}", allowed.join(", "))
                };
                return Err(Error::param(
                    self.method,
                    "key",
                    k,
                    format!("unknown parameter; {expected}"),
                ));
            }
        }
        Ok(())
    }
    fn raw(&self, key: &str) -> Option<&str> {
        self.given
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    fn parse<T: std::str::FromStr>(&self, key: &'static str, default: T, what: &str) -> Result<T> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| Error::param(self.method, key, v, format!("expected {what}"))),
        }
    }
    fn count(&self, key: &'static str, default: usize) -> Result<usize> {
        let n = self.parse(key, default, "a positive integer")?;
        if n == 0 {
            return Err(Error::param(
                self.method,
                key,
                0,
                "expected a positive integer",
            ));
        }
        Ok(n)
    }
    fn non_negative(&self, key: &'static str, default: f64) -> Result<f64> {
        let v: f64 = self.parse(key, default, "a number")?;
        if !(v >= 0.0 && v.is_finite()) {
            return Err(Error::param(
                self.method,
                key,
                v,
                "expected a finite number ≥ 0",
            ));
        }
        Ok(v)
    }
}

impl MethodSpec {
    /// Builds the method; sampling methods get `groups` (feature groups, if any) and `seed`.
    ///
    /// # Errors
    /// [`Error::Param`] for an unknown method, an unknown key or a bad value.
    pub fn build(&self, groups: Option<&FeatureGroups>, seed: u64) -> Result<Method> {
        let name: &'static str = match self.name.as_str() {
            "ig" => "integrated-gradients",
            n => KNOWN_METHODS
                .iter()
                .copied()
                .find(|k| *k == n)
                .ok_or_else(|| {
                    Error::param(
                        "method",
                        "method",
                        &self.name,
                        format!(
                            "unknown method; expected one of {} (or ig)",
                            KNOWN_METHODS.join(", ")
                        ),
                    )
                })?,
        };
        let p = Params {
            method: name,
            given: &self.params,
        };
        let groups = groups.cloned();
        Ok(match name {
            "cafe" => Method::Cafe(self.cafe()?),
            "saliency" => {
                p.check(&["abs"])?;
                Method::Saliency(Saliency {
                    abs: p.parse("abs", false, "true or false")?,
                })
            }
            "gradient-x-input" => {
                p.check(&[])?;
                Method::GradientXInput(GradientXInput)
            }
            "lrp" => {
                p.check(&["epsilon"])?;
                Method::Lrp(Lrp {
                    epsilon: p.non_negative("epsilon", 1e-9)?,
                })
            }
            "deeplift" => {
                p.check(&["eps"])?;
                Method::DeepLift(DeepLift {
                    eps: p.non_negative("eps", 1e-10)?,
                })
            }
            "deeplift-reveal-cancel" => {
                p.check(&[])?;
                Method::RevealCancel(RevealCancel)
            }
            "integrated-gradients" => {
                p.check(&["steps", "rule"])?;
                let rule: Rule = match p.raw("rule") {
                    None => Rule::GaussLegendre,
                    Some(r) => r
                        .parse()
                        .map_err(|e: String| Error::param(name, "rule", r, e))?,
                };
                Method::IntegratedGradients(IntegratedGradients::new(p.count("steps", 50)?, rule)?)
            }
            "smoothgrad" => {
                p.check(&["n", "sd", "multiply"])?;
                Method::SmoothGrad(SmoothGrad {
                    samples: p.count("n", 5)?,
                    sd: p.non_negative("sd", 1.0)?,
                    multiply_by_inputs: p.parse("multiply", false, "true or false")?,
                    seed,
                })
            }
            "gradient-shap" => {
                p.check(&["n", "sd"])?;
                Method::GradientShap(GradientShap {
                    samples: p.count("n", 5)?,
                    sd: p.non_negative("sd", 0.0)?,
                    seed,
                })
            }
            "kernel-shap" => {
                p.check(&["n", "exact"])?;
                Method::KernelShap(KernelShap {
                    samples: p.count("n", 25)?,
                    exact: p.parse("exact", false, "true or false")?,
                    seed,
                    groups,
                })
            }
            "shapley-sampling" => {
                p.check(&["n"])?;
                Method::ShapleySampling(ShapleySampling {
                    samples: p.count("n", 25)?,
                    seed,
                    groups,
                })
            }
            "lime" => {
                p.check(&["n", "width", "surrogate", "alpha"])?;
                let surrogate = match p.raw("surrogate").unwrap_or("wls") {
                    "wls" => Surrogate::LeastSquares,
                    "lasso" => Surrogate::Lasso {
                        alpha: p.non_negative("alpha", 0.01)?,
                    },
                    other => {
                        return Err(Error::param(
                            name,
                            "surrogate",
                            other,
                            "expected wls or lasso",
                        ));
                    }
                };
                let width = p.non_negative("width", 1.0)?;
                if width == 0.0 {
                    return Err(Error::param(
                        name,
                        "width",
                        0,
                        "expected a positive kernel width",
                    ));
                }
                Method::Lime(Lime {
                    samples: p.count("n", 50)?,
                    kernel_width: width,
                    surrogate,
                    seed,
                    groups,
                })
            }
            "ablation" => {
                p.check(&[])?;
                Method::Ablation(Ablation { groups })
            }
            _ => unreachable!("every known method is matched"),
        })
    }

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

    #[test]
    fn a_spec_prints_as_it_was_typed() {
        for text in [
            "cafe",
            "ig:steps=16:rule=riemann-left",
            "cafe:c=0.2,0.8:mode=reverse",
        ] {
            let spec: MethodSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        let spaced: MethodSpec = " lime : n=5 ".parse().unwrap();
        assert_eq!(spaced.to_string(), "lime:n=5");
    }

    #[test]
    fn working_memory_is_bounded() {
        let m = |s: &str| s.parse::<MethodSpec>().unwrap().build(None, 0).unwrap();
        // Propagation: one row of d; IG: 2·(steps+1)·d; KS: (n+2)·(d+m+1).
        assert_eq!(m("cafe").cells_per_row(10), 10);
        assert_eq!(m("ig:steps=4").cells_per_row(10), 100);
        assert_eq!(m("kernel-shap:n=8").cells_per_row(10), 10 * 21);
        assert_eq!(m("ig:steps=4").rows_within(10, 1, 1000, 4096).unwrap(), 10);
        assert_eq!(m("ig:steps=4").rows_within(10, 2, 1000, 4096).unwrap(), 5);
        assert_eq!(m("cafe").rows_within(10, 1, 1 << 28, 4096).unwrap(), 4096);
        let e = m("kernel-shap:n=99999999999999")
            .rows_within(13, 1, 1 << 28, 4096)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kernel-shap: parameter n = 99999999999999")
                && e.contains("--max-data-cells")
                && e.contains("lower n"),
            "{e}"
        );
        // Sizes saturate instead of overflowing.
        let huge = format!("ig:steps={}:rule=riemann-left", usize::MAX);
        assert_eq!(m(&huge).cells_per_row(10), u64::MAX);
        let e = "ig:steps=5:steps=6"
            .parse::<MethodSpec>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("key = steps: given twice"), "{e}");
        let long = format!("ig:steps={}\u{1b}[2J", "9".repeat(100_000));
        let e = long
            .parse::<MethodSpec>()
            .unwrap()
            .build(None, 0)
            .unwrap_err()
            .to_string();
        assert!(e.len() < 300 && !e.contains('\u{1b}'), "{e}");
        let e = "ig:steps=10001"
            .parse::<MethodSpec>()
            .unwrap()
            .build(None, 0);
        assert!(e.unwrap_err().to_string().contains("at most 10000"));
    }
}
