//! LOST step 2: the degree of a patch is the number of *other* patches it correlates
//! positively with. Foreground patches correlate with few others (objects cover less of an
//! image than background), so low degree marks a likely object patch.

use super::similarity::Similarity;

/// `degree[i] = |{ j != i : A[i][j] > 0 }|`: the diagonal and non-positive entries are ignored.
pub fn degrees(similarity: &Similarity) -> Vec<usize> {
    (0..similarity.len())
        .map(|i| {
            similarity
                .row(i)
                .iter()
                .enumerate()
                .filter(|&(j, &a)| j != i && a > 0.0)
                .count()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_positive_off_diagonal_entries() {
        // A hand-made (not Gram) matrix: the diagonal is large and positive everywhere and
        // must not count; zeros and negatives must not count either.
        #[rustfmt::skip]
        let sim = Similarity::from_matrix(4, vec![
            9.0,  1.0, -2.0, 0.0,
            1.0,  9.0,  3.0, 0.5,
           -2.0,  3.0,  9.0, -1.0,
            0.0,  0.5, -1.0, 9.0,
        ]);
        assert_eq!(degrees(&sim), vec![1, 3, 1, 1]);
    }

    #[test]
    fn single_patch_has_degree_zero() {
        assert_eq!(degrees(&Similarity::from_matrix(1, vec![4.0])), vec![0]);
    }
}
