//! LOST step 3: the seed is the patch of smallest degree, and the candidates for expanding it
//! are the k lowest-degree patches.
//!
//! Tie-breaking (documented, deterministic): patches of equal degree are ordered by their index
//! in row-major grid order, so the top-most, then left-most patch wins. (LOST itself uses
//! `torch.argsort`, whose order among ties is unspecified.)

/// Patch indices sorted by ascending degree, ties by ascending index.
pub fn rank_by_degree(degrees: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..degrees.len()).collect();
    // A stable sort keeps equal degrees in index order.
    order.sort_by_key(|&i| degrees[i]);
    order
}

/// The seed: the first patch of [`rank_by_degree`]. None for an image without patches.
pub fn select_seed(ranking: &[usize]) -> Option<usize> {
    ranking.first().copied()
}

/// The `k` lowest-degree patches (all of them when there are fewer than `k`).
pub fn potentials(ranking: &[usize], k: usize) -> &[usize] {
    &ranking[..k.min(ranking.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lost::degree::degrees;
    use crate::lost::similarity::Similarity;

    #[test]
    fn seed_is_the_minimum_degree_patch() {
        #[rustfmt::skip]
        let sim = Similarity::from_matrix(5, vec![
            1.0,  1.0,  1.0,  1.0, -1.0,
            1.0,  1.0,  1.0,  1.0, -1.0,
            1.0,  1.0,  1.0, -1.0, -1.0,
            1.0,  1.0, -1.0,  1.0,  1.0,
           -1.0, -1.0, -1.0,  1.0,  1.0,
        ]);
        let d = degrees(&sim);
        assert_eq!(d, vec![3, 3, 2, 3, 1]);
        let ranking = rank_by_degree(&d);
        assert_eq!(ranking, vec![4, 2, 0, 1, 3]);
        assert_eq!(select_seed(&ranking), Some(4));
        assert_eq!(potentials(&ranking, 2), &[4, 2]);
        assert_eq!(potentials(&ranking, 100), &[4, 2, 0, 1, 3]);
    }

    #[test]
    fn ties_go_to_the_lowest_index() {
        let ranking = rank_by_degree(&[2, 1, 3, 1, 1]);
        assert_eq!(ranking, vec![1, 3, 4, 0, 2]);
        assert_eq!(select_seed(&ranking), Some(1));
        assert_eq!(select_seed(&[]), None);
    }
}
