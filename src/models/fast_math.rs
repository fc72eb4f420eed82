//! `exp` in branch-free arithmetic the compiler vectorises, for the CPU kernels that take it of
//! every value (`fast_gelu`, `fast_softmax`): Cephes' `expf` (range reduction by ln 2 and a
//! degree-5 polynomial, within 3e-7 relative; tested in `fast_gelu`). `libm`'s `expf`, which
//! `flex` calls per value, does not vectorise.

use std::f32::consts::{LN_2, LOG2_E};

/// `e^x` for `x` at most 88 (GELU and softmax take it of values at most 0); below -87.3 it is
/// clamped to `e^-87.3`, about 1e-38, which is 0 for every use here.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    // Round `x / ln 2` to the nearest integer: adding 1.5 * 2^23 pushes the fraction out.
    const ROUND: f32 = 12_582_912.0;
    let n = (x * LOG2_E + ROUND) - ROUND;
    // ln 2 in two parts, so that `n * LN2_HIGH` is exact.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = LN_2 - LN2_HIGH;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    e_r * f32::from_bits(((n as i32 + 127) << 23) as u32)
}
