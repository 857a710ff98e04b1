//! NumPy `.npz` writer for `explain --format npz`: one archive (a stored, uncompressed ZIP)
//! holding `scores`, `feat_pos`, `feat_neg` with shape `(entries, *input_shape)`, and
//! `bias_pos`, `bias_neg`, `output`, `baseline_output`, `row`, `target` with shape
//! `(entries,)` — one entry per (row, target), in the order of the JSON output. Arrays are in
//! the computation's precision (`f32` or `f64`; `row` and `target` as `int64`). The archive
//! is assembled in memory, bounded by the data-cell limit.

use std::io::{self, Write};

use conflux_core::{Attribution, Float};

use super::Sink;

/// Collected arrays.
pub struct NpzWriter {
    shape: Vec<usize>,
    split: bool,
    float64: bool,
    scores: Vec<f64>,
    feat_pos: Vec<f64>,
    feat_neg: Vec<f64>,
    bias_pos: Vec<f64>,
    bias_neg: Vec<f64>,
    output: Vec<f64>,
    baseline: Vec<f64>,
    rows: Vec<i64>,
    targets: Vec<i64>,
    max_cells: u64,
}

impl NpzWriter {
    /// A writer for per-row inputs of `shape`; `split` for methods with positive/negative
    /// scores; `float64` for the precision; at most `max_cells` values held.
    pub fn new(shape: Vec<usize>, split: bool, float64: bool, max_cells: u64) -> Self {
        NpzWriter {
            shape,
            split,
            float64,
            scores: Vec::new(),
            feat_pos: Vec::new(),
            feat_neg: Vec::new(),
            bias_pos: Vec::new(),
            bias_neg: Vec::new(),
            output: Vec::new(),
            baseline: Vec::new(),
            rows: Vec::new(),
            targets: Vec::new(),
            max_cells,
        }
    }

    pub(super) fn batch<F: Float>(
        &mut self,
        first_row: usize,
        a: &Attribution<F>,
    ) -> io::Result<()> {
        let per = if self.split { 3 } else { 1 };
        let held = (self.scores.len() * per + a.scores.len() * per) as u64;
        if held > self.max_cells {
            return Err(io::Error::other(format!(
                "--format npz holds every score in memory and this run needs more than {} values \
                 ({}); write json or csv, or fewer rows (--max-rows)",
                self.max_cells,
                conflux_core::limits::DATA_CELLS.exceeded(self.max_cells)
            )));
        }
        self.scores.extend(a.scores.iter().map(|v| v.f64()));
        if let Some(s) = a.split.as_ref().filter(|_| self.split) {
            self.feat_pos.extend(s.feat_pos.iter().map(|v| v.f64()));
            self.feat_neg.extend(s.feat_neg.iter().map(|v| v.f64()));
            self.bias_pos.extend(s.bias_pos.iter().map(|v| v.f64()));
            self.bias_neg.extend(s.bias_neg.iter().map(|v| v.f64()));
        }
        self.output.extend(a.output.iter().map(|v| v.f64()));
        if let Some(b) = &a.baseline_output {
            self.baseline.extend(b.iter().map(|v| v.f64()));
        }
        self.rows
            .extend(a.rows.iter().map(|&r| (first_row + r) as i64));
        self.targets.extend(a.targets.iter().map(|&t| t as i64));
        Ok(())
    }

    pub(super) fn finish(&mut self, w: &mut Sink) -> io::Result<()> {
        let n = self.rows.len();
        let mut full = vec![n];
        full.extend(&self.shape);
        let mut zip = Zip::default();
        let f = |name: &str, shape: &[usize], v: &[f64], z: &mut Zip| {
            z.add(name, &npy_float(shape, v, self.float64))
        };
        f("scores.npy", &full, &self.scores, &mut zip)?;
        if self.split {
            f("feat_pos.npy", &full, &self.feat_pos, &mut zip)?;
            f("feat_neg.npy", &full, &self.feat_neg, &mut zip)?;
            f("bias_pos.npy", &[n], &self.bias_pos, &mut zip)?;
            f("bias_neg.npy", &[n], &self.bias_neg, &mut zip)?;
        }
        f("output.npy", &[n], &self.output, &mut zip)?;
        if self.baseline.len() == n {
            f("baseline_output.npy", &[n], &self.baseline, &mut zip)?;
        }
        zip.add(
            "row.npy",
            &npy(
                shape_header(&[n], "<i8"),
                self.rows.iter().flat_map(|v| v.to_le_bytes()),
            ),
        )?;
        zip.add(
            "target.npy",
            &npy(
                shape_header(&[n], "<i8"),
                self.targets.iter().flat_map(|v| v.to_le_bytes()),
            ),
        )?;
        w.write_all(&zip.finish()?)
    }
}

fn shape_header(shape: &[usize], descr: &str) -> String {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}")
}

/// An `.npy` (format 1.0) with `header` and the data bytes.
fn npy(mut header: String, data: impl Iterator<Item = u8>) -> Vec<u8> {
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(data);
    out
}

#[allow(clippy::cast_possible_truncation)]
fn npy_float(shape: &[usize], v: &[f64], float64: bool) -> Vec<u8> {
    if float64 {
        npy(
            shape_header(shape, "<f8"),
            v.iter().flat_map(|x| x.to_le_bytes()),
        )
    } else {
        npy(
            shape_header(shape, "<f4"),
            v.iter().flat_map(|x| (*x as f32).to_le_bytes()),
        )
    }
}

/// CRC-32 (IEEE) of `data`.
fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A ZIP archive of stored (uncompressed) entries, built in memory.
#[derive(Default)]
struct Zip {
    body: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl Zip {
    fn add(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let too_big = || {
            io::Error::other(
                "--format npz: an array exceeds 4 GiB (ZIP64 is not written); write json or csv",
            )
        };
        let size = u32::try_from(data.len()).map_err(|_| too_big())?;
        let offset = u32::try_from(self.body.len()).map_err(|_| too_big())?;
        let crc = crc32(data);
        let name_len = name.len() as u16;
        // Local file header: version 2.0, no flags, stored, time 0, date 1980-01-01.
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, 0x21] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes());
        local.extend_from_slice(name.as_bytes());
        self.body.extend_from_slice(&local);
        self.body.extend_from_slice(data);
        // Central directory record.
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, 0x21] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        c.extend_from_slice(&0u32.to_le_bytes());
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        self.entries += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<Vec<u8>> {
        let too_big =
            || io::Error::other("--format npz: the archive exceeds 4 GiB; write json or csv");
        let cd_offset = u32::try_from(self.body.len()).map_err(|_| too_big())?;
        let cd_size = u32::try_from(self.central.len()).map_err(|_| too_big())?;
        self.body.extend_from_slice(&self.central);
        self.body.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, self.entries, self.entries] {
            self.body.extend_from_slice(&v.to_le_bytes());
        }
        self.body.extend_from_slice(&cd_size.to_le_bytes());
        self.body.extend_from_slice(&cd_offset.to_le_bytes());
        self.body.extend_from_slice(&0u16.to_le_bytes());
        Ok(self.body)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn crc32_check_value() {
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
    }
}
