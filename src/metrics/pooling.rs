//! Channel poolings that turn a `(C, H, W)` attribution (Guided Backprop, IG) into one relevance
//! value per pixel, as Arras et al. (2022, CLEVR-XAI) define them. Every pooling but `none`
//! gives non-negative relevance, which RMA and RRA assume.

// The pooling names are spec vocabulary; the arithmetic is here.
pub use crate::spec::attribution::ChannelPooling;

impl ChannelPooling {
    /// One value per pixel from `channels` planes of `plane` pixels each. `None` requires a
    /// single channel (a caller error otherwise: the spec check rejects it first).
    pub fn pool(self, map: &[f32], channels: usize) -> Vec<f32> {
        assert!(
            channels >= 1 && map.len().is_multiple_of(channels),
            "map is not {channels} planes"
        );
        let plane = map.len() / channels;
        if self == ChannelPooling::None {
            assert_eq!(
                channels, 1,
                "pooling `none` applies to one-channel maps only"
            );
            return map.to_vec();
        }
        (0..plane)
            .map(|p| {
                let values = (0..channels).map(|c| map[c * plane + p]);
                match self {
                    ChannelPooling::None => unreachable!(),
                    ChannelPooling::SumAbs => values.sum::<f32>().abs(),
                    ChannelPooling::SumPos => values.sum::<f32>().max(0.0),
                    ChannelPooling::MaxNorm => values.map(f32::abs).fold(0.0, f32::max),
                    ChannelPooling::L1Norm => values.map(f32::abs).sum(),
                    ChannelPooling::L2Norm => values.map(|v| v * v).sum::<f32>().sqrt(),
                    ChannelPooling::L2NormSq => values.map(|v| v * v).sum(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poolings_of_one_pixel() {
        // Channels (3, -4, 0) at one pixel, (1, 1, -1) at another.
        let map = [3.0, 1.0, -4.0, 1.0, 0.0, -1.0];
        let pool = |p: ChannelPooling| p.pool(&map, 3);
        assert_eq!(pool(ChannelPooling::SumAbs), vec![1.0, 1.0]);
        assert_eq!(pool(ChannelPooling::SumPos), vec![0.0, 1.0]);
        assert_eq!(pool(ChannelPooling::MaxNorm), vec![4.0, 1.0]);
        assert_eq!(pool(ChannelPooling::L1Norm), vec![7.0, 3.0]);
        assert_eq!(pool(ChannelPooling::L2Norm), vec![5.0, 3f32.sqrt()]);
        assert_eq!(pool(ChannelPooling::L2NormSq), vec![25.0, 3.0]);
        assert_eq!(ChannelPooling::None.pool(&[0.5, 2.0], 1), vec![0.5, 2.0]);
    }

    #[test]
    fn names_round_trip_through_serde() {
        let parsed: ChannelPooling = serde_json::from_str("\"l2-norm,sq\"").unwrap();
        assert_eq!(parsed, ChannelPooling::L2NormSq);
        assert_eq!(
            serde_json::to_string(&ChannelPooling::SumPos).unwrap(),
            "\"sum,pos\""
        );
    }
}
