//! safetensors weights with PyTorch `nn.Sequential` names (`0.weight`, `0.bias`, …, or with
//! a common prefix such as `net.0.weight`) plus an architecture string.
//!
//! The architecture lists the `nn.Sequential` modules in order, comma-separated:
//! `linear,relu,linear,sigmoid`. Parameters follow a colon: `leaky_relu:0.2`, `elu:1.0`,
//! `gelu:tanh`, `softplus:1:20`, `batchnorm:1e-5`, `dropout:0.1`. Module `i` reads the
//! tensors `i.weight`/`i.bias` (linear) or `i.weight`/`i.bias`/`i.running_mean`/
//! `i.running_var` (batchnorm). Without `--arch`, a sidecar `<stem>.arch.json` holding
//! `{"arch": "...", "feature_names": [...], "preprocess": {...}}` is read.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result, list, quote};
use crate::limits::Limits;
use crate::net::Network;
use crate::net::activation::Activation;
use crate::net::layer::{BatchNorm, Dense, Head, Layer};

/// The sidecar path for `path`: `<stem>.arch.json` in the same folder.
pub fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("arch.json")
}

/// Loads safetensors weights with the architecture `arch` (or the sidecar's).
///
/// # Errors
/// [`Error::Model`] for a missing architecture, undecodable file, missing or unused tensors;
/// [`Error::Layer`] naming the module index for bad shapes or parameters.
pub fn load(path: &Path, arch: Option<&str>) -> Result<Network> {
    load_with(path, arch, &Limits::current()).map(|(net, _)| net)
}

/// As [`load`] under `limits`; also returns the files read (the weights, and the sidecar
/// when one was read).
///
/// # Errors
/// As [`load`].
pub fn load_with(
    path: &Path,
    arch: Option<&str>,
    limits: &Limits,
) -> Result<(Network, Vec<PathBuf>)> {
    let bytes = super::read::read_file(path, super::read::Source::Named, limits.model_bytes)?;
    let sidecar = sidecar_path(path);
    let mut files = vec![path.to_path_buf()];
    let side = if sidecar.exists() {
        let text = super::read::read_text(
            &sidecar,
            super::read::Source::RegularFile,
            limits.json_bytes(),
        )?;
        files.push(sidecar.clone());
        Some(text)
    } else {
        None
    };
    let net = from_bytes(&bytes, path, arch, side.as_deref(), limits)?;
    Ok((net, files))
}

/// Builds a network from safetensors `bytes`, the architecture `arch` or else the sidecar's
/// text `side`; `path` names the file in errors (its sidecar path names the sidecar).
///
/// # Errors
/// As [`load`].
pub fn from_bytes(
    bytes: &[u8],
    path: &Path,
    arch: Option<&str>,
    side: Option<&str>,
    limits: &Limits,
) -> Result<Network> {
    let sidecar = sidecar_path(path);
    let side: Option<serde_json::Value> = match side {
        Some(text) => Some(serde_json::from_str(text).map_err(|e| {
            Error::model(&sidecar, format!("expected JSON, got invalid JSON ({e})"))
        })?),
        None => None,
    };
    let arch_owned;
    let arch = match (arch, &side) {
        (Some(a), _) => a,
        (None, Some(s)) => {
            arch_owned = match s.get("arch") {
                Some(serde_json::Value::String(a)) => a.clone(),
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => {
                    return Err(Error::model(
                        &sidecar,
                        "expected an \"arch\" string such as \"linear,relu,linear\"",
                    ));
                }
            };
            &arch_owned
        }
        (None, None) => {
            return Err(Error::model(
                path,
                format!(
                    "a safetensors file needs an architecture: pass --arch \"linear,relu,linear\" or write {}",
                    sidecar.display()
                ),
            ));
        }
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::model(
            path,
            format!("expected a safetensors file, got an undecodable one ({e})"),
        )
    })?;
    let mut tensors: HashMap<String, (Vec<usize>, Vec<f64>)> = HashMap::new();
    let mut parameters = 0u64;
    for (name, view) in st.tensors() {
        let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
        let count = limits
            .check_tensor(&shape)
            .map_err(|r| Error::model(path, format!("tensor '{}': {r}", quote(&name))))?;
        parameters = parameters.saturating_add(count as u64);
        limits
            .check_parameters(parameters)
            .map_err(|r| Error::model(path, r))?;
        let data: Vec<f64> = match view.dtype() {
            Dtype::F32 => view
                .data()
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4-byte chunk"))))
                .collect(),
            Dtype::F64 => view
                .data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8-byte chunk")))
                .collect(),
            other => {
                return Err(Error::model(
                    path,
                    format!(
                        "tensor '{}': expected F32 or F64, got {other:?}",
                        quote(&name)
                    ),
                ));
            }
        };
        tensors.insert(name, (view.shape().to_vec(), data));
    }
    // Common prefix before the module index (e.g. "net." in "net.0.weight").
    let prefix = tensors
        .keys()
        .filter_map(|k| {
            let parts: Vec<&str> = k.rsplitn(3, '.').collect();
            (parts.len() >= 2).then(|| {
                if parts.len() == 3 {
                    format!("{}.", parts[2])
                } else {
                    String::new()
                }
            })
        })
        .collect::<BTreeSet<_>>();
    if prefix.len() > 1 {
        return Err(Error::model(
            path,
            format!(
                "expected tensors of one nn.Sequential, got several prefixes: {}",
                list(&prefix.into_iter().collect::<Vec<_>>())
            ),
        ));
    }
    let prefix = prefix.into_iter().next().unwrap_or_default();
    let mut used = BTreeSet::new();
    let mut take = |i: usize, kind: &str, p: &str| -> Result<(Vec<usize>, Vec<f64>)> {
        let key = format!("{prefix}{i}.{p}");
        let t = tensors.get(&key).cloned().ok_or_else(|| {
            Error::layer(path, i, kind, format!("missing tensor '{}'", quote(&key)))
        })?;
        used.insert(key);
        Ok(t)
    };
    let tokens: Vec<&str> = arch.split(',').map(str::trim).collect();
    let mut layers = Vec::new();
    let mut head = None;
    for (i, tok) in tokens.iter().enumerate() {
        let mut parts = tok.split(':');
        let kind = parts.next().unwrap_or_default();
        let args: Vec<&str> = parts.collect();
        let num = |k: usize, default: f64| -> Result<f64> {
            args.get(k).map_or(Ok(default), |s| {
                s.parse::<f64>().map_err(|_| {
                    Error::layer(
                        path,
                        i,
                        kind,
                        format!("expected a number parameter, got '{}'", quote(s)),
                    )
                })
            })
        };
        let last = i + 1 == tokens.len();
        let layer = match kind {
            "linear" => {
                let (ws, w) = take(i, kind, "weight")?;
                if ws.len() != 2 {
                    return Err(Error::layer(
                        path,
                        i,
                        kind,
                        format!(
                            "expected a 2-D weight (out × in), got shape {}",
                            quote(&format!("{ws:?}"))
                        ),
                    ));
                }
                let bias = match tensors.contains_key(&format!("{prefix}{i}.bias")) {
                    true => Some(take(i, kind, "bias")?.1),
                    false => None,
                };
                Layer::Dense(
                    Dense::new(ws[0], ws[1], w, bias)
                        .map_err(|r| Error::layer(path, i, kind, r))?,
                )
            }
            "batchnorm" => Layer::BatchNorm(BatchNorm {
                weight: take(i, kind, "weight")?.1,
                bias: take(i, kind, "bias")?.1,
                mean: take(i, kind, "running_mean")?.1,
                var: take(i, kind, "running_var")?.1,
                eps: num(0, 1e-5)?,
            }),
            "relu" => Layer::Act(Activation::Relu),
            "leaky_relu" => Layer::Act(Activation::LeakyRelu {
                slope: num(0, 0.01)?,
            }),
            "elu" => Layer::Act(Activation::Elu {
                alpha: num(0, 1.0)?,
            }),
            "selu" => Layer::Act(Activation::Selu),
            "gelu" => match args.first().copied() {
                None | Some("none") => Layer::Act(Activation::Gelu),
                Some("tanh") => Layer::Act(Activation::GeluTanh),
                Some(o) => {
                    return Err(Error::layer(
                        path,
                        i,
                        kind,
                        format!("expected gelu:none or gelu:tanh, got gelu:{}", quote(o)),
                    ));
                }
            },
            "silu" => Layer::Act(Activation::Silu),
            "softplus" => Layer::Act(Activation::Softplus {
                beta: num(0, 1.0)?,
                threshold: num(1, 20.0)?,
            }),
            "sigmoid" if last => {
                head = Some(Head::Sigmoid);
                continue;
            }
            "sigmoid" => Layer::Act(Activation::Sigmoid),
            "tanh" => Layer::Act(Activation::Tanh),
            "identity" => Layer::Act(Activation::Identity),
            "dropout" => Layer::Dropout { p: num(0, 0.5)? },
            "flatten" => Layer::Flatten,
            "softmax" | "log_softmax" if last => {
                head = Some(if kind == "softmax" {
                    Head::Softmax
                } else {
                    Head::LogSoftmax
                });
                continue;
            }
            other => {
                return Err(Error::layer(
                    path,
                    i,
                    other,
                    "unknown module in --arch; expected linear, batchnorm, relu, leaky_relu, elu, selu, gelu, silu, softplus, sigmoid, tanh, identity, dropout, flatten, or a final softmax/log_softmax",
                ));
            }
        };
        if let Layer::BatchNorm(b) = &layer {
            b.validate().map_err(|r| Error::layer(path, i, kind, r))?;
        }
        layers.push(layer);
    }
    let unused: Vec<_> = tensors
        .keys()
        .filter(|k| !used.contains(*k))
        .cloned()
        .collect();
    if !unused.is_empty() {
        return Err(Error::model(
            path,
            format!(
                "tensors not used by the architecture '{}': {} (wrong --arch?)",
                quote(arch),
                list(&unused)
            ),
        ));
    }
    let input_dim = layers
        .iter()
        .find_map(|l| match l {
            Layer::Dense(d) => Some(d.in_dim()),
            _ => None,
        })
        .ok_or_else(|| {
            Error::model(
                path,
                "expected at least one linear module in the architecture",
            )
        })?;
    let mut net =
        Network::new(input_dim, layers, head, None, None).map_err(|e| e.with_path(path))?;
    if let Some(s) = side {
        if let Some(names) = s.get("feature_names").and_then(|v| v.as_array()) {
            let names = names
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect();
            net.set_feature_names(names)
                .map_err(|e| e.with_path(&sidecar))?;
        }
        if let Some(p) = s.get("preprocess") {
            let wrapped = serde_json::json!({"input_dim": input_dim, "layers": [{"type": "identity"}], "preprocess": p});
            let pp = crate::io::json::from_value(&wrapped).map_err(|e| e.with_path(&sidecar))?;
            net.set_preprocess(pp.preprocess().cloned())
                .map_err(|e| e.with_path(&sidecar))?;
        }
    }
    Ok(net)
}

/// The `--arch` string of `net` (dense and batchnorm layers carry their tensors).
pub fn arch_string(net: &Network) -> String {
    let mut parts: Vec<String> = net
        .layers()
        .iter()
        .map(|l| match l {
            Layer::Dense(_) => "linear".to_string(),
            Layer::BatchNorm(b) => format!("batchnorm:{}", b.eps),
            Layer::Act(Activation::LeakyRelu { slope }) => format!("leaky_relu:{slope}"),
            Layer::Act(Activation::Elu { alpha }) => format!("elu:{alpha}"),
            Layer::Act(Activation::GeluTanh) => "gelu:tanh".to_string(),
            Layer::Act(Activation::Softplus { beta, threshold }) => {
                format!("softplus:{beta}:{threshold}")
            }
            Layer::Dropout { p } => format!("dropout:{p}"),
            other => other.type_name().to_string(),
        })
        .collect();
    if let Some(h) = net.head() {
        parts.push(h.type_name().to_string());
    }
    parts.join(",")
}

/// Writes `net`'s weights as safetensors with `nn.Sequential` names (`0.weight`, …, f32 as
/// PyTorch would) and its architecture, feature names and scaler to the sidecar
/// `<stem>.arch.json`. Both files are written atomically.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written.
pub fn save(net: &Network, path: &Path) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let bytes = |v: &[f64]| {
        v.iter()
            .flat_map(|&x| (x as f32).to_le_bytes())
            .collect::<Vec<u8>>()
    };
    for (i, l) in net.layers().iter().enumerate() {
        match l {
            Layer::Dense(d) => {
                tensors.push((
                    format!("{i}.weight"),
                    vec![d.out_dim(), d.in_dim()],
                    bytes(d.weight()),
                ));
                if let Some(b) = d.bias() {
                    tensors.push((format!("{i}.bias"), vec![d.out_dim()], bytes(b)));
                }
            }
            Layer::BatchNorm(b) => {
                for (name, v) in [
                    ("weight", &b.weight),
                    ("bias", &b.bias),
                    ("running_mean", &b.mean),
                    ("running_var", &b.var),
                ] {
                    tensors.push((format!("{i}.{name}"), vec![v.len()], bytes(v)));
                }
            }
            _ => {}
        }
    }
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(Dtype::F32, s.clone(), b)
                    .expect("shape matches the bytes"),
            )
        })
        .collect();
    let data = safetensors::serialize(views, None)
        .map_err(|e| Error::model(path, format!("cannot serialise safetensors ({e})")))?;
    crate::io::write_atomic(path, &data)?;
    let mut side = serde_json::json!({"arch": arch_string(net)});
    let full = crate::io::json::to_value(net);
    if let Some(names) = full.get("feature_names") {
        side["feature_names"] = names.clone();
    }
    if let Some(p) = full.get("preprocess") {
        side["preprocess"] = p.clone();
    }
    let text = serde_json::to_string_pretty(&side).expect("a JSON value always serialises");
    crate::io::write_atomic(&sidecar_path(path), text.as_bytes())
}
