//! Swin Transformer V2's shifted-window attention, as torchvision's `ShiftedWindowAttentionV2`
//! and `shifted_window_attention` compute it: maps padded to whole windows, an optional cyclic
//! shift with a mask that keeps the wrapped-around regions apart, cosine attention with a
//! learned, clamped temperature per head, and a continuous relative-position bias produced by a
//! small MLP (`cpb_mlp`) from log-spaced relative coordinates.

use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig, Relu};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::blocks::{SequentialLayer, WithBiasInitializer, normalize_last, sequential};
use super::fast_softmax::softmax_last;
use super::fused_linear::{linear, linear_with};

/// Hidden width of the continuous position bias MLP (torchvision's, whatever the model size).
pub const CPB_HIDDEN: usize = 512;
/// The attention logit added between tokens of different regions of a shifted window.
const MASKED_LOGIT: f32 = -100.0;

#[derive(Module, Debug)]
pub struct ShiftedWindowAttention {
    pub qkv: Linear,
    pub proj: Linear,
    /// `[heads, 1, 1]`, the log of each head's temperature, initialised to `ln 10`.
    pub logit_scale: Param<Tensor<3>>,
    /// `[Linear(2, 512), ReLU, Linear(512, heads, bias=False)]`.
    pub cpb_mlp: Vec<SequentialLayer>,
    pub window_size: usize,
    /// 0 for plain windows; `window_size / 2` for the shifted blocks.
    pub shift_size: usize,
    pub num_heads: usize,
}

/// What one window-attention pass computes.
pub struct WindowAttention {
    /// `[batch, height, width, dim]`, like the input.
    pub output: Tensor<4>,
    /// `[batch * windows, heads, window_size^2, window_size^2]`: softmax over the last axis.
    /// Windows are in row-major order over the padded (and, for shifted blocks, cyclically
    /// shifted) map; tokens in row-major order within their window.
    pub weights: Tensor<4>,
}

impl ShiftedWindowAttention {
    pub fn new(
        dim: usize,
        window_size: usize,
        shift_size: usize,
        num_heads: usize,
        device: &Device,
    ) -> Self {
        // torchvision's SwinTransformer initialises every linear layer, these included, with a
        // truncated normal of std 0.02 and zero biases.
        let linear = |d_in, d_out, bias| {
            LinearConfig::new(d_in, d_out)
                .with_bias(bias)
                .with_initializer(super::blocks::trunc_normal(0.02))
                .init(device)
                .with_bias_initializer(&Initializer::Zeros, d_out, device)
        };
        Self {
            qkv: linear(dim, 3 * dim, true),
            proj: linear(dim, dim, true),
            logit_scale: Initializer::Constant { value: 10f64.ln() }
                .init([num_heads, 1, 1], device),
            cpb_mlp: vec![
                SequentialLayer::Linear(linear(2, CPB_HIDDEN, true)),
                SequentialLayer::Relu(Relu::new()),
                SequentialLayer::Linear(linear(CPB_HIDDEN, num_heads, false)),
            ],
            window_size,
            shift_size,
            num_heads,
        }
    }

    /// `16 * sigmoid(cpb_mlp(table))` gathered for every pair of tokens in a window:
    /// `[1, heads, window^2, window^2]`.
    pub fn relative_position_bias(&self, device: &Device) -> Tensor<4> {
        let window = self.window_size;
        let side = 2 * window - 1;
        let table = Tensor::<2>::from_data(
            TensorData::new(relative_coords_table(window), [side * side, 2]),
            device,
        );
        let per_offset = sequential(&self.cpb_mlp, table);
        let tokens = window * window;
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(relative_position_index(window), [tokens * tokens]),
            device,
        );
        let bias = per_offset
            .select(0, index)
            .reshape([tokens, tokens, self.num_heads])
            .permute([2, 0, 1])
            .reshape([1, self.num_heads, tokens, tokens]);
        sigmoid(bias) * 16.0
    }

    /// Attention within (shifted) windows of `input` (`[batch, height, width, dim]`).
    pub fn attend(&self, input: Tensor<4>) -> WindowAttention {
        let [batch, height, width, dim] = input.dims();
        let device = input.device();
        let window = self.window_size;
        let heads = self.num_heads;
        let head_dim = dim / heads;

        let padded_height = height.div_ceil(window) * window;
        let padded_width = width.div_ceil(window) * window;
        let x = pad_bottom_right(input, padded_height, padded_width);
        // A window as large as the map sees all of it: nothing to shift.
        let shift = [
            if window >= padded_height {
                0
            } else {
                self.shift_size
            },
            if window >= padded_width {
                0
            } else {
                self.shift_size
            },
        ];
        let shifted = shift.iter().sum::<usize>() > 0;
        let x = if shifted {
            x.roll(&[-(shift[0] as i64), -(shift[1] as i64)], &[1, 2])
        } else {
            x
        };

        let (rows, columns) = (padded_height / window, padded_width / window);
        let windows = rows * columns;
        let tokens = window * window;
        let x = x
            .reshape([batch, rows, window, columns, window, dim])
            .permute([0, 1, 3, 2, 4, 5])
            .reshape([batch * windows, tokens, dim]);

        // SwinV2 drops the key bias (keys are normalised, so a bias would only add noise).
        let bias = self.qkv.bias.as_ref().map(|bias| {
            let keep: Vec<f32> = (0..3 * dim)
                .map(|i| {
                    if (dim..2 * dim).contains(&i) {
                        0.0
                    } else {
                        1.0
                    }
                })
                .collect();
            bias.val() * Tensor::<1>::from_data(TensorData::new(keep, [3 * dim]), &device)
        });
        let qkv = linear_with(x, self.qkv.weight.val(), bias)
            .reshape([batch * windows, tokens, 3, heads, head_dim])
            .permute([2, 0, 3, 1, 4]);
        let part = |index: usize| -> Tensor<4> {
            qkv.clone()
                .narrow(0, index, 1)
                .reshape([batch * windows, heads, tokens, head_dim])
        };
        let (queries, keys, values) = (part(0), part(1), part(2));

        // Cosine attention with a per-head temperature of at most 100.
        let temperature = self
            .logit_scale
            .val()
            .clamp_max(100f64.ln())
            .exp()
            .reshape([1, heads, 1, 1]);
        let mut logits = normalize_last(queries).matmul(normalize_last(keys).swap_dims(2, 3))
            * temperature
            + self.relative_position_bias(&device);
        if shifted {
            let mask = shifted_window_mask(padded_height, padded_width, window, shift);
            let mask =
                Tensor::<1>::from_data(TensorData::new(mask, [windows * tokens * tokens]), &device)
                    .reshape([1, windows, 1, tokens, tokens]);
            logits = (logits.reshape([batch, windows, heads, tokens, tokens]) + mask).reshape([
                batch * windows,
                heads,
                tokens,
                tokens,
            ]);
        }
        let weights = softmax_last(logits);

        let x =
            weights
                .clone()
                .matmul(values)
                .swap_dims(1, 2)
                .reshape([batch * windows, tokens, dim]);
        let x = linear(&self.proj, x)
            .reshape([batch, rows, columns, window, window, dim])
            .permute([0, 1, 3, 2, 4, 5])
            .reshape([batch, padded_height, padded_width, dim]);
        let x = if shifted {
            x.roll(&[shift[0] as i64, shift[1] as i64], &[1, 2])
        } else {
            x
        };
        WindowAttention {
            output: x.slice([0..batch, 0..height, 0..width, 0..dim]),
            weights,
        }
    }
}

/// Zero rows at the bottom and columns at the right up to the given size (torchvision's
/// `F.pad(x, (0, 0, 0, pad_r, 0, pad_b))`).
pub fn pad_bottom_right(x: Tensor<4>, height: usize, width: usize) -> Tensor<4> {
    let [batch, rows, columns, dim] = x.dims();
    let device = x.device();
    let x = if height > rows {
        let zeros = Tensor::zeros([batch, height - rows, columns, dim], &device);
        Tensor::cat(vec![x, zeros], 1)
    } else {
        x
    };
    if width > columns {
        let zeros = Tensor::zeros([batch, height, width - columns, dim], &device);
        Tensor::cat(vec![x, zeros], 2)
    } else {
        x
    }
}

/// `[(2w - 1)^2, 2]` relative offsets (row offset major), each scaled to [-8, 8] and mapped
/// through `sign(x) * log2(|x| + 1) / 3`, in f32 as torchvision computes them.
pub fn relative_coords_table(window: usize) -> Vec<f32> {
    let reach = window as i64 - 1;
    let scaled = |offset: i64| {
        let x = offset as f32 / reach as f32 * 8.0;
        x.signum() * (x.abs() + 1.0).log2() / 3.0
    };
    let mut table = Vec::with_capacity((2 * reach as usize + 1).pow(2) * 2);
    for dh in -reach..=reach {
        for dw in -reach..=reach {
            table.push(scaled(dh));
            table.push(scaled(dw));
        }
    }
    table
}

/// For every (query, key) token pair of a window, the row of their offset in the table.
pub fn relative_position_index(window: usize) -> Vec<i64> {
    let tokens = window * window;
    let side = 2 * window as i64 - 1;
    let reach = window as i64 - 1;
    let mut index = Vec::with_capacity(tokens * tokens);
    for query in 0..tokens {
        for key in 0..tokens {
            let dh = (query / window) as i64 - (key / window) as i64;
            let dw = (query % window) as i64 - (key % window) as i64;
            index.push((dh + reach) * side + (dw + reach));
        }
    }
    index
}

/// `[windows, tokens, tokens]` additive mask of a shifted map (`height` x `width`, already
/// padded and rolled): 0 between tokens of one region, -100 between tokens that the cyclic shift
/// brought together from different regions. Regions per axis are torchvision's slices
/// `[0, -window)`, `[-window, -shift)`, `[-shift, end)`; an axis without shift is one region.
pub fn shifted_window_mask(
    height: usize,
    width: usize,
    window: usize,
    shift: [usize; 2],
) -> Vec<f32> {
    let region = |position: usize, length: usize, shift: usize| -> usize {
        if shift == 0 || position < length - window {
            0
        } else if position < length - shift {
            1
        } else {
            2
        }
    };
    let label = |row: usize, column: usize| {
        3 * region(row, height, shift[0]) + region(column, width, shift[1])
    };
    let (rows, columns) = (height / window, width / window);
    let tokens = window * window;
    let mut mask = Vec::with_capacity(rows * columns * tokens * tokens);
    for window_row in 0..rows {
        for window_column in 0..columns {
            let labels: Vec<usize> = (0..tokens)
                .map(|t| {
                    label(
                        window_row * window + t / window,
                        window_column * window + t % window,
                    )
                })
                .collect();
            for &query in &labels {
                for &key in &labels {
                    mask.push(if query == key { 0.0 } else { MASKED_LOGIT });
                }
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::test_support::values;
    use burn::tensor::Distribution;

    /// The mask, stated differently: after rolling a map of side `length` back by `shift`, the
    /// token at rolled position `p` came from position `(p + shift) % length`; it wrapped
    /// around iff `p >= length - shift`. Two tokens of one window may attend to each other iff
    /// they wrapped the same way along both axes.
    #[test]
    fn shifted_mask_separates_wrapped_tokens() {
        let (side, window, shift) = (8, 4, 2);
        let mask = shifted_window_mask(side, side, window, [shift, shift]);
        let tokens = window * window;
        let wrapped = |p: usize| p >= side - shift;
        let mut masked_pairs = 0;
        for window_row in 0..2 {
            for window_column in 0..2 {
                let w = window_row * 2 + window_column;
                let position = |t: usize| {
                    (
                        window_row * window + t / window,
                        window_column * window + t % window,
                    )
                };
                for q in 0..tokens {
                    for k in 0..tokens {
                        let (qr, qc) = position(q);
                        let (kr, kc) = position(k);
                        let together = wrapped(qr) == wrapped(kr) && wrapped(qc) == wrapped(kc);
                        let value = mask[(w * tokens + q) * tokens + k];
                        assert_eq!(value == 0.0, together, "window {w} tokens {q}, {k}");
                        masked_pairs += usize::from(!together);
                    }
                }
            }
        }
        // Only windows on the wrapped edges mask anything; the top-left one masks nothing.
        assert!(mask[..tokens * tokens].iter().all(|&v| v == 0.0));
        assert!(masked_pairs > 0);
    }

    #[test]
    fn relative_positions_index_the_offset_table() {
        let window = 3;
        let index = relative_position_index(window);
        let table = relative_coords_table(window);
        assert_eq!(table.len(), 5 * 5 * 2);
        assert_eq!(index.len(), 81);
        // A token and itself: offset (0, 0), the centre of the table, which maps to 0.
        for t in 0..9 {
            let row = index[t * 9 + t] as usize;
            assert_eq!(row, 12);
            assert_eq!((table[2 * row], table[2 * row + 1]), (0.0, 0.0));
        }
        // Query (0, 0), key (2, 1): offset (-2, -1), scaled to (-8, -4).
        let row = index[7] as usize;
        assert_eq!(row, 1); // table row 0 (dh = -2), column 1 (dw = -1)
        let expected = |x: f32| x.signum() * (x.abs() + 1.0).log2() / 3.0;
        assert!((table[2 * row] - expected(-8.0)).abs() < 1e-6);
        assert!((table[2 * row + 1] - expected(-4.0)).abs() < 1e-6);
    }

    /// Masked logits weigh e^-100 against the others, so a masked token's influence stays under
    /// 1e-30; the weakest unmasked influence in these tiny layers is around 1e-10.
    const UNTOUCHED: f32 = 1e-20;

    fn attention(shift: usize) -> (ShiftedWindowAttention, Device) {
        let device = Device::flex();
        (ShiftedWindowAttention::new(4, 4, shift, 1, &device), device)
    }

    /// In a shifted block the bottom-right window holds the map's corner and the wrapped-around
    /// top-left pixels: changing the top-left pixel must reach its wrapped neighbours but not
    /// the bottom-right pixel that shares its window.
    #[test]
    fn shifted_windows_keep_wrapped_regions_apart() {
        let (attention, device) = attention(2);
        let x = Tensor::<4>::random([1, 8, 8, 4], Distribution::Normal(0.0, 1.0), &device);
        let poke = Tensor::<4>::zeros([1, 8, 8, 4], &device).slice_assign(
            [0..1, 0..1, 0..1, 0..4],
            Tensor::ones([1, 1, 1, 4], &device),
        );
        let before = values(attention.attend(x.clone()).output);
        let after = values(attention.attend(x + poke).output);
        let changed = |row: usize, column: usize| {
            (0..4).any(|c| {
                let i = (row * 8 + column) * 4 + c;
                (before[i] - after[i]).abs() > UNTOUCHED
            })
        };
        assert!(
            changed(0, 1) && changed(1, 0),
            "wrapped neighbours must see the change"
        );
        assert!(
            !changed(7, 7) && !changed(6, 6),
            "the other region of the window must not"
        );
        // Far away, in windows the pixel never joins, nothing changes either.
        assert!(!changed(3, 3));
    }

    /// Without a shift the same pixel reaches exactly its own 4x4 window.
    #[test]
    fn plain_windows_stay_within_their_window() {
        let (attention, device) = attention(0);
        let x = Tensor::<4>::random([1, 8, 8, 4], Distribution::Normal(0.0, 1.0), &device);
        let poke = Tensor::<4>::zeros([1, 8, 8, 4], &device).slice_assign(
            [0..1, 0..1, 0..1, 0..4],
            Tensor::ones([1, 1, 1, 4], &device),
        );
        let before = values(attention.attend(x.clone()).output);
        let after = values(attention.attend(x + poke).output);
        let moved = |row: usize, column: usize| {
            let i = (row * 8 + column) * 4;
            (0..4).any(|c| (before[i + c] - after[i + c]).abs() > UNTOUCHED)
        };
        // Outside the poked window nothing may move. Inside it the poked token must; other
        // tokens may attend to it with a weight too small for f32 (random weights can saturate
        // the softmax), so only their total is required to move.
        for row in 0..8 {
            for column in 0..8 {
                if row >= 4 || column >= 4 {
                    assert!(
                        !moved(row, column),
                        "({row}, {column}) is outside the window"
                    );
                }
            }
        }
        assert!(moved(0, 0), "the poked token must change");
        let inside = (0..4).flat_map(|r| (0..4).map(move |c| (r, c)));
        assert!(inside.filter(|&(r, c)| moved(r, c)).count() >= 2);
    }

    #[test]
    fn padding_extends_with_zeros() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 3, 2, 1], &device);
        let padded = values(pad_bottom_right(x, 4, 4));
        assert_eq!(padded.iter().sum::<f32>(), 6.0);
        assert_eq!(padded[0..4], [1.0, 1.0, 0.0, 0.0]);
        assert_eq!(padded[12..16], [0.0; 4]);
    }

    /// Zero (padding) tokens have zero keys; their normalisation must not poison gradients.
    #[test]
    fn gradients_stay_finite_with_padding() {
        let device = Device::flex().autodiff();
        let attention = ShiftedWindowAttention::new(4, 4, 2, 2, &device);
        let x = Tensor::<4>::random([1, 6, 6, 4], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let gradients = attention.attend(x.clone()).output.sum().backward();
        let gradient = values(x.grad(&gradients).unwrap());
        assert!(gradient.iter().all(|g| g.is_finite()));
        let scale = attention.logit_scale.val().grad(&gradients).unwrap();
        assert!(values(scale).iter().all(|g| g.is_finite()));
    }
}
