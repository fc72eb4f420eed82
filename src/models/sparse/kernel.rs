//! The one inner loop of every sparse operation: a row of output is a weighted sum of shifted
//! windows of a source buffer,
//!
//! ```text
//! out[t] = sum over entries (offset, w) of  w * src[offset + t]      for t in 0..out.len()
//! ```
//!
//! A convolution whose input planes are laid out with the right padding and phase split (see
//! [`super::geometry`]) is exactly this, one output channel per row; so is its input gradient, one
//! input plane per row. The output is accumulated in blocks of 64 (AVX2) or 128 (AVX-512) floats that stay in
//! vector registers while every entry of the row streams its window through them, so each
//! multiply-add costs one load.
//!
//! The loop is written once and compiled three times: for AVX-512, for AVX2 with FMA, and
//! portably; [`accumulate`] picks the widest this CPU has at run time.

/// Floats accumulated in registers at once: 8 registers of AVX2 (64) or AVX-512 (128), enough
/// independent sums to hide the multiply-add latency.
const BLOCK_AVX2: usize = 64;
const BLOCK_AVX512: usize = 128;

/// One non-zero weight of a row and where its window starts in the source buffer: 8 bytes, so
/// that a row's entries, streamed once per register block, take half the cache a `usize` offset
/// would (and a layer's kept plans half the memory).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    offset: u32,
    pub weight: f32,
}

impl Entry {
    /// # Panics
    /// When `offset` passes `u32::MAX`: a window inside one image's input planes past 16 GiB.
    pub fn new(offset: usize, weight: f32) -> Self {
        let offset = u32::try_from(offset).expect("a sparse window within one image's planes");
        Self { offset, weight }
    }

    pub fn offset(&self) -> usize {
        self.offset as usize
    }
}

/// Floats a source buffer should have past its last window for the partial block at the end of
/// a row to run at full speed (it then reads, and discards, up to this many floats more).
pub const SLACK: usize = 64;

/// A row's entries and the largest offset among them (how far its windows reach).
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    entries: &'a [Entry],
    reach: usize,
}

impl<'a> Row<'a> {
    pub fn new(entries: &'a [Entry]) -> Self {
        let reach = entries.iter().map(Entry::offset).max().unwrap_or(0);
        Self { entries, reach }
    }

    /// A row whose reach was measured once by [`Row::new`] and kept (a plan's rows run many
    /// times); a wrong reach makes a call panic, never read out of bounds.
    pub(super) fn with_reach(entries: &'a [Entry], reach: usize) -> Self {
        Self { entries, reach }
    }

    pub fn reach(&self) -> usize {
        self.reach
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// `out[t] = sum_e e.weight * src[e.offset + t]` for `t < len`, overwriting `out`. Floats of
/// `out` past `len` may be overwritten too, with values to discard: room there lets the end of
/// the row run as whole vector blocks, without copies.
///
/// # Panics
/// When `out` is shorter than `len`, or a window `src[offset..offset + len]` lies outside `src`.
pub fn accumulate(out: &mut [f32], len: usize, src: &[f32], row: Row) {
    dispatch::<false>(out, len, src, row);
}

/// `out[t] += sum_e e.weight * src[e.offset + t]`: [`accumulate`] adding to what `out` holds, for
/// a sum whose entries come in several calls (one per group of source channels).
///
/// # Panics
/// As [`accumulate`].
pub fn accumulate_add(out: &mut [f32], len: usize, src: &[f32], row: Row) {
    if !row.is_empty() {
        dispatch::<true>(out, len, src, row);
    }
}

/// Checks the windows and runs the widest instruction set this CPU has.
fn dispatch<const ADD: bool>(out: &mut [f32], len: usize, src: &[f32], row: Row) {
    let Row { entries, reach } = row;
    assert!(len <= out.len(), "{len} floats into {}", out.len());
    assert!(
        entries.is_empty() || reach + len <= src.len(),
        "sparse window at {reach} + {len} outside a source of {}",
        src.len()
    );
    // Whether the last partial block may read up to SLACK floats past the row.
    let slack = reach + len + SLACK <= src.len();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked above); the windows are in bounds.
            return unsafe { accumulate_avx512::<ADD>(out, len, src, entries, slack) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked above); the windows are in bounds.
            return unsafe { accumulate_avx2::<ADD>(out, len, src, entries, slack) };
        }
    }
    accumulate_body::<false, BLOCK_AVX2, ADD>(out, len, src, entries, slack);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn accumulate_avx512<const ADD: bool>(
    out: &mut [f32],
    len: usize,
    src: &[f32],
    entries: &[Entry],
    slack: bool,
) {
    accumulate_body::<true, BLOCK_AVX512, ADD>(out, len, src, entries, slack);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_avx2<const ADD: bool>(
    out: &mut [f32],
    len: usize,
    src: &[f32],
    entries: &[Entry],
    slack: bool,
) {
    accumulate_body::<true, BLOCK_AVX2, ADD>(out, len, src, entries, slack);
}

/// Accumulates `out[start..start + N]` in registers over every entry, starting from `acc`, and
/// returns it.
#[inline(always)]
fn block<const N: usize, const FMA: bool>(
    src: &[f32],
    entries: &[Entry],
    start: usize,
    mut acc: [f32; N],
) -> [f32; N] {
    for entry in entries {
        let at = entry.offset() + start;
        let window: &[f32; N] = src[at..at + N].try_into().unwrap();
        let w = entry.weight;
        for (a, &s) in acc.iter_mut().zip(window) {
            *a = if FMA { w.mul_add(s, *a) } else { *a + w * s };
        }
    }
    acc
}

/// [`block`] for short blocks: entries alternate between two sets of sums, so that twice as many
/// multiply-adds are in flight as the block has registers.
#[inline(always)]
fn short_block<const N: usize, const FMA: bool>(
    src: &[f32],
    entries: &[Entry],
    start: usize,
    mut even: [f32; N],
) -> [f32; N] {
    let mut odd = [0f32; N];
    let add = |acc: &mut [f32; N], entry: &Entry| {
        let at = entry.offset() + start;
        let window: &[f32; N] = src[at..at + N].try_into().unwrap();
        let w = entry.weight;
        for (a, &s) in acc.iter_mut().zip(window) {
            *a = if FMA { w.mul_add(s, *a) } else { *a + w * s };
        }
    };
    let mut pairs = entries.chunks_exact(2);
    for pair in &mut pairs {
        add(&mut even, &pair[0]);
        add(&mut odd, &pair[1]);
    }
    if let [last] = pairs.remainder() {
        add(&mut even, last);
    }
    for (e, o) in even.iter_mut().zip(odd) {
        *e += o;
    }
    even
}

/// `FMA`: fuse the multiply-add (only where the CPU has the instruction: elsewhere `mul_add` is
/// a slow library call). `BLOCK`: floats summed in registers at once. `ADD`: add to `out` rather
/// than overwrite it. `slack`: the source has room for [`SLACK`] floats past every window, so the
/// end of the row runs as short blocks (stored whole where `out` has room past `len`).
#[inline(always)]
fn accumulate_body<const FMA: bool, const BLOCK: usize, const ADD: bool>(
    out: &mut [f32],
    len: usize,
    src: &[f32],
    entries: &[Entry],
    slack: bool,
) {
    let full = len - len % BLOCK;
    for start in (0..full).step_by(BLOCK) {
        let target: &mut [f32; BLOCK] = (&mut out[start..start + BLOCK]).try_into().unwrap();
        let init = if ADD { *target } else { [0.0; BLOCK] };
        *target = block::<BLOCK, FMA>(src, entries, start, init);
    }
    let mut start = full;
    while start < len {
        let rest = len - start;
        // The shortest block that covers the rest, when the source has room for it.
        let n = match rest {
            _ if !slack => 0,
            0..=16 => 16,
            17..=32 => 32,
            _ => 64,
        };
        if n > 0 {
            let take = rest.min(n);
            let end = (start + n).min(out.len());
            let target = &mut out[start..end];
            match n {
                16 => short_tail::<16, FMA, ADD>(src, entries, start, target, take),
                32 => short_tail::<32, FMA, ADD>(src, entries, start, target, take),
                _ => short_tail::<64, FMA, ADD>(src, entries, start, target, take),
            }
            start += take;
        } else {
            let tail = &mut out[start..len];
            if !ADD {
                tail.fill(0.0);
            }
            for entry in entries {
                let window = &src[entry.offset() + start..][..rest];
                for (a, &s) in tail.iter_mut().zip(window) {
                    *a = if FMA {
                        entry.weight.mul_add(s, *a)
                    } else {
                        *a + entry.weight * s
                    };
                }
            }
            start = len;
        }
    }
}

/// The last `take <= N` floats of a row, summed as one short block of `N` (the source has room
/// past the row's end). Where `target` holds all `N` floats the block is stored whole (the sums
/// past `take` are to discard); otherwise its first `take` are copied.
#[inline(always)]
fn short_tail<const N: usize, const FMA: bool, const ADD: bool>(
    src: &[f32],
    entries: &[Entry],
    start: usize,
    target: &mut [f32],
    take: usize,
) {
    if let Ok(whole) = <&mut [f32; N]>::try_from(&mut *target) {
        let init = if ADD { *whole } else { [0.0; N] };
        *whole = short_block::<N, FMA>(src, entries, start, init);
        return;
    }
    let target = &mut target[..take];
    let mut init = [0.0; N];
    if ADD {
        init[..take].copy_from_slice(target);
    }
    let acc = short_block::<N, FMA>(src, entries, start, init);
    target.copy_from_slice(&acc[..take]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one element at a time, in f64.
    fn reference(len: usize, src: &[f32], entries: &[Entry]) -> Vec<f32> {
        (0..len)
            .map(|t| {
                entries
                    .iter()
                    .map(|e| e.weight as f64 * src[e.offset() + t] as f64)
                    .sum::<f64>() as f32
            })
            .collect()
    }

    #[test]
    fn matches_the_definition_across_blocks_and_tails() {
        let src: Vec<f32> = (0..1000)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let entries = [
            Entry::new(0, 0.5),
            Entry::new(13, -1.25),
            Entry::new(200, 3.0),
        ];
        // Lengths below, at and across the block size, so both the blocked loop and the tail
        // run; with no room past the row in `out`, and with room (the tail stored whole).
        for len in [0, 1, 20, 63, 64, 65, 100, 128, 200, 700] {
            for room in [0, 64] {
                let mut out = vec![f32::NAN; len + room];
                accumulate(&mut out, len, &src, Row::new(&entries));
                let expected = reference(len, &src, &entries);
                for (a, b) in out.iter().zip(&expected) {
                    assert!(
                        (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                        "{a} vs {b} at len {len}, room {room}"
                    );
                }
            }
        }
        // With room past the last window, partial blocks run whole; the same values.
        let mut roomy = vec![0.0; 190];
        accumulate(
            &mut roomy,
            190,
            &src[..200 + 190 + SLACK],
            Row::new(&entries),
        );
        let mut tight = vec![0.0; 190];
        accumulate(&mut tight, 190, &src[..200 + 190], Row::new(&entries));
        for (a, b) in roomy.iter().zip(&tight) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
        }
        // Every ISA path against the portable one.
        let mut portable = vec![0.0; 700];
        accumulate_body::<false, BLOCK_AVX2, false>(&mut portable, 700, &src, &entries, false);
        let mut dispatched = vec![0.0; 700];
        accumulate(&mut dispatched, 700, &src, Row::new(&entries));
        for (a, b) in portable.iter().zip(&dispatched) {
            assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
        }
    }

    #[test]
    fn adding_in_parts_equals_one_sum() {
        let src: Vec<f32> = (0..600)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 9.0)
            .collect();
        let entries: Vec<Entry> = (0..7)
            .map(|i| Entry::new(i * 31, 0.25 * i as f32 - 0.7))
            .collect();
        // Lengths through whole blocks, short tails with room, and a tail without room.
        // Each also with room past the row in `out`, where tails are stored whole.
        let cases = [(300, true), (150, true), (20, true), (353, false)];
        for ((len, room), out_room) in cases.into_iter().flat_map(|c| [(c, 0), (c, 64)]) {
            let src = if room { &src[..] } else { &src[..186 + len] };
            let mut whole = vec![0.0; len];
            accumulate(&mut whole, len, src, Row::new(&entries));
            let mut parts = vec![f32::NAN; len + out_room];
            accumulate(&mut parts, len, src, Row::new(&entries[..3]));
            accumulate_add(&mut parts, len, src, Row::new(&entries[3..]));
            accumulate_add(&mut parts, len, src, Row::new(&[]));
            let expected = reference(len, src, &entries);
            for ((a, b), c) in parts.iter().zip(&whole).zip(&expected) {
                assert!(
                    (a - c).abs() <= 1e-5 * c.abs().max(1.0),
                    "{a} vs {c} at len {len}"
                );
                assert!((b - c).abs() <= 1e-5 * c.abs().max(1.0));
            }
        }
    }

    #[test]
    fn no_entries_give_zeros() {
        let mut out = vec![f32::NAN; 70];
        accumulate(&mut out, 70, &[1.0; 10], Row::new(&[]));
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    #[should_panic(expected = "outside a source")]
    fn a_window_past_the_end_is_refused() {
        let mut out = vec![0.0; 8];
        let entries = [Entry::new(3, 1.0)];
        accumulate(&mut out, 8, &[1.0; 10], Row::new(&entries));
    }
}
