//! The AME file: one self-describing JSON document (`"format": "conflux-ame"`) carrying the
//! task, feature names, groups, scaler, encoder, every weight (flat, row-major, shapes in
//! the field docs of [`Ame`]) and, optionally, how it was trained. f64 values are written
//! with shortest round-trip formatting, so loading reproduces predictions exactly.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::{Ame, AmeTask, AuxHidden, Conv2x2, Encoder, ExpertLayer};
use crate::data::groups::FeatureGroups;
use crate::error::{Error, Result};
use crate::io::json::{preprocess_from, preprocess_to_value};

/// The `format` value of AME files.
pub const FORMAT: &str = "conflux-ame";

/// `true` when a parsed JSON document declares itself an AME file.
pub fn is_ame(v: &Value) -> bool {
    v.get("format").and_then(Value::as_str) == Some(FORMAT)
}

/// The AME as JSON, with `training` (free-form metadata) attached when given.
pub fn to_value(m: &Ame, training: Option<Value>) -> Value {
    let task = match m.task {
        AmeTask::Regression => json!({"kind": "regression"}),
        AmeTask::Binary => json!({"kind": "binary"}),
        AmeTask::Multiclass { classes } => json!({"kind": "multiclass", "classes": classes}),
    };
    let groups: Vec<Value> = (0..m.groups.len())
        .map(|g| {
            let cols: Vec<&str> = m
                .groups
                .members(g)
                .iter()
                .map(|&f| m.features[f].as_str())
                .collect();
            json!({"name": m.groups.names()[g], "columns": cols})
        })
        .collect();
    let encoder = match &m.encoder {
        Encoder::Tabular { layers } => json!({
            "kind": "tabular",
            "activation": "selu",
            "layers": layers.iter().map(|l| json!({
                "inputs": l.inputs, "outputs": l.outputs, "weight": l.w, "bias": l.b,
            })).collect::<Vec<_>>(),
        }),
        Encoder::Image {
            height,
            width,
            convs,
        } => json!({
            "kind": "image",
            "activation": "elu",
            "height": height,
            "width": width,
            "convs": convs.iter().map(|c| json!({
                "c_in": c.c_in, "c_out": c.c_out, "weight": c.w, "bias": c.b,
            })).collect::<Vec<_>>(),
        }),
    };
    let mut top = json!({
        "format": FORMAT,
        // Version 2 only when the file needs it: linear files stay readable by older builds.
        "format_version": if m.aux_hidden.is_some() { 2 } else { 1 },
        "task": task,
        "features": m.features,
        "groups": groups,
        "encoder": encoder,
        "out_weight": m.out_w,
        "out_bias": m.out_b,
        "gate_weight": m.gate_w,
        "gate_bias": m.gate_b,
        "context": m.context,
        "aux_all_weight": m.aux_all_w,
        "aux_all_bias": m.aux_all_b,
        "aux_minus_weight": m.aux_minus_w,
        "aux_minus_bias": m.aux_minus_b,
    });
    if let Some(p) = &m.preprocess {
        top["preprocess"] = preprocess_to_value(p);
    }
    if let Some(a) = &m.aux_hidden {
        top["aux_hidden"] = json!({
            "activation": "selu",
            "width": a.width,
            "all_weight": a.all_w,
            "all_bias": a.all_b,
            "minus_weight": a.minus_w,
            "minus_bias": a.minus_b,
        });
    }
    if let Some(t) = training {
        top["training"] = t;
    }
    top
}

/// Writes the AME atomically.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn save(m: &Ame, training: Option<Value>, path: &Path) -> Result<()> {
    let text = serde_json::to_string(&to_value(m, training)).expect("JSON values serialise");
    crate::io::write_atomic(path, text.as_bytes())
}

/// Reads an AME file.
///
/// # Errors
/// [`Error::Io`], or [`Error::Model`] naming the file and the missing or malformed key.
pub fn load(path: &Path) -> Result<Ame> {
    let text = crate::io::read::read_text(
        path,
        crate::io::read::Source::Named,
        crate::Limits::current().json_bytes(),
    )?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        Error::model(
            path,
            format!("expected an AME model (JSON), got invalid JSON ({e})"),
        )
    })?;
    from_value(&v).map_err(|e| e.with_path(path))
}

struct Obj<'a> {
    what: &'a str,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn of(what: &'a str, v: &'a Value) -> Result<Self> {
        let map = v
            .as_object()
            .ok_or_else(|| Error::model("", format!("{what}: expected a JSON object")))?;
        Ok(Obj { what, map })
    }
    fn get(&self, key: &str) -> Result<&'a Value> {
        self.map
            .get(key)
            .ok_or_else(|| Error::model("", format!("{}: missing key \"{key}\"", self.what)))
    }
    fn usize(&self, key: &str) -> Result<usize> {
        self.get(key)?
            .as_u64()
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.bad(key, "a non-negative integer"))
    }
    fn str(&self, key: &str) -> Result<&'a str> {
        self.get(key)?
            .as_str()
            .ok_or_else(|| self.bad(key, "a string"))
    }
    fn numbers(&self, key: &str) -> Result<Vec<f64>> {
        self.get(key)?
            .as_array()
            .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
            .ok_or_else(|| self.bad(key, "an array of numbers"))
    }
    fn bad(&self, key: &str, expected: &str) -> Error {
        Error::model(
            "",
            format!("{}: expected \"{key}\" to be {expected}", self.what),
        )
    }
}

/// Builds an AME from a parsed document (errors carry an empty path).
///
/// # Errors
/// [`Error::Model`] naming the missing or malformed key, or an inconsistent shape.
pub fn from_value(v: &Value) -> Result<Ame> {
    let top = Obj::of("AME model", v)?;
    if !is_ame(v) {
        return Err(Error::model(
            "",
            format!("expected \"format\": \"{FORMAT}\" (an AME model file)"),
        ));
    }
    // Version 2 added the optional `aux_hidden` (non-linear Granger predictors); version 1
    // files are the same without it.
    let version = top.usize("format_version")?;
    if !matches!(version, 1 | 2) {
        return Err(top.bad("format_version", "1 or 2"));
    }
    let task_obj = Obj::of("task", top.get("task")?)?;
    let task = match task_obj.str("kind")? {
        "regression" => AmeTask::Regression,
        "binary" => AmeTask::Binary,
        "multiclass" => AmeTask::Multiclass {
            classes: task_obj.usize("classes")?,
        },
        other => {
            return Err(Error::model(
                "",
                format!(
                    "task: expected regression, binary or multiclass, got \"{}\"",
                    crate::error::quote(other)
                ),
            ));
        }
    };
    let features: Vec<String> = top
        .get("features")?
        .as_array()
        .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
        .ok_or_else(|| top.bad("features", "an array of names"))?;
    let column: std::collections::HashMap<&str, usize> = features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.as_str(), i))
        .collect();
    let mut groups = Vec::new();
    for g in top
        .get("groups")?
        .as_array()
        .ok_or_else(|| top.bad("groups", "an array"))?
    {
        let go = Obj::of("group", g)?;
        let name = go.str("name")?.to_owned();
        let cols = go
            .get("columns")?
            .as_array()
            .ok_or_else(|| go.bad("columns", "an array of column names"))?;
        let idx = cols
            .iter()
            .map(|c| {
                c.as_str()
                    .and_then(|c| column.get(c).copied())
                    .ok_or_else(|| {
                        Error::model(
                            "",
                            format!(
                                "group '{}': unknown column {}",
                                crate::error::quote(&name),
                                crate::error::quote_json(c)
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        groups.push((name, idx));
    }
    let groups = FeatureGroups::new(features.len(), groups)?;
    let enc = Obj::of("encoder", top.get("encoder")?)?;
    let encoder = match enc.str("kind")? {
        "tabular" => {
            let mut layers = Vec::new();
            for l in enc
                .get("layers")?
                .as_array()
                .ok_or_else(|| enc.bad("layers", "an array"))?
            {
                let lo = Obj::of("encoder layer", l)?;
                layers.push(ExpertLayer {
                    inputs: lo.usize("inputs")?,
                    outputs: lo.usize("outputs")?,
                    w: lo.numbers("weight")?,
                    b: lo.numbers("bias")?,
                });
            }
            Encoder::Tabular { layers }
        }
        "image" => {
            let mut convs = Vec::new();
            for c in enc
                .get("convs")?
                .as_array()
                .ok_or_else(|| enc.bad("convs", "an array"))?
            {
                let co = Obj::of("encoder conv", c)?;
                convs.push(Conv2x2 {
                    c_in: co.usize("c_in")?,
                    c_out: co.usize("c_out")?,
                    w: co.numbers("weight")?,
                    b: co.numbers("bias")?,
                });
            }
            Encoder::Image {
                height: enc.usize("height")?,
                width: enc.usize("width")?,
                convs,
            }
        }
        other => {
            return Err(Error::model(
                "",
                format!(
                    "encoder: expected kind tabular or image, got \"{}\"",
                    crate::error::quote(other)
                ),
            ));
        }
    };
    let preprocess = match v.get("preprocess") {
        None | Some(Value::Null) => None,
        Some(p) => Some(preprocess_from(p)?),
    };
    let aux_hidden = match v.get("aux_hidden") {
        None | Some(Value::Null) => None,
        Some(_) if version == 1 => {
            return Err(top.bad("format_version", "2 (\"aux_hidden\" is a version 2 field)"));
        }
        Some(a) => {
            let ao = Obj::of("aux_hidden", a)?;
            if ao.str("activation")? != "selu" {
                return Err(ao.bad("activation", "selu"));
            }
            Some(AuxHidden {
                width: ao.usize("width")?,
                all_w: ao.numbers("all_weight")?,
                all_b: ao.numbers("all_bias")?,
                minus_w: ao.numbers("minus_weight")?,
                minus_b: ao.numbers("minus_bias")?,
            })
        }
    };
    let ame = Ame {
        task,
        features,
        groups,
        preprocess,
        encoder,
        out_w: top.numbers("out_weight")?,
        out_b: top.numbers("out_bias")?,
        gate_w: top.numbers("gate_weight")?,
        gate_b: top.numbers("gate_bias")?,
        context: top.numbers("context")?,
        aux_all_w: top.numbers("aux_all_weight")?,
        aux_all_b: top.numbers("aux_all_bias")?,
        aux_minus_w: top.numbers("aux_minus_weight")?,
        aux_minus_b: top.numbers("aux_minus_bias")?,
        aux_hidden,
    };
    ame.validate()?;
    Ok(ame)
}
