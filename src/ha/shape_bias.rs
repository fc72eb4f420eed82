//! Shape bias on cue-conflict images, as the benchmark computes it: images whose shape and
//! texture categories agree are left out; of the rest, shape bias is the share of shape
//! decisions among the decisions that are either the shape or the texture category.

use serde::{Deserialize, Serialize};

/// One cue-conflict image and the model's top-1 decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CueConflictDecision {
    pub shape: usize,
    pub texture: usize,
    pub predicted: usize,
}

/// The tally behind a shape-bias value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeBias {
    /// Decisions for the shape category.
    pub shape_hits: usize,
    /// Decisions for the texture category.
    pub texture_hits: usize,
    /// Images with different shape and texture categories.
    pub considered: usize,
    /// Images left out because shape and texture agree.
    pub excluded: usize,
}

impl ShapeBias {
    pub fn of(decisions: &[CueConflictDecision]) -> ShapeBias {
        let mut bias = ShapeBias::default();
        for d in decisions {
            if d.shape == d.texture {
                bias.excluded += 1;
                continue;
            }
            bias.considered += 1;
            bias.shape_hits += usize::from(d.predicted == d.shape);
            bias.texture_hits += usize::from(d.predicted == d.texture);
        }
        bias
    }

    /// Shape hits over shape plus texture hits; `None` when the model chose neither cue on
    /// every image.
    pub fn value(&self) -> Option<f64> {
        let cue_hits = self.shape_hits + self.texture_hits;
        (cue_hits > 0).then(|| self.shape_hits as f64 / cue_hits as f64)
    }

    /// Share of the considered images decided by either cue.
    pub fn cue_decision_rate(&self) -> Option<f64> {
        (self.considered > 0)
            .then(|| (self.shape_hits + self.texture_hits) as f64 / self.considered as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(shape: usize, texture: usize, predicted: usize) -> CueConflictDecision {
        CueConflictDecision {
            shape,
            texture,
            predicted,
        }
    }

    #[test]
    fn shape_bias_on_a_fabricated_prediction_table() {
        let table = [
            d(0, 1, 0), // shape
            d(2, 3, 2), // shape
            d(4, 5, 5), // texture
            d(6, 7, 9), // neither: does not count
            d(8, 8, 8), // same categories: excluded, although "correct"
            d(8, 8, 1), // excluded
            d(1, 0, 0), // texture
            d(3, 2, 3), // shape
        ];
        let bias = ShapeBias::of(&table);
        assert_eq!(bias.excluded, 2);
        assert_eq!(bias.considered, 6);
        assert_eq!((bias.shape_hits, bias.texture_hits), (3, 2));
        assert_eq!(bias.value(), Some(0.6));
        assert_eq!(bias.cue_decision_rate(), Some(5.0 / 6.0));
        // A model that never picks either cue has no shape bias rather than 0.
        assert_eq!(ShapeBias::of(&[d(0, 1, 2), d(3, 3, 3)]).value(), None);
        // Pure texture and pure shape decisions give 0 and 1.
        assert_eq!(ShapeBias::of(&[d(0, 1, 1), d(2, 3, 3)]).value(), Some(0.0));
        assert_eq!(ShapeBias::of(&[d(0, 1, 0)]).value(), Some(1.0));
    }
}
