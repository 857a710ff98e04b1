//! `.npy` data files: valid arrays read row by row in C order; hostile headers and bad
//! values are errors naming the file.

use conflux_core::data::csv::{CsvOptions, CsvSource};
use conflux_core::data::npy::NpyReader;
use conflux_testkit::npy::npy_bytes;

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn image_arrays_read_as_flattened_rows() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<f64> = (0..3 * 2 * 2 * 3).map(|i| f64::from(i) * 0.5).collect();
    for f64_data in [true, false] {
        let p = write(
            dir.path(),
            "x.npy",
            &npy_bytes(&[3, 2, 2, 3], &data, f64_data),
        );
        let mut src = CsvSource::open(&p, &CsvOptions::default(), None, 12, None).unwrap();
        assert_eq!(src.columns().feature_names()[11], "f11");
        let (mut x, mut y) = (Vec::new(), Vec::new());
        assert_eq!(src.read_block(2, &mut x, &mut y).unwrap(), 2);
        assert_eq!(src.read_block(5, &mut x, &mut y).unwrap(), 1);
        assert_eq!(src.read_block(5, &mut x, &mut y).unwrap(), 0);
        assert_eq!(x, data);
        assert!(y.is_empty());
    }
}

#[test]
fn bad_arrays_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = npy_bytes(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true);
    // Same-length edits of the header bytes.
    let edit = |from: &str, to: &str| {
        let (f, t) = (from.as_bytes(), to.as_bytes());
        let mut b = good.clone();
        let at = b.windows(f.len()).position(|w| w == f).unwrap();
        b.splice(at..at + f.len(), t.iter().copied());
        b
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not numpy at all".to_vec(), "magic"),
        (
            good[..good.len() - 8].to_vec(),
            "needs 48 bytes of data, the file has 40",
        ),
        (edit("<f8", ">f8"), "expected dtype '<f4' or '<f8'"),
        (edit("False", "True "), "C order"),
        (
            edit("(2, 3)", "(99999999999999999, 9)"),
            "needs 7199999999999999928 bytes of data",
        ),
        (edit("(2, 3)", "(9999999999, 9999999999)"), "too large"),
        (
            npy_bytes(&[6], &[0.0; 6], true),
            "expected (N, F) or (N, C, H, W)",
        ),
        (
            npy_bytes(&[2, 3], &[1.0, f64::NAN, 0.0, 0.0, 0.0, 0.0], true),
            "row 0, element 1",
        ),
    ];
    for (bytes, want) in cases {
        let p = write(dir.path(), "bad.npy", &bytes);
        let e = NpyReader::open(&p).and_then(|mut r| r.read_rows(10, &mut Vec::new()).map(|_| ()));
        let e = e.unwrap_err().to_string();
        assert!(
            e.contains("bad.npy") && e.contains(want),
            "expected {want:?} in {e}"
        );
    }
    // The model's input width is checked, and a label cannot come from a .npy file.
    let p = write(dir.path(), "x.npy", &good);
    let e = CsvSource::open(&p, &CsvOptions::default(), None, 4, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("expected rows of 4 values") && e.contains("[2, 3]"),
        "{e}"
    );
    let e = CsvSource::open(&p, &CsvOptions::default(), Some("y"), 3, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("label 'y' must come from a CSV file"), "{e}");
}

#[test]
fn a_bad_value_leaves_nothing_of_the_failed_block() {
    let dir = tempfile::tempdir().unwrap();
    let data = [1.0, 2.0, 3.0, 4.0, f64::INFINITY, 6.0];
    let p = write(dir.path(), "x.npy", &npy_bytes(&[3, 2], &data, false));
    let mut r = NpyReader::open(&p).unwrap();
    let mut x = Vec::new();
    assert_eq!(r.read_rows(1, &mut x).unwrap(), 1);
    let e = r.read_rows(5, &mut x).unwrap_err().to_string();
    assert!(e.contains("row 2, element 0"), "{e}");
    assert_eq!(
        x,
        [1.0, 2.0],
        "the failed block's good row is not kept either"
    );
}

#[test]
fn an_empty_array_of_huge_width_allocates_nothing() {
    // Found by the npy fuzz target: shape (0, 486 000 000) is 0 bytes of valid data.
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "x.npy",
        &npy_bytes(&[0, 486_000_000], &[], true),
    );
    let mut r = NpyReader::open(&p).unwrap();
    assert_eq!((r.rows(), r.cols()), (0, 486_000_000));
    assert_eq!(r.read_rows(10, &mut Vec::new()).unwrap(), 0);
}
