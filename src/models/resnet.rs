//! ResNets (He et al. 2016) as torchvision builds them, with a configurable base width and a
//! small-image stem. Field names follow torchvision (`conv1`, `layer1.0.conv2`, `fc`) so that
//! parameter paths read the same in both worlds.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, FloatDType, Tensor};

use super::add_relu::add_relu;
use super::arch::Stem;
use super::flex_host::is_flex;
use super::fused_batch_norm::{frozen_affine, inference_affine};
use super::gemm_conv::{Epilogue, dense_conv, gemm_conv2d_epilogue, takes_epilogue};
use super::guided_relu::ReluMode;
use super::max_pool::max_pool2d;
use super::sparse::{SparseKernels, SparsePolicy, SparseSummary, same_padding, sparse_conv2d};
use super::sync_batch_norm::batch_norm_maybe_synced;

/// torchvision's convolution init: Kaiming normal, fan-out, gain for ReLU.
fn conv_init() -> Initializer {
    Initializer::KaimingNormal {
        gain: 2f64.sqrt(),
        fan_out_only: true,
    }
}

fn conv(in_channels: usize, out_channels: usize, kernel: usize, stride: usize) -> Conv2dConfig {
    let pad = kernel / 2;
    Conv2dConfig::new([in_channels, out_channels], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(conv_init())
}

/// How a block runs relative to how it was built: as built, or inside a stage whose stride was
/// replaced by dilation (torchvision's `replace_stride_with_dilation`). The rule, for both block
/// kinds: the convolution that carried the stride runs with stride 1, and every 3x3 convolution
/// after it runs with dilation 2 (padding 2). For bottlenecks this is exactly torchvision; its
/// basic block refuses dilation, and the same rule extends it. Either way the dilated stage's
/// output sampled at even positions equals the strided stage's output (the a-trous identity,
/// tested below), so the weights mean the same thing at twice the resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockMode {
    AsBuilt,
    /// The first block of a dilated stage: the one whose stride is removed.
    DilatedFirst,
    /// A later block of a dilated stage.
    Dilated,
}

/// A convolution's stride and dilation in one run (padding is always "same": `dilation *
/// (kernel / 2)`).
type Geometry = (usize, usize);

/// `conv` as built: its own stride, no dilation.
fn built(conv: &Conv2d) -> Geometry {
    (conv.stride[0], 1)
}

/// The strided convolution of a block (basic `conv1`, bottleneck `conv2`; a 1x1 shortcut's
/// dilation changes nothing).
fn strided(conv: &Conv2d, mode: BlockMode) -> Geometry {
    match mode {
        BlockMode::AsBuilt => built(conv),
        BlockMode::DilatedFirst => (1, 1),
        BlockMode::Dilated => (1, 2),
    }
}

/// A 3x3 convolution that runs after the block's stride.
fn later(conv: &Conv2d, mode: BlockMode) -> Geometry {
    match mode {
        BlockMode::AsBuilt => built(conv),
        BlockMode::DilatedFirst | BlockMode::Dilated => (1, 2),
    }
}

/// `conv` on `x` in `geometry` (sparse when `kernels` holds its weights), then `bn`, then a ReLU
/// in `relu`'s mode when given. A dense convolution in a pass that takes no gradient through it
/// (evaluation, LOST, model-vs-human, GradCAM up to its layer) applies the inference batch norm
/// and the ReLU as it writes its output (`gemm_conv::Epilogue`): the same values bit for bit,
/// two passes over the activations fewer.
fn conv_bn(
    kernels: &SparseKernels,
    conv: &Conv2d,
    bn: &BatchNorm,
    x: Tensor<4>,
    (stride, dilation): Geometry,
    relu: Option<ReluMode>,
) -> Tensor<4> {
    let activate = |y| match relu {
        Some(mode) => mode.apply(y),
        None => y,
    };
    let after = |y| activate(batch_norm(bn, y));
    if let Some(call) = kernels.sparse_call(conv, &x, stride, dilation) {
        // A frozen network's batch norm and ReLU fold into the sparse passes, bit for bit.
        return match frozen_affine(bn, &x.device()) {
            Some(affine) => sparse_conv2d(x, &call.with_batch_norm(affine).with_relu(relu)),
            None => after(sparse_conv2d(x, &call)),
        };
    }
    let options = same_padding(conv, stride, dilation);
    if takes_epilogue(conv, &x, &options)
        && let Some(affine) = inference_affine(bn, &x.device())
    {
        let relu = relu.is_some();
        let epilogue = Epilogue { affine, relu };
        return gemm_conv2d_epilogue(x, conv.weight.val(), options, epilogue);
    }
    after(dense_conv(conv, x, options))
}

/// 1x1 convolution + batch norm on the shortcut when the shape changes.
#[derive(Module, Debug)]
pub struct Downsample {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl Downsample {
    fn new(in_channels: usize, out_channels: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: conv(in_channels, out_channels, 1, stride).init(device),
            bn: BatchNormConfig::new(out_channels).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>, mode: BlockMode, kernels: &SparseKernels) -> Tensor<4> {
        // A 1x1 convolution: only its stride changes (dilation is meaningless for it).
        let geometry = match mode {
            BlockMode::AsBuilt => built(&self.conv),
            BlockMode::DilatedFirst | BlockMode::Dilated => (1, 1),
        };
        conv_bn(kernels, &self.conv, &self.bn, x, geometry, None)
    }
}

/// The residual branch: `x` itself, or its projection when the block changes the shape.
fn shortcut(
    downsample: &Option<Downsample>,
    x: &Tensor<4>,
    mode: BlockMode,
    kernels: &SparseKernels,
) -> Tensor<4> {
    match downsample {
        Some(downsample) => downsample.forward(x.clone(), mode, kernels),
        None => x.clone(),
    }
}

/// Two 3x3 convolutions (ResNet-18/34).
#[derive(Module, Debug)]
pub struct BasicBlock {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub downsample: Option<Downsample>,
}

impl BasicBlock {
    const EXPANSION: usize = 1;

    fn new(in_channels: usize, width: usize, stride: usize, device: &Device) -> Self {
        let out_channels = width * Self::EXPANSION;
        Self {
            conv1: conv(in_channels, width, 3, stride).init(device),
            bn1: BatchNormConfig::new(width).init(device),
            conv2: conv(width, out_channels, 3, 1).init(device),
            bn2: BatchNormConfig::new(out_channels).init(device),
            downsample: (stride != 1 || in_channels != out_channels)
                .then(|| Downsample::new(in_channels, out_channels, stride, device)),
        }
    }

    fn forward(&self, x: Tensor<4>, run: BlockRun) -> Tensor<4> {
        let BlockRun {
            mode,
            relu,
            kernels,
        } = run;
        let identity = shortcut(&self.downsample, &x, mode, kernels);
        let (conv1, conv2) = (&self.conv1, &self.conv2);
        let out = conv_bn(
            kernels,
            conv1,
            &self.bn1,
            x,
            strided(conv1, mode),
            Some(relu),
        );
        let out = conv_bn(kernels, conv2, &self.bn2, out, later(conv2, mode), None);
        add_relu(out, identity, relu)
    }
}

/// 1x1 reduce, 3x3 (carrying the stride, as torchvision's "ResNet v1.5"), 1x1 expand (ResNet-50+).
#[derive(Module, Debug)]
pub struct Bottleneck {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub conv2: Conv2d,
    pub bn2: BatchNorm,
    pub conv3: Conv2d,
    pub bn3: BatchNorm,
    pub downsample: Option<Downsample>,
}

impl Bottleneck {
    const EXPANSION: usize = 4;

    fn new(in_channels: usize, width: usize, stride: usize, device: &Device) -> Self {
        let out_channels = width * Self::EXPANSION;
        Self {
            conv1: conv(in_channels, width, 1, 1).init(device),
            bn1: BatchNormConfig::new(width).init(device),
            conv2: conv(width, width, 3, stride).init(device),
            bn2: BatchNormConfig::new(width).init(device),
            conv3: conv(width, out_channels, 1, 1).init(device),
            bn3: BatchNormConfig::new(out_channels).init(device),
            downsample: (stride != 1 || in_channels != out_channels)
                .then(|| Downsample::new(in_channels, out_channels, stride, device)),
        }
    }

    fn forward(&self, x: Tensor<4>, run: BlockRun) -> Tensor<4> {
        let BlockRun {
            mode,
            relu,
            kernels,
        } = run;
        let identity = shortcut(&self.downsample, &x, mode, kernels);
        let (conv1, conv2, conv3) = (&self.conv1, &self.conv2, &self.conv3);
        // The 1x1 convolutions have stride 1 and no spatial extent: dilation leaves them alone.
        let out = conv_bn(kernels, conv1, &self.bn1, x, built(conv1), Some(relu));
        let out = conv_bn(
            kernels,
            conv2,
            &self.bn2,
            out,
            strided(conv2, mode),
            Some(relu),
        );
        let out = conv_bn(kernels, conv3, &self.bn3, out, built(conv3), None);
        add_relu(out, identity, relu)
    }
}

/// A residual block of either kind, so one ResNet type serves every depth. A network holds
/// one kind only, so the size difference between the variants costs nothing.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Block {
    Basic(BasicBlock),
    Bottleneck(Bottleneck),
}

/// How one block runs: its mode, its ReLUs, and the network's sparse kernels.
#[derive(Clone, Copy)]
struct BlockRun<'a> {
    mode: BlockMode,
    relu: ReluMode,
    kernels: &'a SparseKernels,
}

impl Block {
    fn forward(&self, x: Tensor<4>, run: BlockRun) -> Tensor<4> {
        match self {
            Block::Basic(block) => block.forward(x, run),
            Block::Bottleneck(block) => block.forward(x, run),
        }
    }

    /// The block's convolutions in forward order (shortcut first, as it runs first).
    fn convs(&self) -> Vec<&Conv2d> {
        fn shortcut(d: &Option<Downsample>) -> Option<&Conv2d> {
            d.as_ref().map(|d| &d.conv)
        }
        match self {
            Block::Basic(b) => shortcut(&b.downsample)
                .into_iter()
                .chain([&b.conv1, &b.conv2])
                .collect(),
            Block::Bottleneck(b) => shortcut(&b.downsample)
                .into_iter()
                .chain([&b.conv1, &b.conv2, &b.conv3])
                .collect(),
        }
    }
}

/// Which blocks and how many per stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResNetDepth {
    pub blocks: [usize; 4],
    pub bottleneck: bool,
}

impl ResNetDepth {
    pub const RESNET18: Self = Self {
        blocks: [2, 2, 2, 2],
        bottleneck: false,
    };
    pub const RESNET50: Self = Self {
        blocks: [3, 4, 6, 3],
        bottleneck: true,
    };

    fn expansion(&self) -> usize {
        if self.bottleneck {
            Bottleneck::EXPANSION
        } else {
            BasicBlock::EXPANSION
        }
    }
}

#[derive(Module, Debug)]
pub struct ResNet {
    pub conv1: Conv2d,
    pub bn1: BatchNorm,
    pub maxpool: Option<MaxPool2d>,
    pub layer1: Vec<Block>,
    pub layer2: Vec<Block>,
    pub layer3: Vec<Block>,
    pub layer4: Vec<Block>,
    pub avgpool: AdaptiveAvgPool2d,
    pub fc: Linear,
    /// Sparse weights of pruned convolutions (see [`ResNet::with_sparse_kernels`]); empty when
    /// built, not part of the parameters or the record.
    #[module(skip)]
    pub sparse: SparseKernels,
}

impl ResNet {
    pub fn new(
        depth: ResNetDepth,
        width: usize,
        stem: Stem,
        num_classes: usize,
        device: &Device,
    ) -> Self {
        let (conv1, maxpool) = match stem {
            Stem::Small => (conv(3, width, 3, 1), None),
            Stem::Imagenet => (
                conv(3, width, 7, 2),
                Some(
                    MaxPool2dConfig::new([3, 3])
                        .with_strides([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(),
                ),
            ),
        };
        let mut in_channels = width;
        let mut stage = |stage_width: usize, count: usize, stride: usize| -> Vec<Block> {
            (0..count)
                .map(|index| {
                    let stride = if index == 0 { stride } else { 1 };
                    let block = if depth.bottleneck {
                        Block::Bottleneck(Bottleneck::new(in_channels, stage_width, stride, device))
                    } else {
                        Block::Basic(BasicBlock::new(in_channels, stage_width, stride, device))
                    };
                    in_channels = stage_width * depth.expansion();
                    block
                })
                .collect()
        };
        let layer1 = stage(width, depth.blocks[0], 1);
        let layer2 = stage(width * 2, depth.blocks[1], 2);
        let layer3 = stage(width * 4, depth.blocks[2], 2);
        let layer4 = stage(width * 8, depth.blocks[3], 2);
        let features = width * 8 * depth.expansion();
        Self {
            conv1: conv1.init(device),
            bn1: BatchNormConfig::new(width).init(device),
            maxpool,
            layer1,
            layer2,
            layer3,
            layer4,
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: LinearConfig::new(features, num_classes).init(device),
            sparse: SparseKernels::default(),
        }
    }

    /// This network with every convolution that pays under `policy` running on its non-zero
    /// weights (see [`super::sparse`]); the weights are read once, now, so call it after the
    /// weights are final. For frozen networks (analyses).
    /// Only the CPU (`flex`) has sparse kernels: on other devices every layer stays dense.
    pub fn with_sparse_kernels(mut self, policy: SparsePolicy) -> (Self, SparseSummary) {
        let on_cpu = is_flex(&self.conv1.weight.val().device());
        let policy = if on_cpu { policy } else { SparsePolicy::Off };
        let mut kernels = SparseKernels::new(policy);
        let mut summary = SparseSummary::default();
        let blocks = self
            .layer1
            .iter()
            .chain(&self.layer2)
            .chain(&self.layer3)
            .chain(&self.layer4);
        for conv in std::iter::once(&self.conv1).chain(blocks.flat_map(Block::convs)) {
            kernels.consider(conv, &mut summary);
        }
        self.sparse = kernels;
        (self, summary)
    }

    /// Everything up to and including `layer4`: the map GradCAM and LOST read.
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        self.features_with(images, false, ReluMode::Standard)
    }

    /// [`ResNet::features`], optionally with `layer4`'s stride replaced by dilation (see
    /// [`BlockMode`]): the same weights, a map of twice the resolution; and with every ReLU
    /// running in `relu` mode (guided for Guided Backprop).
    pub fn features_with(
        &self,
        images: Tensor<4>,
        dilate_layer4: bool,
        relu: ReluMode,
    ) -> Tensor<4> {
        let kernels = &self.sparse;
        let run = |mode| BlockRun {
            mode,
            relu,
            kernels,
        };
        let stem = built(&self.conv1);
        let mut x = conv_bn(kernels, &self.conv1, &self.bn1, images, stem, Some(relu));
        if let Some(pool) = &self.maxpool {
            x = max_pool2d(pool, x);
        }
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3) {
            x = block.forward(x, run(BlockMode::AsBuilt));
        }
        for (index, block) in self.layer4.iter().enumerate() {
            let mode = match (dilate_layer4, index) {
                (false, _) => BlockMode::AsBuilt,
                (true, 0) => BlockMode::DilatedFirst,
                (true, _) => BlockMode::Dilated,
            };
            x = block.forward(x, run(mode));
        }
        x
    }

    /// Input pixels per position of the `layer4` map: the stem's reduction (1 for the small stem,
    /// 4 for the ImageNet stem's strided convolution and max-pool) times 8 for `layer2..layer4`,
    /// halved when `layer4` is dilated.
    pub fn feature_stride(&self, dilate_layer4: bool) -> usize {
        let pool = if self.maxpool.is_some() { 2 } else { 1 };
        self.conv1.stride[0] * pool * if dilate_layer4 { 4 } else { 8 }
    }

    /// Global average pooling and the classifier, from a `layer4` map.
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        let pooled = self.avgpool.forward(features);
        self.fc.forward(pooled.flatten::<2>(1, 3))
    }

    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.features(images))
    }
}

/// Batch norm computes in f32 whatever the step's precision (as cuDNN does under torch's
/// autocast), and its statistics stay f32; the output returns to the input's format. A no-op
/// cast in f32 training. Synchronised across replicas inside a data-parallel step that asks for
/// it ([`super::sync_batch_norm`]).
fn batch_norm(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let dtype: FloatDType = x.dtype().into();
    batch_norm_maybe_synced(bn, x.cast(FloatDType::F32)).cast(dtype)
}
