//! The geometry of one dense convolution, as its backward pass needs it.

use burn::tensor::ops::ConvOptions;

/// A convolution of input `[images, in_channels, height, width]` with weight
/// `[out_channels, in_channels, kernel_h, kernel_w]` (one group), and the output size it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    pub images: usize,
    pub in_channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Padding before the first row and column; the padding after them only sets the output
    /// size, which is computed here.
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub out_height: usize,
    pub out_width: usize,
}

impl ConvShape {
    /// The geometry of `options` on these shapes; an error when they do not fit together or
    /// the convolution is grouped.
    pub fn new(
        input: [usize; 4],
        weight: [usize; 4],
        options: &ConvOptions<2>,
    ) -> Result<Self, String> {
        let [images, in_channels, height, width] = input;
        let [out_channels, weight_in, kernel_h, kernel_w] = weight;
        if options.groups != 1 || weight_in != in_channels {
            return Err(format!(
                "input {input:?} and weight {weight:?} with {} groups: only ungrouped \
                 convolutions whose weight reads every input channel",
                options.groups
            ));
        }
        let out = |axis: usize, size: usize, kernel: usize| {
            let (before, after) = options.padding[axis];
            let span = options.dilation[axis] * (kernel - 1) + 1;
            (size + before + after)
                .checked_sub(span)
                .map(|room| room / options.stride[axis] + 1)
                .ok_or_else(|| format!("a {kernel}-wide kernel does not fit an input of {size}"))
        };
        Ok(Self {
            images,
            in_channels,
            height,
            width,
            out_channels,
            kernel: [kernel_h, kernel_w],
            stride: options.stride,
            padding: options.padding_begin(),
            dilation: options.dilation,
            out_height: out(0, height, kernel_h)?,
            out_width: out(1, width, kernel_w)?,
        })
    }

    /// Rows of the patch matrix: one per input channel and kernel tap.
    pub fn patch_rows(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Output positions per image.
    pub fn positions(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Values per input plane.
    pub fn plane(&self) -> usize {
        self.height * self.width
    }

    /// The output positions along `axis` (0: rows, 1: columns) whose input coordinate
    /// ([`ConvShape::input_coord`]) for kernel tap `tap` lies inside the input.
    pub fn valid_outputs(&self, axis: usize, tap: usize) -> std::ops::Range<usize> {
        let (size, outputs) = match axis {
            0 => (self.height, self.out_height),
            _ => (self.width, self.out_width),
        };
        let stride = self.stride[axis];
        let offset = tap * self.dilation[axis];
        let padding = self.padding[axis];
        // The first output whose coordinate is >= 0, and the first whose coordinate is >= size.
        let first = padding.saturating_sub(offset).div_ceil(stride).min(outputs);
        let end = (size + padding)
            .saturating_sub(offset)
            .div_ceil(stride)
            .clamp(first, outputs);
        first..end
    }

    /// The input coordinate along `axis` that output position `output` reads at kernel tap
    /// `tap`; only for outputs in [`ConvShape::valid_outputs`].
    pub fn input_coord(&self, axis: usize, tap: usize, output: usize) -> usize {
        output * self.stride[axis] + tap * self.dilation[axis] - self.padding[axis]
    }
}
