//! CSV writer for `explain`: one line per (row, target):
//! `row,target,output,baseline_output,score:<f>…[,pos:<f>…,neg:<f>…,bias_pos,bias_neg],completeness_gap`.

use std::io::{self, Write};

use conflux_core::{Attribution, Float};

use super::{Meta, Sink, num};

/// CSV writer.
#[derive(Default)]
pub struct CsvWriter {
    split: bool,
}

/// Quotes a header cell when it needs it.
fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl CsvWriter {
    /// A writer for a method with (`split = true`) or without positive/negative scores.
    pub fn new(split: bool) -> Self {
        CsvWriter { split }
    }

    pub(super) fn begin(&mut self, w: &mut Sink, m: &Meta) -> io::Result<()> {
        w.write_all(b"row,target,output,baseline_output")?;
        let mut prefixes = vec!["score"];
        if self.split {
            prefixes.extend(["pos", "neg"]);
        }
        for p in prefixes {
            for f in m.features {
                write!(w, ",{}", cell(&format!("{p}:{f}")))?;
            }
        }
        if self.split {
            w.write_all(b",bias_pos,bias_neg")?;
        }
        w.write_all(b",completeness_gap\n")
    }

    pub(super) fn batch<F: Float>(
        &mut self,
        w: &mut Sink,
        first_row: usize,
        a: &Attribution<F>,
    ) -> io::Result<()> {
        let gaps = a.completeness_gap();
        for e in 0..a.len() {
            write!(w, "{},{},", first_row + a.rows[e], a.targets[e])?;
            num(w, a.output[e])?;
            w.write_all(b",")?;
            if let Some(b) = &a.baseline_output {
                num(w, b[e])?;
            }
            let mut rows = vec![a.scores.row(e)];
            if let Some(s) = a.split.as_ref().filter(|_| self.split) {
                rows.extend([s.feat_pos.row(e), s.feat_neg.row(e)]);
            }
            for r in rows {
                for &v in r {
                    w.write_all(b",")?;
                    num(w, v)?;
                }
            }
            if let Some(s) = a.split.as_ref().filter(|_| self.split) {
                w.write_all(b",")?;
                num(w, s.bias_pos[e])?;
                w.write_all(b",")?;
                num(w, s.bias_neg[e])?;
            }
            w.write_all(b",")?;
            if let Some(g) = &gaps {
                num(w, g[e])?;
            }
            w.write_all(b"\n")?;
        }
        Ok(())
    }
}
