//! A small reader for MATLAB v5 MAT-files (`save -v7` and older, with or without compression):
//! numeric, character, cell and struct arrays, enough for the ImageNet devkit's `meta.mat`.
//! Sparse and object arrays, and v7.3 (HDF5) files, are refused with a message.

use std::io::Read;

use anyhow::{Context, bail, ensure};

/// One MATLAB array, column-major as MATLAB stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum MatValue {
    /// Any numeric class (double, single, integers, logical), converted to f64; real part only.
    Numeric {
        dims: Vec<usize>,
        values: Vec<f64>,
    },
    /// A character array as text (columns of a multi-row array concatenated).
    Char(String),
    Cell(Vec<MatValue>),
    /// `elements[i][f]` is field `fields[f]` of element `i`.
    Struct {
        fields: Vec<String>,
        elements: Vec<Vec<MatValue>>,
    },
}

impl MatValue {
    /// The single number this holds, if it is a numeric scalar.
    pub fn scalar(&self) -> Option<f64> {
        match self {
            MatValue::Numeric { values, .. } if values.len() == 1 => Some(values[0]),
            _ => None,
        }
    }

    /// Field `name` of every element of a struct array.
    pub fn field(&self, name: &str) -> Option<Vec<&MatValue>> {
        let MatValue::Struct { fields, elements } = self else {
            return None;
        };
        let at = fields.iter().position(|f| f == name)?;
        Some(elements.iter().map(|e| &e[at]).collect())
    }
}

/// The named top-level variables of a MAT-file's bytes.
pub fn read_mat(bytes: &[u8]) -> anyhow::Result<Vec<(String, MatValue)>> {
    ensure!(
        bytes.len() >= 128,
        "not a MAT-file: shorter than its 128-byte header"
    );
    if bytes[..128].windows(4).any(|w| w == b"HDF\x00") || bytes.starts_with(b"\x89HDF") {
        bail!("a MATLAB v7.3 (HDF5) file; save it with `save -v7` to read it here");
    }
    ensure!(
        &bytes[126..128] == b"IM",
        "not a little-endian MATLAB v5 MAT-file (no `IM` endian mark at byte 126)"
    );
    let mut out = Vec::new();
    let mut reader = Reader { bytes, at: 128 };
    while reader.at + 8 <= bytes.len() {
        let (kind, data) = reader.element()?;
        match kind {
            MI_MATRIX => out.push(matrix(data)?),
            MI_COMPRESSED => {
                let mut inflated = Vec::new();
                flate2::read::ZlibDecoder::new(data)
                    .read_to_end(&mut inflated)
                    .context("a compressed MAT-file variable does not inflate")?;
                let mut inner = Reader {
                    bytes: &inflated,
                    at: 0,
                };
                while inner.at + 8 <= inflated.len() {
                    let (kind, data) = inner.element()?;
                    if kind == MI_MATRIX {
                        out.push(matrix(data)?);
                    }
                }
            }
            _ => {} // other top-level elements carry no variable
        }
    }
    Ok(out)
}

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;
const MI_UTF8: u32 = 16;
const MI_UTF16: u32 = 17;

const MX_CELL: u32 = 1;
const MX_STRUCT: u32 = 2;
const MX_OBJECT: u32 = 3;
const MX_CHAR: u32 = 4;
const MX_SPARSE: u32 = 5;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u32_at(&self, at: usize) -> anyhow::Result<u32> {
        let word = self
            .bytes
            .get(at..at + 4)
            .context("MAT-file cut short inside an element tag")?;
        Ok(u32::from_le_bytes(word.try_into().expect("4 bytes")))
    }

    /// The next data element: its type and its bytes (padding skipped).
    fn element(&mut self) -> anyhow::Result<(u32, &'a [u8])> {
        let first = self.u32_at(self.at)?;
        if first >> 16 != 0 {
            // Small data element: type and size in one word, up to 4 bytes of data.
            let (kind, len) = (first & 0xFFFF, (first >> 16) as usize);
            ensure!(len <= 4, "MAT-file small element of {len} bytes");
            let data = self
                .bytes
                .get(self.at + 4..self.at + 4 + len)
                .context("MAT-file cut short inside a small element")?;
            self.at += 8;
            return Ok((kind, data));
        }
        let len = self.u32_at(self.at + 4)? as usize;
        let start = self.at + 8;
        let data = self
            .bytes
            .get(start..start + len)
            .with_context(|| format!("MAT-file cut short: an element of {len} bytes at {start}"))?;
        // Compressed elements are not padded; everything else is, to 8 bytes.
        let padded = if first == MI_COMPRESSED {
            len
        } else {
            len.div_ceil(8) * 8
        };
        self.at = (start + padded).min(self.bytes.len());
        Ok((first, data))
    }
}

/// Numbers of any MAT storage type.
fn numbers(kind: u32, data: &[u8]) -> anyhow::Result<Vec<f64>> {
    macro_rules! each {
        ($t:ty) => {
            data.chunks_exact(size_of::<$t>())
                .map(|c| <$t>::from_le_bytes(c.try_into().expect("sized chunk")) as f64)
                .collect()
        };
    }
    Ok(match kind {
        MI_INT8 => each!(i8),
        MI_UINT8 | MI_UTF8 => each!(u8),
        MI_INT16 => each!(i16),
        MI_UINT16 | MI_UTF16 => each!(u16),
        MI_INT32 => each!(i32),
        MI_UINT32 => each!(u32),
        MI_SINGLE => each!(f32),
        MI_DOUBLE => each!(f64),
        MI_INT64 => each!(i64),
        MI_UINT64 => each!(u64),
        other => bail!("MAT-file numeric data of unknown type {other}"),
    })
}

/// A miMATRIX element's contents: its name and value.
fn matrix(data: &[u8]) -> anyhow::Result<(String, MatValue)> {
    if data.is_empty() {
        // MATLAB writes an empty array inside a cell or struct as a bare tag.
        let empty = MatValue::Numeric {
            dims: vec![0, 0],
            values: Vec::new(),
        };
        return Ok((String::new(), empty));
    }
    let mut r = Reader { bytes: data, at: 0 };
    let (_, flags) = r.element()?;
    ensure!(flags.len() >= 4, "MAT-file array without flags");
    let class = u32::from_le_bytes(flags[..4].try_into().expect("4 bytes")) & 0xFF;
    let (kind, dims) = r.element()?;
    let dims: Vec<usize> = numbers(kind, dims)?.iter().map(|&d| d as usize).collect();
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| class != MX_CELL && class != MX_STRUCT || n <= data.len() / 8)
        .context("MAT-file array dimensions larger than the file")?;
    let (_, name) = r.element()?;
    let name = String::from_utf8_lossy(name).into_owned();
    let value = match class {
        MX_CELL => MatValue::Cell(
            (0..count)
                .map(|_| r.element().and_then(|(_, d)| matrix(d)).map(|(_, v)| v))
                .collect::<anyhow::Result<_>>()?,
        ),
        MX_STRUCT => {
            let (_, width) = r.element()?;
            let width = numbers(MI_INT32, width)?.first().copied().unwrap_or(0.0) as usize;
            let (_, names) = r.element()?;
            ensure!(width > 0, "MAT-file struct with field names of width 0");
            let fields: Vec<String> = names
                .chunks(width)
                .map(|n| {
                    let end = n.iter().position(|&b| b == 0).unwrap_or(n.len());
                    String::from_utf8_lossy(&n[..end]).into_owned()
                })
                .collect();
            let mut elements = Vec::with_capacity(count);
            for _ in 0..count {
                let element = fields
                    .iter()
                    .map(|_| r.element().and_then(|(_, d)| matrix(d)).map(|(_, v)| v))
                    .collect::<anyhow::Result<_>>()?;
                elements.push(element);
            }
            MatValue::Struct { fields, elements }
        }
        MX_CHAR => {
            let (kind, text) = if count == 0 {
                (MI_UINT8, &[][..])
            } else {
                r.element()?
            };
            let text = match kind {
                MI_UTF8 | MI_UINT8 | MI_INT8 => String::from_utf8_lossy(text).into_owned(),
                _ => numbers(kind, text)?
                    .iter()
                    .map(|&c| char::from_u32(c as u32).unwrap_or('\u{FFFD}'))
                    .collect(),
            };
            MatValue::Char(text)
        }
        MX_SPARSE | MX_OBJECT => {
            bail!("MAT-file variable `{name}`: sparse and object arrays are not read")
        }
        _ => {
            let values = if count == 0 {
                Vec::new()
            } else {
                let (kind, real) = r.element()?;
                numbers(kind, real)?
            };
            MatValue::Numeric { dims, values }
        }
    };
    Ok((name, value))
}

#[cfg(test)]
#[path = "mat5_tests.rs"]
mod tests;
