//! Writes NumPy `.npy` files (format 1.0, C order) for tests.

/// The bytes of an `.npy` file holding `data` with `shape`, as `<f8` or `<f4`.
pub fn npy_bytes(shape: &[usize], data: &[f64], f64_data: bool) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let tuple = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let descr = if f64_data { "<f8" } else { "<f4" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad so that magic + length + header is a multiple of 64, ending in a newline.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(
        &u16::try_from(header.len())
            .expect("short header")
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        if f64_data {
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            #[allow(clippy::cast_possible_truncation)]
            out.extend_from_slice(&(v as f32).to_le_bytes());
        }
    }
    out
}
