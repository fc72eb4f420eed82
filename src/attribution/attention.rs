//! Attention maps for transformers: the last block's attention from the class token to each
//! patch, per head, fused over heads (mean, or sum as the study), or attention rollout (Abnar &
//! Zuidema 2020) through every block.
//!
//! CNNs have no attention: [`attention_maps`] says so rather than substituting another map. The
//! math works on host arrays so it is tested on hand-made tensors.

use anyhow::{bail, ensure};
use burn::tensor::Tensor;

use super::maps::Maps;
use super::resize::resize_bilinear;
use super::tensors::to_host;
use crate::models::Network;
pub use crate::spec::attribution::HeadFusion;

/// Where the patches are among the attention's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLayout {
    /// A class token first (ViT); without one (Swin), a patch's relevance is the mean attention
    /// it receives from every token.
    pub class_token: bool,
    pub rows: usize,
    pub columns: usize,
}

impl TokenLayout {
    /// The layout of `tokens` tokens over a square patch grid: `1 + n^2` tokens have a class
    /// token, `n^2` tokens do not (both cannot hold for more than one token). pvr's inputs are
    /// square, so their patch grids are.
    pub fn square(tokens: usize) -> anyhow::Result<Self> {
        let root = |n: usize| {
            let r = (n as f64).sqrt().round() as usize;
            (r * r == n && r > 0).then_some(r)
        };
        if let Some(side) = tokens.checked_sub(1).and_then(root) {
            return Ok(Self {
                class_token: true,
                rows: side,
                columns: side,
            });
        }
        match root(tokens) {
            Some(side) => Ok(Self {
                class_token: false,
                rows: side,
                columns: side,
            }),
            None => bail!(
                "{tokens} attention tokens are neither a square patch grid nor one plus a square grid"
            ),
        }
    }

    fn patches(&self) -> usize {
        self.rows * self.columns
    }

    fn tokens(&self) -> usize {
        self.patches() + usize::from(self.class_token)
    }
}

/// Per-head relevance of each patch, `[batch, heads, patches]`, from attention
/// `[batch, heads, tokens, tokens]` (rows are queries): the class token's row restricted to the
/// patches, or without a class token the column means.
pub fn patch_attention(
    attention: &[f32],
    batch: usize,
    heads: usize,
    layout: TokenLayout,
) -> Vec<f32> {
    let t = layout.tokens();
    assert_eq!(
        attention.len(),
        batch * heads * t * t,
        "attention is not [{batch}, {heads}, {t}, {t}]"
    );
    let mut out = Vec::with_capacity(batch * heads * layout.patches());
    for matrix in attention.chunks_exact(t * t) {
        out.extend(query_relevance(matrix, layout));
    }
    out
}

/// Patch relevance from one `tokens x tokens` matrix.
fn query_relevance(matrix: &[f32], layout: TokenLayout) -> Vec<f32> {
    let t = layout.tokens();
    if layout.class_token {
        matrix[1..t].to_vec()
    } else {
        (0..t)
            .map(|key| (0..t).map(|query| matrix[query * t + key]).sum::<f32>() / t as f32)
            .collect()
    }
}

/// Fuses `[batch, heads, n]` over heads into `[batch, n]`.
pub fn fuse_heads(per_head: &[f32], batch: usize, heads: usize, fusion: HeadFusion) -> Vec<f32> {
    let n = per_head.len() / (batch * heads);
    let mut out = vec![0f32; batch * n];
    for b in 0..batch {
        for h in 0..heads {
            let src = &per_head[(b * heads + h) * n..(b * heads + h + 1) * n];
            out[b * n..(b + 1) * n]
                .iter_mut()
                .zip(src)
                .for_each(|(o, s)| *o += s);
        }
    }
    if fusion == HeadFusion::Mean {
        out.iter_mut().for_each(|v| *v /= heads as f32);
    }
    out
}

/// Attention rollout: per block, heads fused, `0.5 A + 0.5 I` with rows renormalised, multiplied
/// from the first block to the last; the patch relevance is then read off the product as from
/// one block's attention. `blocks` are `[batch, heads, tokens, tokens]` each, first block first.
pub fn rollout(
    blocks: &[Vec<f32>],
    batch: usize,
    heads: usize,
    layout: TokenLayout,
    fusion: HeadFusion,
) -> anyhow::Result<Vec<f32>> {
    ensure!(
        !blocks.is_empty(),
        "attention rollout needs at least one block"
    );
    let t = layout.tokens();
    let mut out = Vec::with_capacity(batch * layout.patches());
    for b in 0..batch {
        let mut joint: Option<Vec<f64>> = None;
        for block in blocks {
            let image = &block[b * heads * t * t..(b + 1) * heads * t * t];
            let fused = fuse_heads(image, 1, heads, fusion);
            let mut a: Vec<f64> = fused.iter().map(|&v| 0.5 * v as f64).collect();
            for i in 0..t {
                a[i * t + i] += 0.5;
                let row_sum: f64 = a[i * t..(i + 1) * t].iter().sum();
                a[i * t..(i + 1) * t].iter_mut().for_each(|v| *v /= row_sum);
            }
            joint = Some(match joint {
                None => a,
                Some(previous) => matmul(&a, &previous, t),
            });
        }
        let joint: Vec<f32> = joint
            .expect("one block at least")
            .iter()
            .map(|&v| v as f32)
            .collect();
        out.extend(query_relevance(&joint, layout));
    }
    Ok(out)
}

fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0f64; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                out[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    out
}

/// Attention maps `[count, H, W]` (patch relevance upsampled bilinearly to the input).
pub fn attention_maps(
    network: &Network,
    images: Tensor<4>,
    fusion: HeadFusion,
    use_rollout: bool,
) -> anyhow::Result<Maps> {
    let [count, _, height, width] = images.dims();
    let unsupported = || {
        anyhow::anyhow!(
            "attention maps need a transformer (ViT, Swin): this network has no attention; \
             use gradcam, guided_gradcam or ig instead"
        )
    };
    let (patches, heads, layout) = if use_rollout {
        let blocks = network
            .all_block_attention(images)
            .ok_or_else(unsupported)?;
        let first = blocks.first().ok_or_else(unsupported)?;
        let [_, heads, tokens, _] = first.dims();
        let layout = TokenLayout::square(tokens)?;
        let host: Vec<Vec<f32>> = blocks
            .into_iter()
            .map(to_host)
            .collect::<anyhow::Result<_>>()?;
        (rollout(&host, count, heads, layout, fusion)?, 1, layout)
    } else {
        let attention = network
            .last_block_attention(images)
            .ok_or_else(unsupported)?;
        let [_, heads, tokens, _] = attention.dims();
        let layout = TokenLayout::square(tokens)?;
        (
            patch_attention(&to_host(attention)?, count, heads, layout),
            heads,
            layout,
        )
    };
    let fused = if heads == 1 {
        patches
    } else {
        fuse_heads(&patches, count, heads, fusion)
    };
    let mut data = Vec::with_capacity(count * height * width);
    for map in fused.chunks_exact(layout.patches()) {
        data.extend(resize_bilinear(
            map,
            layout.rows,
            layout.columns,
            height,
            width,
        ));
    }
    Maps::new(count, 1, height, width, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_of_square_grids() {
        let vit = TokenLayout::square(50).unwrap();
        assert_eq!((vit.class_token, vit.rows), (true, 7));
        let swin = TokenLayout::square(49).unwrap();
        assert_eq!((swin.class_token, swin.rows), (false, 7));
        assert!(TokenLayout::square(12).is_err());
    }

    /// Two heads over a class token and a 2x2 grid: head 0 attends from the class token to
    /// patches (0.1, 0.2, 0.3, 0.4) (and 0 to itself), head 1 uniformly.
    fn two_heads() -> Vec<f32> {
        let t = 5;
        let mut attention = vec![0f32; 2 * t * t];
        attention[..t].copy_from_slice(&[0.0, 0.1, 0.2, 0.3, 0.4]);
        for row in 1..t {
            attention[row * t + row] = 1.0;
        }
        for v in &mut attention[t * t..] {
            *v = 0.2;
        }
        attention
    }

    #[test]
    fn class_token_rows_per_head_then_fused() {
        let layout = TokenLayout::square(5).unwrap();
        let per_head = patch_attention(&two_heads(), 1, 2, layout);
        assert_eq!(per_head, vec![0.1, 0.2, 0.3, 0.4, 0.2, 0.2, 0.2, 0.2]);
        let sum = fuse_heads(&per_head, 1, 2, HeadFusion::Sum);
        let mean = fuse_heads(&per_head, 1, 2, HeadFusion::Mean);
        for (i, expected) in [0.3f32, 0.4, 0.5, 0.6].iter().enumerate() {
            assert!((sum[i] - expected).abs() < 1e-6);
            assert!((mean[i] - expected / 2.0).abs() < 1e-6);
        }
    }

    #[test]
    fn without_a_class_token_patches_score_the_attention_they_receive() {
        // 2x2 grid, every query attends fully to patch 3.
        let mut attention = vec![0f32; 16];
        for query in 0..4 {
            attention[query * 4 + 3] = 1.0;
        }
        let layout = TokenLayout::square(4).unwrap();
        assert_eq!(
            patch_attention(&attention, 1, 1, layout),
            vec![0.0, 0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn rollout_of_one_block_mixes_in_the_identity_and_two_blocks_multiply() {
        let layout = TokenLayout::square(5).unwrap();
        // One block, head 0 only: 0.5 A + 0.5 I has row 0 = (0.5, 0.05, 0.1, 0.15, 0.2).
        let head0: Vec<f32> = two_heads()[..25].to_vec();
        let one = rollout(std::slice::from_ref(&head0), 1, 1, layout, HeadFusion::Mean).unwrap();
        for (got, expected) in one.iter().zip([0.05f32, 0.1, 0.15, 0.2]) {
            assert!((got - expected).abs() < 1e-6, "{one:?}");
        }
        // Two blocks: A's patch rows are one-hot on themselves, so M = 0.5 A + 0.5 I keeps them
        // at the identity, and row 0 of M^2 is M[0,0] M[0,:] + M[0,:] on the patches.
        let m0 = [0.5f32, 0.05, 0.1, 0.15, 0.2];
        let two = rollout(&[head0.clone(), head0], 1, 1, layout, HeadFusion::Mean).unwrap();
        for j in 1..5 {
            let expected = m0[0] * m0[j] + m0[j];
            assert!((two[j - 1] - expected).abs() < 1e-6, "{two:?}");
        }
    }
}
