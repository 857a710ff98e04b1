//! Streaming JSON writer for `explain` (interface.md §Output schema).

use std::io::{self, Write};

use conflux_core::{Attribution, Float};

use super::{Meta, RefKind, Sink, num};

/// Writes `{"method", "params", "features", "reference", "baseline_kind", "rows": [...]}` one
/// batch at a time.
#[derive(Default)]
pub struct JsonWriter {
    first: bool,
}

fn list<F: Float>(w: &mut impl Write, v: impl IntoIterator<Item = F>) -> io::Result<()> {
    w.write_all(b"[")?;
    for (i, x) in v.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        num(w, x)?;
    }
    w.write_all(b"]")
}

impl JsonWriter {
    pub(super) fn begin(&mut self, w: &mut Sink, m: &Meta) -> io::Result<()> {
        self.first = true;
        write!(
            w,
            "{{\"method\":{},\"params\":{},\"precision\":{},\"features\":{},\"reference\":",
            serde_json::Value::from(m.method),
            m.params,
            serde_json::Value::from(m.precision),
            serde_json::to_string(m.features).map_err(io::Error::other)?
        )?;
        match m.reference {
            RefKind::Shared(r) => list(w, r.iter().copied())?,
            RefKind::PerRow => w.write_all(b"\"per-row\"")?,
            RefKind::Average(n) => write!(w, "\"average of {n} rows\"")?,
        }
        write!(
            w,
            ",\"baseline_kind\":{},\"rows\":[",
            m.baseline_kind
                .map_or("null".into(), |k| format!("\"{k}\""))
        )
    }

    pub(super) fn batch<F: Float>(
        &mut self,
        w: &mut Sink,
        first_row: usize,
        a: &Attribution<F>,
        refs: Option<&[F]>,
    ) -> io::Result<()> {
        let gaps = a.completeness_gap();
        let d = a.scores.ncols();
        for e in 0..a.len() {
            if !self.first {
                w.write_all(b",")?;
            }
            self.first = false;
            write!(
                w,
                "\n{{\"row\":{},\"target\":{},\"output\":",
                first_row + a.rows[e],
                a.targets[e]
            )?;
            num(w, a.output[e])?;
            w.write_all(b",\"baseline_output\":")?;
            match &a.baseline_output {
                Some(b) => num(w, b[e])?,
                None => w.write_all(b"null")?,
            }
            if let Some(r) = refs {
                w.write_all(b",\"reference\":")?;
                list(w, r[a.rows[e] * d..(a.rows[e] + 1) * d].iter().copied())?;
            }
            w.write_all(b",\"scores\":")?;
            list(w, a.scores.row(e).iter().copied())?;
            if let Some(s) = &a.split {
                w.write_all(b",\"feat_pos\":")?;
                list(w, s.feat_pos.row(e).iter().copied())?;
                w.write_all(b",\"feat_neg\":")?;
                list(w, s.feat_neg.row(e).iter().copied())?;
                w.write_all(b",\"bias_pos\":")?;
                num(w, s.bias_pos[e])?;
                w.write_all(b",\"bias_neg\":")?;
                num(w, s.bias_neg[e])?;
            }
            w.write_all(b",\"completeness_gap\":")?;
            match &gaps {
                Some(g) => num(w, g[e])?,
                None => w.write_all(b"null")?,
            }
            w.write_all(b"}")?;
        }
        Ok(())
    }

    pub(super) fn finish(&mut self, w: &mut Sink) -> io::Result<()> {
        w.write_all(b"\n]}\n")
    }
}
