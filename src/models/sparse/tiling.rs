//! The order in which a sparse operation's rows run, so that the source windows they read stay
//! in the CPU's first-level cache.
//!
//! A sparse operation is a set of output rows of one length, each the
//! [`accumulate`](super::kernel::accumulate) of its entries over one image's source buffer. Run
//! row by row, every row sweeps the image's whole source (every input plane: up to a megabyte),
//! and each multiply-add waits on the second-level cache. Tiled, the rows are cut into spans of
//! [`SPAN`] floats and the source into groups of channels whose windows for one span fit in L1;
//! for each span, group after group, every row adds its entries of that group. A row's sum then
//! runs group by group, an order that depends only on the weights and the layer's shape, never
//! on the thread count.

use rayon::prelude::*;

use super::kernel::{Entry, Row, accumulate, accumulate_add};

/// Floats of a row computed at once: a few of the kernel's register blocks.
pub const SPAN: usize = 256;

/// Floats of source that one group's windows for one span may cover: 24 KiB of the 32 KiB L1
/// data cache, the rest left to the sums and the entries.
const GROUP_FLOATS: usize = 6 * 1024;

/// Floats of the buffers of one batch of images that a sparse operation fills at once: a batch
/// is run this many images at a time, through buffers reused from one to the next. Fresh
/// buffers of a whole batch (an IG step's 25 images: 80 MB for a ResNet stem) cost more in page
/// faults and unmapping than their sums.
const CHUNK_FLOATS: usize = 1 << 21;

/// How many of a batch's images to run at once when each needs `floats` of buffers: at least
/// one, at most the batch.
pub fn images_per_chunk(batch: usize, floats: usize) -> usize {
    (CHUNK_FLOATS / floats.max(1)).clamp(1, batch.max(1))
}

/// Rows of one length, their entries split by source group, ready to run span by span.
#[derive(Debug, Clone)]
pub struct Tiled {
    rows: usize,
    len: usize,
    /// Floats of each row per span: [`SPAN`], or the row's length when shorter.
    span: usize,
    /// Every row's entries, group by group, row by row within a group, each row's in its order.
    entries: Vec<Entry>,
    /// `(start, end, reach)` in `entries` of row `r`'s entries of group `g`, at `g * rows + r`.
    parts: Vec<(usize, usize, usize)>,
}

impl Tiled {
    /// `rows` of `len` floats each. Entry offsets address an image's source in which channel `c`
    /// starts at `c * channel_len`; a channel is `planes` planes, and a span of `n` floats of a
    /// row reads `n + max_shift` floats of each (its windows are shifted by up to `max_shift`).
    pub fn new(
        rows: Vec<Vec<Entry>>,
        len: usize,
        channel_len: usize,
        planes: usize,
        max_shift: usize,
    ) -> Self {
        let span = SPAN.min(len).max(1);
        let window = planes * (span + max_shift);
        let channels_per_group = (GROUP_FLOATS / window.max(1)).max(1);
        let group_of = |entry: &Entry| entry.offset() / channel_len.max(1) / channels_per_group;
        let groups = rows
            .iter()
            .flatten()
            .map(|entry| group_of(entry) + 1)
            .max()
            .unwrap_or(1);
        let mut entries = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        let mut parts = Vec::with_capacity(groups * rows.len());
        for g in 0..groups {
            for row in &rows {
                let start = entries.len();
                entries.extend(row.iter().filter(|e| group_of(e) == g));
                let reach = Row::new(&entries[start..]).reach();
                parts.push((start, entries.len(), reach));
            }
        }
        Self {
            rows: rows.len(),
            len,
            span,
            entries,
            parts,
        }
    }

    /// Row `row`'s entries of group `group`.
    fn part(&self, group: usize, row: usize) -> Row<'_> {
        let (start, end, reach) = self.parts[group * self.rows + row];
        Row::with_reach(&self.entries[start..end], reach)
    }

    fn groups(&self) -> usize {
        self.parts.len() / self.rows.max(1)
    }

    fn spans(&self) -> usize {
        self.len.div_ceil(self.span)
    }

    /// Floats of one image's result from [`Tiled::run_into`].
    pub fn image_len(&self) -> usize {
        self.spans() * self.rows * self.span
    }

    /// Whether row `row` has any entry (a row without is all zeros).
    pub fn has_entries(&self, row: usize) -> bool {
        (0..self.groups()).any(|g| !self.part(g, row).is_empty())
    }

    /// Every row of `out.len() / image_len()` images into `out`. `sources` holds the images'
    /// sources `source_len` apart, with room for the windows of the last one (and
    /// [`SLACK`](super::kernel::SLACK) past them for speed). The result is span-major, image
    /// after image: `[image][span][row][SPAN]`; read it with [`Tiled::read`]. Spans of all
    /// images run in parallel.
    pub fn run_into(&self, sources: &[f32], source_len: usize, out: &mut [f32]) {
        let spans = self.spans();
        let block_len = self.rows * self.span;
        out.par_chunks_mut(block_len)
            .enumerate()
            .for_each(|(index, block)| {
                let (b, s) = (index / spans, index % spans);
                let start = s * self.span;
                let len = self.span.min(self.len - start);
                let src = &sources[b * source_len + start..];
                for g in 0..self.groups() {
                    // A row's span of floats: room past a short last span for whole blocks.
                    for (r, row) in block.chunks_mut(self.span).enumerate() {
                        if g == 0 {
                            accumulate(row, len, src, self.part(g, r));
                        } else {
                            accumulate_add(row, len, src, self.part(g, r));
                        }
                    }
                }
            });
    }

    /// Copies `dst.len()` values of row `row` from position `from` out of one image's result
    /// (`image_len` floats of [`Tiled::run_into`]'s).
    pub fn read(&self, image: &[f32], row: usize, from: usize, dst: &mut [f32]) {
        let mut done = 0;
        while done < dst.len() {
            let at = from + done;
            let (span, offset) = (at / self.span, at % self.span);
            let take = (self.span - offset).min(dst.len() - done);
            let base = (span * self.rows + row) * self.span + offset;
            dst[done..done + take].copy_from_slice(&image[base..base + take]);
            done += take;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::sparse::kernel::SLACK;

    /// Tiled rows equal the same rows accumulated whole, across spans and groups.
    #[test]
    fn tiled_rows_equal_whole_rows() {
        let (channels, channel_len, len, batch) = (40, 1300, 1200, 2);
        let source_len = channels * channel_len;
        let sources: Vec<f32> = (0..batch * source_len + SLACK)
            .map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 300.0)
            .collect();
        // Row r reads every third channel from r, at shifts up to 90.
        let rows: Vec<Vec<Entry>> = (0..5)
            .map(|r| {
                (r..channels)
                    .step_by(3)
                    .map(|c| {
                        Entry::new(
                            c * channel_len + (c * 13 + r) % 91,
                            ((c + r) % 7) as f32 - 3.0,
                        )
                    })
                    .collect()
            })
            .chain([Vec::new()])
            .collect();
        let tiled = Tiled::new(rows.clone(), len, channel_len, 1, 90);
        assert!(tiled.groups() > 1 && tiled.spans() > 1, "the test tiles");
        assert!(!tiled.has_entries(5) && tiled.has_entries(0));
        let mut result = vec![f32::NAN; batch * tiled.image_len()];
        tiled.run_into(&sources, source_len, &mut result);
        for b in 0..batch {
            let image = &result[b * tiled.image_len()..][..tiled.image_len()];
            for (r, entries) in rows.iter().enumerate() {
                let mut whole = vec![0.0; len];
                accumulate(
                    &mut whole,
                    len,
                    &sources[b * source_len..],
                    Row::new(entries),
                );
                let mut tiled_row = vec![f32::NAN; len];
                tiled.read(image, r, 0, &mut tiled_row);
                for (a, e) in tiled_row.iter().zip(&whole) {
                    assert!((a - e).abs() <= 1e-5 * e.abs().max(1.0), "{a} vs {e}");
                }
                // A piece across a span boundary reads the same values.
                let mut piece = vec![0.0; 100];
                tiled.read(image, r, SPAN - 30, &mut piece);
                assert_eq!(piece, tiled_row[SPAN - 30..SPAN + 70]);
            }
        }
    }
}
