//! The GEMMs of a linear layer on host buffers, each writing a fresh output that it owns.
//!
//! `flex`'s matmul allocates its output as zeroed bytes and then copies them into an aligned
//! buffer, and the bias is added by a broadcast into a third buffer: on Swin's first stage
//! that was a tenth of a training step. The products here are the same `gemm` calls as
//! `flex`'s (same operands, strides and parallelism), so they give the same values.

/// A 2-D operand: its values and the strides of its rows and columns, in elements.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub values: &'a [f32],
    pub row_stride: isize,
    pub col_stride: isize,
}

impl<'a> Operand<'a> {
    /// A row-major `[rows, columns]` matrix.
    pub fn row_major(values: &'a [f32], columns: usize) -> Self {
        Self {
            values,
            row_stride: columns as isize,
            col_stride: 1,
        }
    }

    /// The transpose, without moving a value.
    pub fn transposed(self) -> Self {
        Self {
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }
}

/// Products at least this large (`m * n * k`) run on every thread: `flex`'s threshold, so that
/// the same products split the same way.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// `lhs [m, k] x rhs [k, n]` as a new row-major `[m, n]`.
pub fn matmul(m: usize, n: usize, k: usize, lhs: Operand, rhs: Operand) -> Vec<f32> {
    if k == 0 {
        return vec![0.0; m * n];
    }
    let max_offset = |o: &Operand, rows: usize, columns: usize| {
        (rows.saturating_sub(1) as isize * o.row_stride
            + columns.saturating_sub(1) as isize * o.col_stride) as usize
    };
    assert!(
        m == 0 || n == 0 || max_offset(&lhs, m, k) < lhs.values.len(),
        "lhs holds too few values"
    );
    assert!(
        m == 0 || n == 0 || max_offset(&rhs, k, n) < rhs.values.len(),
        "rhs holds too few values"
    );
    let parallelism = if m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    let mut output = Vec::<f32>::with_capacity(m * n);
    // SAFETY: the operands' every addressed value lies in their slices (asserted above); the
    // destination is `m * n` values of fresh capacity, which gemm (not reading it: `read_dst`
    // is false) writes in full before `set_len` exposes them.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            output.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.values.as_ptr(),
            lhs.col_stride,
            lhs.row_stride,
            rhs.values.as_ptr(),
            rhs.col_stride,
            rhs.row_stride,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
        output.set_len(m * n);
    }
    output
}

/// `x [rows, k] x weight [k, n] + bias`, the bias added in place (after the product, as
/// Burn's `linear` adds it).
pub fn forward(x: &[f32], rows: usize, weight: Operand, bias: &[f32]) -> Vec<f32> {
    let (k, n) = (x.len() / rows.max(1), bias.len());
    let mut output = matmul(rows, n, k, Operand::row_major(x, k), weight);
    for row in output.chunks_exact_mut(n.max(1)) {
        for (value, b) in row.iter_mut().zip(bias) {
            *value += b;
        }
    }
    output
}

/// The sum of `grad`'s rows (`[rows, n]`), row after row as `flex` sums a first axis.
pub fn bias_grad(grad: &[f32], n: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; n];
    for row in grad.chunks_exact(n.max(1)) {
        for (sum, g) in sums.iter_mut().zip(row) {
            *sum += g;
        }
    }
    sums
}
