//! NumPy `.npy` files (format version 1.0, C order, little-endian), so arrays pvr writes open with
//! `numpy.load`. Element types: `<f4` (f32), `<i4` (i32) and `|u1` (u8). The reader accepts what the writer
//! produces and says clearly what else it does not read.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail, ensure};

const MAGIC: &[u8] = b"\x93NUMPY";

/// An element type pvr stores.
pub trait NpyElement: Copy {
    /// NumPy's `descr`.
    const DESCR: &'static str;
    fn write_le(values: &[Self], out: &mut Vec<u8>);
    fn read_le(bytes: &[u8]) -> Vec<Self>;
}

/// The 4-byte little-endian element types.
macro_rules! four_byte_element {
    ($type:ty, $descr:literal) => {
        impl NpyElement for $type {
            const DESCR: &'static str = $descr;
            fn write_le(values: &[Self], out: &mut Vec<u8>) {
                out.reserve(values.len() * 4);
                values
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
            }
            fn read_le(bytes: &[u8]) -> Vec<Self> {
                bytes
                    .chunks_exact(4)
                    .map(|b| <$type>::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            }
        }
    };
}

four_byte_element!(f32, "<f4");
four_byte_element!(i32, "<i4");

impl NpyElement for u8 {
    const DESCR: &'static str = "|u1";
    fn write_le(values: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(values);
    }
    fn read_le(bytes: &[u8]) -> Vec<Self> {
        bytes.to_vec()
    }
}

/// The bytes of an `.npy` file holding `values` with `shape`.
pub fn npy_bytes<T: NpyElement>(values: &[T], shape: &[usize]) -> anyhow::Result<Vec<u8>> {
    ensure!(
        shape.iter().product::<usize>() == values.len(),
        "npy: {} values do not fill shape {shape:?}",
        values.len()
    );
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        T::DESCR
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64 bytes,
    // so the data starts aligned, as NumPy writes it.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    ensure!(
        header.len() <= u16::MAX as usize,
        "npy: shape {shape:?} makes too long a header"
    );
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    T::write_le(values, &mut out);
    Ok(out)
}

/// Writes `values` with `shape` to `path`.
pub fn write_npy<T: NpyElement>(path: &Path, values: &[T], shape: &[usize]) -> anyhow::Result<()> {
    let bytes = npy_bytes(values, shape).with_context(|| format!("encoding {}", path.display()))?;
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(&bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// An array read back: its shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray<T> {
    pub shape: Vec<usize>,
    pub values: Vec<T>,
}

/// Reads an `.npy` file of element type `T` (C order, little-endian, version 1.0 or 2.0).
pub fn read_npy<T: NpyElement>(path: &Path) -> anyhow::Result<NpyArray<T>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_npy(&bytes).with_context(|| format!("reading {}", path.display()))
}

pub fn parse_npy<T: NpyElement>(bytes: &[u8]) -> anyhow::Result<NpyArray<T>> {
    ensure!(
        bytes.starts_with(MAGIC) && bytes.len() >= 10,
        "not an .npy file"
    );
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        version => bail!("npy format version {version} is not supported"),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + header_len)
            .context("truncated npy header")?,
    )
    .context("npy header is not text")?;
    let field = |name: &str| -> anyhow::Result<&str> {
        let key = format!("'{name}':");
        let at = header
            .find(&key)
            .with_context(|| format!("npy header has no {name}"))?;
        Ok(header[at + key.len()..].trim_start())
    };
    let descr = field("descr")?;
    ensure!(
        descr.starts_with(&format!("'{}'", T::DESCR)),
        "npy element type is {}, expected '{}'",
        descr.split(',').next().unwrap_or(descr),
        T::DESCR
    );
    ensure!(
        field("fortran_order")?.starts_with("False"),
        "Fortran-ordered npy arrays are not supported"
    );
    let shape_text = field("shape")?;
    let close = shape_text.find(')').context("npy shape is not a tuple")?;
    let shape = shape_text[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .with_context(|| format!("npy shape entry `{s}`"))
        })
        .collect::<anyhow::Result<Vec<usize>>>()?;
    let data = &bytes[start + header_len..];
    let count: usize = shape.iter().product();
    let width = T::DESCR[2..].parse::<usize>().unwrap_or(1);
    ensure!(
        data.len() == count * width,
        "npy data holds {} bytes, shape {shape:?} needs {}",
        data.len(),
        count * width
    );
    Ok(NpyArray {
        shape,
        values: T::read_le(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_numpy_v1_aligned_to_64_bytes() {
        let bytes = npy_bytes(&[1.5f32, -2.0, 0.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 4],
            &1.5f32.to_le_bytes()
        );
        assert_eq!(bytes.len(), 10 + header_len + 24);
    }

    #[test]
    fn round_trips_and_rejects_mismatches() {
        let values: Vec<u8> = (0..24).collect();
        let bytes = npy_bytes(&values, &[2, 3, 4]).unwrap();
        let back: NpyArray<u8> = parse_npy(&bytes).unwrap();
        assert_eq!(back.shape, vec![2, 3, 4]);
        assert_eq!(back.values, values);
        let one_d = npy_bytes(&[7u8, 8], &[2]).unwrap();
        assert!(String::from_utf8_lossy(&one_d).contains("'shape': (2,)"));
        assert!(parse_npy::<f32>(&bytes).is_err(), "u8 file read as f32");
        assert!(npy_bytes(&[1u8, 2, 3], &[2, 2]).is_err());
    }
}
