//! Streaming CSV reader for numeric feature tables.
//!
//! A header row is required. Rows are read in blocks so memory stays bounded whatever the
//! file size. Every problem is reported with the file, the 1-based line (the header is line 1)
//! and the column: non-numeric cells, NaN/infinity, ragged rows, a missing label column, an
//! empty or header-only file.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{DataLocation, Error, Result};

/// How the CSV's columns map to the model's inputs.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Header names in file order.
    pub header: Vec<String>,
    /// For each model input, the CSV column index it is read from.
    pub features: Vec<usize>,
    /// The label column, if `--label` was given.
    pub label: Option<usize>,
}

impl Columns {
    /// The feature names in model-input order (as written in the CSV header).
    pub fn feature_names(&self) -> Vec<String> {
        self.features
            .iter()
            .map(|&i| self.header[i].clone())
            .collect()
    }
}

/// A CSV file opened for block-wise reading.
pub struct CsvSource {
    path: PathBuf,
    reader: ::csv::Reader<File>,
    columns: Columns,
    record: ::csv::StringRecord,
    rows_read: usize,
    file_len: u64,
}

impl std::fmt::Debug for CsvSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvSource")
            .field("path", &self.path)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

fn data_err(
    path: &Path,
    line: u64,
    column: Option<(usize, String)>,
    reason: impl Into<String>,
) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        location: DataLocation { line, column },
        reason: reason.into(),
    }
}

impl CsvSource {
    /// Opens `path`, reads the header and maps columns to the model's `input_dim` inputs:
    /// by name when `names` (the model's stored feature names) are all in the header,
    /// otherwise by position over the non-label columns.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened; [`Error::Data`] for an empty file, a missing
    /// label column or a column count that does not match the model.
    pub fn open(
        path: &Path,
        label: Option<&str>,
        input_dim: usize,
        names: Option<&[String]>,
    ) -> Result<Self> {
        Self::open_with(path, label, true, input_dim, names)
    }

    /// As [`CsvSource::open`]; with `label_required = false` a label column absent from the
    /// header is not an error (reference files need not carry the label).
    ///
    /// # Errors
    /// As [`CsvSource::open`].
    pub fn open_with(
        path: &Path,
        label: Option<&str>,
        label_required: bool,
        input_dim: usize,
        names: Option<&[String]>,
    ) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let file_len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(file);
        let mut record = ::csv::StringRecord::new();
        let got = reader
            .read_record(&mut record)
            .map_err(|e| csv_err(path, &e))?;
        if !got || record.iter().all(str::is_empty) {
            return Err(data_err(
                path,
                1,
                None,
                "expected a header row, got an empty file",
            ));
        }
        let header: Vec<String> = record.iter().map(str::to_owned).collect();
        let label_idx = match label {
            None => None,
            Some(l) if !label_required && !header.iter().any(|h| h == l) => None,
            Some(l) => Some(header.iter().position(|h| h == l).ok_or_else(|| {
                data_err(
                    path,
                    1,
                    None,
                    format!(
                        "expected a label column '{l}' in the header, got columns {}",
                        header.join(", ")
                    ),
                )
            })?),
        };
        let candidates: Vec<usize> = (0..header.len())
            .filter(|&i| Some(i) != label_idx)
            .collect();
        let by_name = names.and_then(|names| {
            names
                .iter()
                .map(|n| {
                    header
                        .iter()
                        .position(|h| h == n)
                        .filter(|&i| Some(i) != label_idx)
                })
                .collect::<Option<Vec<_>>>()
        });
        let features = match by_name {
            Some(f) => f,
            None if candidates.len() == input_dim => candidates,
            None => {
                let hint = match names {
                    Some(n) => {
                        let missing: Vec<&str> = n
                            .iter()
                            .filter(|x| !header.contains(x))
                            .map(String::as_str)
                            .collect();
                        format!(
                            " (model feature columns missing from the header: {})",
                            missing.join(", ")
                        )
                    }
                    None => String::new(),
                };
                return Err(data_err(
                    path,
                    1,
                    None,
                    format!(
                        "wrong column count: expected {input_dim} feature columns{}, got {}{hint}",
                        if label_idx.is_some() {
                            " besides the label"
                        } else {
                            ""
                        },
                        candidates.len()
                    ),
                ));
            }
        };
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            columns: Columns {
                header,
                features,
                label: label_idx,
            },
            record,
            rows_read: 0,
            file_len,
        })
    }

    /// The header of `path` (column names), reading nothing else.
    ///
    /// # Errors
    /// As [`CsvSource::open`] for a missing or empty file.
    pub fn header(path: &Path) -> Result<Vec<String>> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(::csv::Trim::All)
            .from_reader(file);
        let mut record = ::csv::StringRecord::new();
        if !reader
            .read_record(&mut record)
            .map_err(|e| csv_err(path, &e))?
            || record.iter().all(str::is_empty)
        {
            return Err(data_err(
                path,
                1,
                None,
                "expected a header row, got an empty file",
            ));
        }
        Ok(record.iter().map(str::to_owned).collect())
    }

    /// The column mapping.
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> usize {
        self.rows_read
    }

    /// Bytes of the file consumed so far and the file's size (for progress bars).
    pub fn progress(&self) -> (u64, u64) {
        (self.reader.position().byte(), self.file_len)
    }

    /// Reads up to `max_rows` rows, appending features (model-input order, row-major) to `x`
    /// and, with a label column, labels to `labels`. Returns the number of rows read (0 at
    /// the end of the file).
    ///
    /// # Errors
    /// [`Error::Data`] naming the line and column of the first bad cell or ragged row.
    pub fn read_block(
        &mut self,
        max_rows: usize,
        x: &mut Vec<f64>,
        labels: &mut Vec<f64>,
    ) -> Result<usize> {
        let mut n = 0;
        let width = self.columns.header.len();
        while n < max_rows {
            if !self
                .reader
                .read_record(&mut self.record)
                .map_err(|e| csv_err(&self.path, &e))?
            {
                break;
            }
            let line = self.record.position().map_or(0, ::csv::Position::line);
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue; // blank line
            }
            if self.record.len() != width {
                return Err(data_err(
                    &self.path,
                    line,
                    None,
                    format!(
                        "expected {width} columns like the header, got {}",
                        self.record.len()
                    ),
                ));
            }
            for &c in &self.columns.features {
                x.push(self.cell(line, c)?);
            }
            if let Some(c) = self.columns.label {
                labels.push(self.cell(line, c)?);
            }
            n += 1;
        }
        self.rows_read += n;
        Ok(n)
    }

    fn cell(&self, line: u64, c: usize) -> Result<f64> {
        let s = &self.record[c];
        let col = || Some((c + 1, self.columns.header[c].clone()));
        let v: f64 = s.parse().map_err(|_| {
            data_err(
                &self.path,
                line,
                col(),
                format!("expected a number, got '{s}'"),
            )
        })?;
        if !v.is_finite() {
            return Err(data_err(
                &self.path,
                line,
                col(),
                format!("expected a finite number, got '{s}'"),
            ));
        }
        Ok(v)
    }

    /// Reads the rest of the file.
    ///
    /// # Errors
    /// As [`CsvSource::read_block`]; also when the file has no data rows.
    pub fn read_all(&mut self) -> Result<(Vec<f64>, Vec<f64>)> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        while self.read_block(1 << 16, &mut x, &mut y)? > 0 {}
        self.ensure_rows()?;
        Ok((x, y))
    }

    /// Errors when no data row has been read (a header-only file).
    ///
    /// # Errors
    /// [`Error::Data`] for a header-only file.
    pub fn ensure_rows(&self) -> Result<()> {
        if self.rows_read == 0 {
            return Err(data_err(
                &self.path,
                2,
                None,
                "expected at least one data row, got only the header",
            ));
        }
        Ok(())
    }
}

fn csv_err(path: &Path, e: &::csv::Error) -> Error {
    let line = e.position().map_or(0, ::csv::Position::line);
    match e.kind() {
        ::csv::ErrorKind::Io(io) => Error::io(path, std::io::Error::new(io.kind(), io.to_string())),
        ::csv::ErrorKind::Utf8 { .. } => {
            data_err(path, line, None, "expected UTF-8 text, got invalid bytes")
        }
        _ => data_err(path, line, None, format!("malformed CSV ({e})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tmp(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn reads_by_name_and_label() {
        let f = tmp("b,y,a\n1,0,2\n3,1,4\n");
        let names = vec!["a".to_string(), "b".to_string()];
        let mut src = CsvSource::open(f.path(), Some("y"), 2, Some(&names)).unwrap();
        let (x, y) = src.read_all().unwrap();
        assert_eq!(x, vec![2.0, 1.0, 4.0, 3.0]);
        assert_eq!(y, vec![0.0, 1.0]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let f = tmp("a,b\n1,2\n3,x\n");
        let mut src = CsvSource::open(f.path(), None, 2, None).unwrap();
        let e = src.read_all().unwrap_err().to_string();
        assert!(
            e.ends_with(":3:2 (column 'b'): expected a number, got 'x'"),
            "{e}"
        );
        let f = tmp("a,b\n1,2\n3\n");
        let e = CsvSource::open(f.path(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(":3: expected 2 columns like the header, got 1"),
            "{e}"
        );
        let f = tmp("a,b\n1,inf\n");
        let e = CsvSource::open(f.path(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected a finite number, got 'inf'"), "{e}");
        let f = tmp("a,b\n");
        let e = CsvSource::open(f.path(), None, 2, None)
            .unwrap()
            .read_all()
            .unwrap_err()
            .to_string();
        assert!(e.contains("only the header"), "{e}");
        let f = tmp("");
        let e = CsvSource::open(f.path(), None, 2, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty file"), "{e}");
        let f = tmp("a,b,c\n1,2,3\n");
        let e = CsvSource::open(f.path(), None, 2, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 2 feature columns, got 3"), "{e}");
    }
}
