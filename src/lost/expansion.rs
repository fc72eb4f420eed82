//! LOST step 4: grow the seed into the patches that likely belong to the same object.

use super::similarity::Similarity;

/// The expansion set S: the candidate patches (the k lowest-degree ones) that correlate
/// positively with the seed, in candidate order. The seed itself qualifies whenever its feature
/// is non-zero (`A[s][s] = |f_s|^2 > 0`); a seed with an all-zero feature is left out, as LOST
/// does, and then the seed ends up outside the object map.
pub fn expansion_set(similarity: &Similarity, seed: usize, candidates: &[usize]) -> Vec<usize> {
    let seed_row = similarity.row(seed);
    candidates
        .iter()
        .copied()
        .filter(|&p| seed_row[p] > 0.0)
        .collect()
}

/// The object map `M = sum over p in S of A[p][.]`, one value per patch: the summed similarity
/// of each patch to the expansion set. Patches with `M > 0` are object candidates.
pub fn object_map(similarity: &Similarity, set: &[usize]) -> Vec<f32> {
    let mut map = vec![0.0; similarity.len()];
    for &p in set {
        for (m, &a) in map.iter_mut().zip(similarity.row(p)) {
            *m += a;
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    fn sim() -> Similarity {
        Similarity::from_matrix(4, vec![
            4.0,  1.0, -1.0,  2.0,
            1.0,  3.0, -2.0, -1.0,
           -1.0, -2.0,  5.0,  1.0,
            2.0, -1.0,  1.0,  2.0,
        ])
    }

    #[test]
    fn keeps_candidates_positive_to_the_seed() {
        // Patch 3 correlates with the seed 0 but is not a candidate: it stays out.
        assert_eq!(expansion_set(&sim(), 0, &[0, 2, 1]), vec![0, 1]);
    }

    #[test]
    fn object_map_sums_the_rows_of_the_set() {
        assert_eq!(object_map(&sim(), &[0, 1]), vec![5.0, 4.0, -3.0, 1.0]);
        assert_eq!(object_map(&sim(), &[]), vec![0.0; 4]);
    }

    #[test]
    fn a_zero_seed_is_not_its_own_expansion() {
        let zero = Similarity::from_features(&[0.0, 0.0, 1.0, 1.0], 2, 2);
        assert!(expansion_set(&zero, 0, &[0, 1]).is_empty());
    }
}
