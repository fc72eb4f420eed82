//! Compressed sparse rows of a weight matrix, and the one kernel every sparse layer runs:
//! `out = W · patches` for a CSR `W` (`rows x k`) and a dense column tile `patches` (`k x ld`).

use std::ops::Range;

/// A `rows x cols` matrix in CSR form: row `r`'s non-zeros are `values[starts[r]..starts[r+1]]`
/// at columns `columns[...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub rows: usize,
    pub cols: usize,
    starts: Vec<usize>,
    columns: Vec<u32>,
    values: Vec<f32>,
}

impl Csr {
    /// The non-zeros of a row-major `rows x cols` matrix (exact zeros are dropped: pruned
    /// weights are exact zeros).
    pub fn from_dense(dense: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(dense.len(), rows * cols, "a {rows} x {cols} matrix");
        assert!(cols <= u32::MAX as usize, "at most 2^32 columns");
        let mut starts = Vec::with_capacity(rows + 1);
        let mut columns = Vec::new();
        let mut values = Vec::new();
        starts.push(0);
        for row in dense.chunks_exact(cols.max(1)).take(rows) {
            for (c, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    columns.push(c as u32);
                    values.push(v);
                }
            }
            starts.push(values.len());
        }
        starts.resize(rows + 1, values.len());
        Self {
            rows,
            cols,
            starts,
            columns,
            values,
        }
    }

    /// The transpose, in CSR form (the input-gradient pass multiplies by `Wᵀ`).
    pub fn transpose(&self) -> Self {
        let mut counts = vec![0usize; self.cols + 1];
        for &c in &self.columns {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.cols {
            counts[i + 1] += counts[i];
        }
        let starts = counts.clone();
        let mut next = counts;
        let mut columns = vec![0u32; self.values.len()];
        let mut values = vec![0f32; self.values.len()];
        for r in 0..self.rows {
            for i in self.starts[r]..self.starts[r + 1] {
                let c = self.columns[i] as usize;
                columns[next[c]] = r as u32;
                values[next[c]] = self.values[i];
                next[c] += 1;
            }
        }
        Self {
            rows: self.cols,
            cols: self.rows,
            starts,
            columns,
            values,
        }
    }

    /// Whether any row has a non-zero in each column.
    pub fn used_columns(&self) -> Vec<bool> {
        let mut used = vec![false; self.cols];
        for &c in &self.columns {
            used[c as usize] = true;
        }
        used
    }

    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Share of non-zero entries.
    pub fn density(&self) -> f64 {
        self.nnz() as f64 / (self.rows * self.cols).max(1) as f64
    }

    fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let span = self.starts[r]..self.starts[r + 1];
        (&self.columns[span.clone()], &self.values[span])
    }

    /// `out[r - rows.start][j] = Σ_k W[r][k] · patches[k · ld + j]` for `r` in `rows` and
    /// `j < ld`; `ld` must be a multiple of [`CHUNK`] and `out` holds `rows.len() · ld` values.
    pub fn times(&self, rows: Range<usize>, patches: &[f32], ld: usize, out: &mut [f32]) {
        assert!(
            ld.is_multiple_of(CHUNK),
            "ld {ld} is not a multiple of {CHUNK}"
        );
        assert!(patches.len() >= self.cols * ld && out.len() >= rows.len() * ld);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            unsafe { times_avx2_fma(self, rows, patches, ld, out) };
            return;
        }
        times_body::<false>(self, rows, patches, ld, out);
    }
}

/// Columns per register block: 64 f32 are 8 AVX2 registers of accumulators.
pub const CHUNK: usize = 64;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn times_avx2_fma(
    csr: &Csr,
    rows: Range<usize>,
    patches: &[f32],
    ld: usize,
    out: &mut [f32],
) {
    times_body::<true>(csr, rows, patches, ld, out);
}

/// Column chunks outermost, so that a chunk of every patch row (`k · CHUNK` floats) stays in
/// cache while every output row reads it; per output row the chunk's accumulators stay in
/// registers across its non-zeros.
#[inline(always)]
fn times_body<const FMA: bool>(
    csr: &Csr,
    rows: Range<usize>,
    patches: &[f32],
    ld: usize,
    out: &mut [f32],
) {
    for c0 in (0..ld).step_by(CHUNK) {
        for (i, r) in rows.clone().enumerate() {
            let (columns, values) = csr.row(r);
            let mut acc = [0f32; CHUNK];
            for (&k, &w) in columns.iter().zip(values) {
                let start = k as usize * ld + c0;
                let src: &[f32; CHUNK] = patches[start..start + CHUNK].try_into().unwrap();
                for j in 0..CHUNK {
                    acc[j] = if FMA {
                        w.mul_add(src[j], acc[j])
                    } else {
                        acc[j] + w * src[j]
                    };
                }
            }
            out[i * ld + c0..i * ld + c0 + CHUNK].copy_from_slice(&acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_times(w: &[f32], rows: usize, k: usize, p: &[f32], ld: usize) -> Vec<f32> {
        let mut out = vec![0f32; rows * ld];
        for r in 0..rows {
            for kk in 0..k {
                for j in 0..ld {
                    out[r * ld + j] += w[r * k + kk] * p[kk * ld + j];
                }
            }
        }
        out
    }

    #[test]
    fn csr_times_equals_the_dense_product_and_transpose_is_exact() {
        let (rows, k, ld) = (5, 7, CHUNK * 2);
        // Every third weight zero, the rest varied; one row entirely zero.
        let w: Vec<f32> = (0..rows * k)
            .map(|i| {
                if i % 3 == 0 || (7..14).contains(&i) {
                    0.0
                } else {
                    (i as f32 * 0.37).sin()
                }
            })
            .collect();
        let p: Vec<f32> = (0..k * ld).map(|i| (i as f32 * 0.11).cos()).collect();
        let csr = Csr::from_dense(&w, rows, k);
        assert_eq!(csr.nnz(), w.iter().filter(|v| **v != 0.0).count());
        let mut out = vec![f32::NAN; rows * ld];
        csr.times(0..rows, &p, ld, &mut out);
        let want = dense_times(&w, rows, k, &p, ld);
        for (a, b) in out.iter().zip(&want) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
        }
        // A sub-range of rows lands at the start of `out`.
        let mut part = vec![0f32; 2 * ld];
        csr.times(3..5, &p, ld, &mut part);
        assert_eq!(&part[..], &out[3 * ld..5 * ld]);
        let t = csr.transpose();
        assert_eq!((t.rows, t.cols, t.nnz()), (k, rows, csr.nnz()));
        for r in 0..k {
            for c in 0..rows {
                let (cols, vals) = t.row(r);
                let got = cols
                    .iter()
                    .position(|&x| x as usize == c)
                    .map_or(0.0, |i| vals[i]);
                assert_eq!(got, w[c * k + r]);
            }
        }
        assert_eq!(t.transpose(), csr);
    }
}
