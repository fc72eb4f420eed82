//! Tests of the patch features LOST reads: the dilated last stage and the LayerNorm.

use burn::tensor::{Tensor, TensorData};

use super::{Architecture, Network, NetworkConfig, PatchOptions, SwinShape, VitShape};
use crate::backend::DeviceChoice;
use crate::data::Rng;
use crate::models::Stem;

fn network(arch: Architecture, stem: Stem) -> Network {
    NetworkConfig {
        arch,
        width: 4,
        stem,
        num_classes: 3,
    }
    .init(&DeviceChoice::Cpu.device(), 11)
}

/// Deterministic inputs (Burn's own generator is shared by every test thread).
fn images(batch: usize, height: usize, width: usize) -> Tensor<4> {
    let mut rng = Rng::new((batch * 1000 + height * 10 + width) as u64);
    let values: Vec<f32> = (0..batch * 3 * height * width)
        .map(|_| rng.normal())
        .collect();
    Tensor::from_data(
        TensorData::new(values, [batch, 3, height, width]),
        &DeviceChoice::Cpu.device(),
    )
}

fn layer4(net: &Network, images: Tensor<4>, dilate: bool) -> Tensor<4> {
    match net {
        Network::ResNet(resnet) => {
            resnet.features_with(images, dilate, crate::models::ReluMode::Standard)
        }
        _ => panic!("a ResNet"),
    }
}

/// Replacing a stride by dilation must not change what the weights compute, only where: the
/// dilated map sampled at even positions is the strided map (the a-trous identity). This fails
/// if dilation lands on the wrong convolution, a stride survives, or the padding is off.
#[test]
fn dilated_last_stage_is_the_strided_one_at_twice_the_resolution() {
    for (arch, stem, size) in [
        (Architecture::ResNet18, Stem::Small, (32, 24)),
        (Architecture::ResNet50, Stem::Small, (16, 32)),
        (Architecture::ResNet18, Stem::Imagenet, (64, 96)),
    ] {
        let net = network(arch, stem);
        let input = images(2, size.0, size.1);
        let strided = layer4(&net, input.clone(), false);
        let dilated = layer4(&net, input, true);
        let [b, c, h, w] = strided.dims();
        assert_eq!(dilated.dims(), [b, c, 2 * h, 2 * w], "{arch} {stem:?}");
        let strided: Vec<f32> = strided.into_data().try_into_vec::<f32>().unwrap();
        let dilated: Vec<f32> = dilated.into_data().try_into_vec::<f32>().unwrap();
        let scale = strided.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
        for bi in 0..b {
            for ci in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        let s = strided[((bi * c + ci) * h + y) * w + x];
                        let d = dilated[((bi * c + ci) * 2 * h + 2 * y) * 2 * w + 2 * x];
                        assert!(
                            (s - d).abs() <= 1e-4 * scale,
                            "{arch} {stem:?}: ({bi},{ci},{y},{x}) strided {s} dilated {d}"
                        );
                    }
                }
            }
        }
        // The odd positions are new information, not copies of their even neighbours.
        let differing = dilated
            .chunks(2)
            .filter(|pair| pair.len() == 2 && pair[0] != pair[1])
            .count();
        assert!(
            differing > dilated.len() / 20,
            "{arch} {stem:?}: {differing}"
        );
    }
}

#[test]
fn patch_stride_tiles_the_input() {
    for (arch, stem, size, strides) in [
        (Architecture::ResNet18, Stem::Small, 32, (8, 4)),
        (Architecture::ResNet50, Stem::Imagenet, 64, (32, 16)),
    ] {
        let net = network(arch, stem);
        for (dilate, stride) in [(false, strides.0), (true, strides.1)] {
            let options = PatchOptions {
                dilate_last_stage: dilate,
            };
            assert_eq!(net.patch_stride(options), stride);
            let patches = net.patch_features_with(images(1, size, 2 * size), options);
            assert_eq!(patches.stride, stride);
            assert_eq!(patches.grid, (size / stride, 2 * size / stride));
            assert_eq!(patches.features.dims()[1], patches.grid.0 * patches.grid.1);
        }
    }
}

/// LOST's LayerNorm runs over each image's whole (patches x channels) array: every image comes
/// out with mean 0 and variance 1 there, whatever the others in the batch look like.
#[test]
fn patch_features_are_layer_normed_per_image() {
    let net = network(Architecture::ResNet18, Stem::Small);
    let input = images(2, 32, 32);
    // Make the two images very different in scale: LayerNorm must still normalise each alone.
    let scaled = Tensor::cat(
        vec![
            input.clone().narrow(0, 0, 1),
            input.narrow(0, 1, 1).mul_scalar(25.0),
        ],
        0,
    );
    let patches = net.patch_features(scaled);
    let [batch, n, d] = patches.features.dims();
    let values: Vec<f32> = patches.features.into_data().try_into_vec::<f32>().unwrap();
    for image in values.chunks(n * d).take(batch) {
        let mean = image.iter().map(|&v| v as f64).sum::<f64>() / image.len() as f64;
        let variance = image
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / image.len() as f64;
        assert!(mean.abs() < 1e-4, "mean {mean}");
        assert!((variance - 1.0).abs() < 1e-3, "variance {variance}");
    }
    // Patches in row-major order over the grid: patch (r, c) is the map's position (r, c).
    let map = layer4(&net, images(1, 32, 32), false);
    let [_, c, h, w] = map.dims();
    let map: Vec<f32> = map.into_data().try_into_vec::<f32>().unwrap();
    let features: Vec<f32> = net
        .patch_features(images(1, 32, 32))
        .features
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let mean = map.iter().sum::<f32>() / map.len() as f32;
    let std =
        (map.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / map.len() as f32 + 1e-5).sqrt();
    let (row, col, channel) = (2, 1, c - 1);
    let expected = (map[(channel * h + row) * w + col] - mean) / std;
    let got = features[(row * w + col) * c + channel];
    assert!((expected - got).abs() < 1e-4, "{expected} vs {got}");
}

/// Transformers: the stride LOST pads to is the stride of the features they give, a ViT takes
/// its own input size only, and neither has a strided last stage to dilate.
#[test]
fn transformer_patches_tile_their_input() {
    let build = |arch, width| {
        NetworkConfig {
            arch,
            width,
            stem: Stem::Small,
            num_classes: 3,
        }
        .init(&DeviceChoice::Cpu.device(), 2)
    };
    let vit = build(Architecture::Vit(VitShape::SMALL), 16);
    let swin = build(Architecture::Swin(SwinShape::SMALL), 8);
    for (net, size, stride, fixed) in [(vit, (32, 32), 4, Some(32)), (swin, (48, 32), 8, None)] {
        assert_eq!(net.patch_stride(PatchOptions::default()), stride);
        assert_eq!(net.fixed_input_size(), fixed);
        assert!(!net.can_dilate_last_stage());
        let patches = net.patch_features(images(1, size.1, size.0));
        assert_eq!(patches.stride, stride);
        assert_eq!(patches.grid, (size.1 / stride, size.0 / stride));
        assert_eq!(patches.features.dims()[1], patches.grid.0 * patches.grid.1);
    }
    let resnet = network(Architecture::ResNet18, Stem::Small);
    assert!(resnet.can_dilate_last_stage());
    assert_eq!(resnet.fixed_input_size(), None);
}
