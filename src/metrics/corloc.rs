//! Box overlap (IoU) and CorLoc, the object-discovery score: the share of images whose single
//! predicted box overlaps *some* ground-truth box of the image with IoU >= 0.5.
//!
//! Boxes are `[x0, y0, x1, y1]` in pixels with exclusive ends (a box `[0, 0, 2, 2]` covers four
//! pixels), the convention of [`crate::data::Sample::boxes`]; VOC's 1-based inclusive boxes are
//! converted when read. Areas are continuous (no `+1`), as in LOST's evaluation.

/// IoU a predicted box needs with a ground-truth box for the image to count as localised.
pub const CORLOC_IOU: f64 = 0.5;

/// Area of a box; zero for an empty or inverted one.
pub fn box_area(b: [f32; 4]) -> f64 {
    let w = (b[2] as f64 - b[0] as f64).max(0.0);
    let h = (b[3] as f64 - b[1] as f64).max(0.0);
    w * h
}

/// Intersection over union of two boxes; 0 when they do not overlap (touching edges included)
/// or when both are empty.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f64 {
    let inter = box_area([
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]);
    let union = box_area(a) + box_area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// The largest IoU of `predicted` with any of `truth`; 0 without ground truth.
pub fn best_iou(predicted: [f32; 4], truth: &[[f32; 4]]) -> f64 {
    truth.iter().map(|&t| iou(predicted, t)).fold(0.0, f64::max)
}

/// Whether a prediction localises the image's object (`best_iou >= 0.5`).
pub fn localised(predicted: [f32; 4], truth: &[[f32; 4]]) -> bool {
    best_iou(predicted, truth) >= CORLOC_IOU
}

/// CorLoc: the share of images localised (0 for no images).
pub fn corloc(correct: &[bool]) -> f64 {
    if correct.is_empty() {
        return 0.0;
    }
    correct.iter().filter(|&&c| c).count() as f64 / correct.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_boxes_have_iou_one() {
        assert_eq!(iou([1.0, 2.0, 5.0, 7.0], [1.0, 2.0, 5.0, 7.0]), 1.0);
    }

    #[test]
    fn touching_boxes_do_not_overlap() {
        // Side by side, sharing the edge x = 2, and corner to corner.
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [2.0, 0.0, 4.0, 2.0]), 0.0);
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [5.0, 5.0, 6.0, 6.0]), 0.0);
    }

    #[test]
    fn nested_box_iou_is_the_area_ratio() {
        assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 7.0, 7.0]), 0.25);
        assert_eq!(iou([2.0, 2.0, 7.0, 7.0], [0.0, 0.0, 10.0, 10.0]), 0.25);
    }

    #[test]
    fn partial_overlap() {
        // Intersection 1 x 2 = 2, union 4 + 4 - 2 = 6.
        let v = iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]);
        assert!((v - 2.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn empty_boxes_have_iou_zero() {
        assert_eq!(iou([3.0, 3.0, 3.0, 8.0], [0.0, 0.0, 10.0, 10.0]), 0.0);
        assert_eq!(iou([3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]), 0.0);
        // Inverted corners are empty, not negative.
        assert_eq!(iou([5.0, 5.0, 1.0, 1.0], [0.0, 0.0, 10.0, 10.0]), 0.0);
        assert_eq!(best_iou([0.0, 0.0, 1.0, 1.0], &[]), 0.0);
    }

    #[test]
    fn corloc_counts_a_hit_on_any_ground_truth_box() {
        let truth = [[0.0, 0.0, 4.0, 4.0], [10.0, 10.0, 20.0, 20.0]];
        // IoU 0.5 exactly with the second box: counts (>=).
        assert!(localised([10.0, 10.0, 20.0, 15.0], &truth));
        assert!(!localised([10.0, 10.0, 20.0, 14.0], &truth));
        assert!(localised([0.0, 0.0, 4.0, 4.0], &truth));
        assert_eq!(corloc(&[true, false, true, true]), 0.75);
        assert_eq!(corloc(&[]), 0.0);
    }
}
