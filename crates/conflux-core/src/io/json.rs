//! conflux's JSON model format (interface.md §Model file): load and save. Version 1 is a
//! layer list; version 2 (a graph of named nodes, [`super::json_graph`]) holds any
//! supported graph and is what networks in graph form are saved as.
//!
//! Unknown keys at the top level are ignored; inside a layer, an unknown or a missing
//! required key is an error naming the layer index and the key.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::net::Network;
use crate::net::Preprocess;
use crate::net::activation::Activation;
use crate::net::layer::{BatchNorm, Dense, Head, Layer};

/// The `format` tag of conflux model files.
pub const FORMAT: &str = "conflux-model";

/// Reads a model file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Model`]/[`Error::Layer`] naming the
/// file, layer and key when its content is not a valid model.
pub fn load(path: &Path) -> Result<Network> {
    load_with(path, &Limits::current())
}

/// As [`load`], reading at most `limits.model_bytes` bytes.
///
/// # Errors
/// As [`load`].
pub fn load_with(path: &Path, limits: &Limits) -> Result<Network> {
    let text = super::read::read_text(path, super::read::Source::Named, limits.json_bytes())?;
    from_str(&text).map_err(|e| e.with_path(path))
}

/// Parses a model from JSON text (errors carry an empty path).
///
/// # Errors
/// As [`load`].
pub fn from_str(text: &str) -> Result<Network> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| Error::model("", format!("expected a JSON model, got invalid JSON ({e})")))?;
    from_value(&v)
}

/// Builds a network from a parsed JSON value (errors carry an empty path).
///
/// # Errors
/// As [`load`].
pub fn from_value(v: &Value) -> Result<Network> {
    let top = v
        .as_object()
        .ok_or_else(|| Error::model("", "expected a JSON object at the top level"))?;
    if let Some(f) = top.get("format")
        && f.as_str() != Some(FORMAT)
    {
        return Err(Error::model(
            "",
            format!("expected \"format\": \"{FORMAT}\", got {}", short(f)),
        ));
    }
    if let Some(fv) = top.get("format_version")
        && fv.as_u64() != Some(1)
    {
        if fv.as_u64() == Some(2) {
            return super::json_graph::from_top(top);
        }
        return Err(Error::model(
            "",
            format!("expected format_version 1 or 2, got {}", short(fv)),
        ));
    }
    let layers_v = top
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::model("", "expected a \"layers\" array"))?;
    if layers_v.is_empty() {
        return Err(Error::model("", "expected at least one layer, got none"));
    }
    let mut layers = Vec::new();
    let mut head = None;
    let last = layers_v.len() - 1;
    for (i, lv) in layers_v.iter().enumerate() {
        let obj = lv.as_object().ok_or_else(|| {
            Error::layer("", i, "?", format!("expected an object, got {}", short(lv)))
        })?;
        let ty = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::layer("", i, "?", "missing required key \"type\""))?;
        let l = LayerReader { i, ty, obj };
        let layer = match ty {
            "linear" => {
                l.keys(&["weight", "bias"])?;
                let (rows, cols, weight) = l.matrix("weight")?;
                let bias = match obj.get("bias") {
                    None | Some(Value::Null) => None,
                    Some(_) => Some(l.vector("bias")?),
                };
                Layer::Dense(Dense::new(rows, cols, weight, bias).map_err(|r| l.err(r))?)
            }
            "relu" => l.act(&[], Activation::Relu)?,
            "leaky_relu" => {
                l.keys(&["negative_slope"])?;
                Layer::Act(Activation::LeakyRelu {
                    slope: l.number_or("negative_slope", 0.01)?,
                })
            }
            "elu" => {
                l.keys(&["alpha"])?;
                Layer::Act(Activation::Elu {
                    alpha: l.number_or("alpha", 1.0)?,
                })
            }
            "selu" => l.act(&[], Activation::Selu)?,
            "gelu" => {
                l.keys(&["approximate"])?;
                match obj.get("approximate").map(|v| v.as_str()) {
                    None | Some(Some("none")) => Layer::Act(Activation::Gelu),
                    Some(Some("tanh")) => Layer::Act(Activation::GeluTanh),
                    Some(_) => {
                        return Err(l.err(format!(
                            "expected approximate \"none\" or \"tanh\", got {}",
                            short(&obj["approximate"])
                        )));
                    }
                }
            }
            "silu" => l.act(&[], Activation::Silu)?,
            "softplus" => {
                l.keys(&["beta", "threshold"])?;
                Layer::Act(Activation::Softplus {
                    beta: l.number_or("beta", 1.0)?,
                    threshold: l.number_or("threshold", 20.0)?,
                })
            }
            "sigmoid" if i == last => {
                l.keys(&[])?;
                head = Some(Head::Sigmoid);
                continue;
            }
            "sigmoid" => l.act(&[], Activation::Sigmoid)?,
            "tanh" => l.act(&[], Activation::Tanh)?,
            "identity" => l.act(&[], Activation::Identity)?,
            "dropout" => {
                l.keys(&["p"])?;
                Layer::Dropout {
                    p: l.number_or("p", 0.5)?,
                }
            }
            "flatten" => {
                l.keys(&["start_dim", "end_dim"])?;
                Layer::Flatten
            }
            "batchnorm" => {
                l.keys(&["mean", "var", "weight", "bias", "eps"])?;
                Layer::BatchNorm(BatchNorm {
                    mean: l.vector("mean")?,
                    var: l.vector("var")?,
                    weight: l.vector("weight")?,
                    bias: l.vector("bias")?,
                    eps: l.number_or("eps", 1e-5)?,
                })
            }
            "softmax" | "log_softmax" => {
                l.keys(&["dim"])?;
                if i != last {
                    return Err(l.err(format!(
                        "expected an output head in last position, got it at position {i} of {}",
                        last + 1
                    )));
                }
                head = Some(if ty == "softmax" {
                    Head::Softmax
                } else {
                    Head::LogSoftmax
                });
                continue;
            }
            other => {
                return Err(l.err(format!(
                    "unknown layer type \"{}\"; expected one of linear, relu, leaky_relu, elu, selu, gelu, silu, softplus, sigmoid, tanh, identity, dropout, flatten, batchnorm, softmax, log_softmax",
                    crate::error::quote(other)
                )));
            }
        };
        layers.push(layer);
    }
    let input_dim = match top.get("input_dim") {
        Some(v) => v
            .as_u64()
            .and_then(|u| usize::try_from(u).ok())
            .ok_or_else(|| {
                Error::model(
                    "",
                    format!(
                        "expected input_dim to be a positive integer, got {}",
                        short(v)
                    ),
                )
            })?,
        None => layers
            .iter()
            .find_map(|l| match l {
                Layer::Dense(d) => Some(d.in_dim()),
                _ => None,
            })
            .ok_or_else(|| {
                Error::model(
                    "",
                    "missing \"input_dim\" and no linear layer to infer it from",
                )
            })?,
    };
    let (feature_names, preprocess) = names_and_preprocess(top)?;
    Network::new(input_dim, layers, head, feature_names, preprocess)
}

/// The optional `feature_names` and `preprocess` of a model file's top level.
pub(crate) fn names_and_preprocess(
    top: &Map<String, Value>,
) -> Result<(Option<Vec<String>>, Option<Preprocess>)> {
    let feature_names = match top.get("feature_names") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|n| {
                    n.as_str().map(str::to_owned).ok_or_else(|| {
                        Error::model(
                            "",
                            format!("expected feature_names to be strings, got {}", short(n)),
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        ),
        Some(v) => {
            return Err(Error::model(
                "",
                format!("expected feature_names to be an array, got {}", short(v)),
            ));
        }
    };
    let preprocess = match top.get("preprocess") {
        None | Some(Value::Null) => None,
        Some(p) => Some(preprocess_from(p)?),
    };
    Ok((feature_names, preprocess))
}

/// Reads a `preprocess` block.
pub(crate) fn preprocess_from(p: &Value) -> Result<Preprocess> {
    let obj = p.as_object().ok_or_else(|| {
        Error::model(
            "",
            format!("expected preprocess to be an object, got {}", short(p)),
        )
    })?;
    let vec = |k: &str| -> Result<Vec<f64>> {
        obj.get(k)
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
            .ok_or_else(|| {
                Error::model(
                    "",
                    format!("preprocess: expected \"{k}\" to be an array of numbers"),
                )
            })
    };
    match obj.get("kind").and_then(Value::as_str) {
        Some("standardize") => Ok(Preprocess::Standardize {
            mean: vec("mean")?,
            std: vec("std")?,
        }),
        Some("minmax") => Ok(Preprocess::MinMax {
            min: vec("min")?,
            max: vec("max")?,
        }),
        other => Err(Error::model(
            "",
            format!(
                "preprocess: expected kind \"standardize\" or \"minmax\", got {}",
                other.map_or_else(|| "nothing".into(), crate::error::quote)
            ),
        )),
    }
}

struct LayerReader<'a> {
    i: usize,
    ty: &'a str,
    obj: &'a Map<String, Value>,
}

impl LayerReader<'_> {
    fn err(&self, reason: impl Into<String>) -> Error {
        Error::layer("", self.i, self.ty, reason)
    }

    /// Rejects keys other than `type` and `allowed`.
    fn keys(&self, allowed: &[&str]) -> Result<()> {
        for k in self.obj.keys() {
            if k != "type" && !allowed.contains(&k.as_str()) {
                return Err(self.err(if allowed.is_empty() {
                    format!(
                        "unknown key \"{}\" (this layer takes no parameters)",
                        crate::error::quote(k)
                    )
                } else {
                    format!(
                        "unknown key \"{}\"; expected one of {}",
                        crate::error::quote(k),
                        allowed.join(", ")
                    )
                }));
            }
        }
        Ok(())
    }

    fn act(&self, allowed: &[&str], a: Activation) -> Result<Layer> {
        self.keys(allowed)?;
        Ok(Layer::Act(a))
    }

    fn required(&self, key: &str) -> Result<&Value> {
        self.obj
            .get(key)
            .ok_or_else(|| self.err(format!("missing required key \"{key}\"")))
    }

    fn number_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.obj.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| {
                self.err(format!(
                    "expected \"{key}\" to be a number, got {}",
                    short(v)
                ))
            }),
        }
    }

    fn vector(&self, key: &str) -> Result<Vec<f64>> {
        let v = self.required(key)?;
        let a = v.as_array().ok_or_else(|| {
            self.err(format!(
                "expected \"{key}\" to be an array of numbers, got {}",
                short(v)
            ))
        })?;
        a.iter()
            .enumerate()
            .map(|(j, x)| {
                x.as_f64().ok_or_else(|| {
                    self.err(format!(
                        "expected \"{key}\"[{j}] to be a number, got {}",
                        short(x)
                    ))
                })
            })
            .collect()
    }

    /// A rectangular matrix: `(rows, cols, row-major values)`.
    fn matrix(&self, key: &str) -> Result<(usize, usize, Vec<f64>)> {
        let v = self.required(key)?;
        let rows = v.as_array().ok_or_else(|| {
            self.err(format!(
                "expected \"{key}\" to be an array of rows (out × in), got {}",
                short(v)
            ))
        })?;
        let mut cols = None;
        let mut out = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let row = row.as_array().ok_or_else(|| {
                self.err(format!(
                    "expected \"{key}\"[{r}] to be an array (a row of the out × in matrix), got {}",
                    short(row)
                ))
            })?;
            let c = *cols.get_or_insert(row.len());
            if row.len() != c {
                return Err(self.err(format!(
                    "expected \"{key}\"[{r}] to have {c} values like row 0, got {}",
                    row.len()
                )));
            }
            for (j, x) in row.iter().enumerate() {
                out.push(x.as_f64().ok_or_else(|| {
                    self.err(format!(
                        "expected \"{key}\"[{r}][{j}] to be a number, got {}",
                        short(x)
                    ))
                })?);
            }
        }
        Ok((rows.len(), cols.unwrap_or(0), out))
    }
}

pub(crate) fn short(v: &Value) -> String {
    crate::error::quote_json(v)
}

/// Serialises a network to conflux's JSON model format (lossless: numbers are written in
/// shortest round-trip form).
pub fn to_value(net: &Network) -> Value {
    if let Some(g) = net.graph() {
        return super::json_graph::to_value(net, g);
    }
    let mut layers: Vec<Value> = net
        .layers()
        .iter()
        .map(|l| match l {
            Layer::Dense(d) => json!({
                "type": "linear",
                "weight": d.weight().chunks(d.in_dim()).collect::<Vec<_>>(),
                "bias": d.bias(),
            }),
            Layer::Act(a) => activation_to_value(*a),
            Layer::BatchNorm(b) => json!({
                "type": "batchnorm", "mean": b.mean, "var": b.var,
                "weight": b.weight, "bias": b.bias, "eps": b.eps,
            }),
            Layer::Flatten => json!({"type": "flatten"}),
            Layer::Dropout { p } => json!({"type": "dropout", "p": p}),
        })
        .collect();
    if let Some(h) = net.head() {
        layers.push(json!({"type": h.type_name()}));
    }
    let mut top = json!({
        "format": FORMAT,
        "format_version": 1,
        "input_dim": net.input_dim(),
    });
    if let Some(names) = net.stored_feature_names() {
        top["feature_names"] = json!(names);
    }
    if let Some(p) = net.preprocess() {
        top["preprocess"] = preprocess_to_value(p);
    }
    top["layers"] = Value::Array(layers);
    top
}

/// An activation as a format-1 layer object (`{"type": …, parameters}`).
pub(crate) fn activation_to_value(a: Activation) -> Value {
    match a {
        Activation::LeakyRelu { slope } => json!({"type": "leaky_relu", "negative_slope": slope}),
        Activation::Elu { alpha } => json!({"type": "elu", "alpha": alpha}),
        Activation::Gelu => json!({"type": "gelu", "approximate": "none"}),
        Activation::GeluTanh => json!({"type": "gelu", "approximate": "tanh"}),
        Activation::Softplus { beta, threshold } => {
            json!({"type": "softplus", "beta": beta, "threshold": threshold})
        }
        other => json!({"type": other.type_name()}),
    }
}

/// Reads an activation from a format-1 layer object, with format 1's checks.
pub(crate) fn activation_from(layer: &Value) -> Result<Activation> {
    // A trailing layer keeps a sigmoid from being read as the output head.
    let net = from_value(&json!({"input_dim": 1, "layers": [layer, {"type": "relu"}]}))?;
    match net.layers() {
        [Layer::Act(a), _] => Ok(*a),
        _ => Err(Error::model(
            "",
            format!(
                "expected an op or activation name, got {}",
                short(&layer["type"])
            ),
        )),
    }
}

/// A `preprocess` block.
pub(crate) fn preprocess_to_value(p: &Preprocess) -> Value {
    match p {
        Preprocess::Standardize { mean, std } => {
            json!({"kind": "standardize", "mean": mean, "std": std})
        }
        Preprocess::MinMax { min, max } => json!({"kind": "minmax", "min": min, "max": max}),
    }
}

/// Writes `net` to `path` atomically (temporary file in the same folder, then rename).
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn save(net: &Network, path: &Path) -> Result<()> {
    let text =
        serde_json::to_string_pretty(&to_value(net)).expect("a JSON value always serialises");
    crate::io::write_atomic(path, text.as_bytes())
}
