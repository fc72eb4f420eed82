//! A ResNet's forward pass block by block (channels, map sides, downsampling), walked once for
//! the cost models that count over it: multiply-adds (`flops`) and kept activations (`memory`).

use super::arch::Stem;

/// Output side of a convolution or pooling window.
pub(super) fn out_size(input: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (input + 2 * padding - kernel) / stride + 1
}

/// One residual block.
pub(super) struct Block {
    /// Channels inside the block (the stage's width).
    pub stage_width: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    /// Side of the block's input map and of its output map.
    pub side_in: usize,
    pub side_out: usize,
    /// Whether the shortcut needs a 1x1 convolution and a norm.
    pub downsample: bool,
}

/// The whole pass: the stem, then every block.
pub(super) struct Walk {
    /// Side of the stem convolution's output, and of the map after the stem (after its
    /// max-pool, for the ImageNet stem).
    pub stem_conv_side: usize,
    pub stem_side: usize,
    pub blocks: Vec<Block>,
    /// Channels of the last block's output (the classifier's input).
    pub features: usize,
}

/// The blocks of a ResNet of `width` with `depths` blocks per stage on `image_size` px inputs.
pub(super) fn walk(
    width: usize,
    stem: Stem,
    image_size: usize,
    depths: [usize; 4],
    bottleneck: bool,
) -> Walk {
    let (stem_conv_side, stem_side) = match stem {
        Stem::Small => (image_size, image_size),
        Stem::Imagenet => {
            let side = out_size(image_size, 7, 2, 3);
            (side, out_size(side, 3, 2, 1))
        }
    };
    let expansion = if bottleneck { 4 } else { 1 };
    let (mut in_channels, mut side) = (width, stem_side);
    let mut blocks = Vec::new();
    for (stage, &count) in depths.iter().enumerate() {
        let stage_width = width << stage;
        let out_channels = stage_width * expansion;
        for index in 0..count {
            let stride = if stage > 0 && index == 0 { 2 } else { 1 };
            let side_out = out_size(side, 3, stride, 1);
            blocks.push(Block {
                stage_width,
                in_channels,
                out_channels,
                side_in: side,
                side_out,
                downsample: stride != 1 || in_channels != out_channels,
            });
            in_channels = out_channels;
            side = side_out;
        }
    }
    Walk {
        stem_conv_side,
        stem_side,
        blocks,
        features: in_channels,
    }
}
