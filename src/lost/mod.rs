//! LOST (Simeoni et al., BMVC 2021): unsupervised single-object discovery from the patch
//! features of one image, with no training and no labels.
//!
//! 1. [`similarity`]: `A = F F^T`, raw dot products of the patch features.
//! 2. [`degree`]: each patch's number of positive correlations with the others.
//! 3. [`seed`]: the seed is the lowest-degree patch; the k lowest-degree patches are candidates.
//! 4. [`expansion`]: the candidates positive to the seed form S; the object map sums S's rows.
//! 5. [`component`]: the 4-connected component of `map > 0` holding the seed.
//! 6. [`bbox`]: its bounding box, scaled to pixels and clipped to the unpadded image.
//!
//! [`run`] feeds images through a [`crate::models::Network`] to get the features; the
//! `lost[round]` and `report[lost]` stages ([`stage`], [`report`]), planned by [`plan`] from
//! the spec's `[lost]` section, score every pooled model with CorLoc.

pub mod bbox;
pub mod component;
pub mod degree;
pub mod expansion;
pub mod figures;
pub mod plan;
pub mod report;
pub mod run;
pub mod seed;
pub mod similarity;
pub mod stage;
pub mod summary;
pub mod table;
mod validate;

pub use bbox::CellBox;
pub use similarity::{Similarity, similarity_batch};

use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, AnalysisPlan, PoolPlan};
use crate::spec::{Problems, Spec};

/// LOST object discovery as an analysis of the pool: `[lost]`.
pub struct ObjectDiscovery;

impl Analysis for ObjectDiscovery {
    fn name(&self) -> &'static str {
        "lost"
    }
    fn validate(&self, spec: &Spec) -> Problems {
        validate::validate(spec)
    }
    fn plan(&self, spec: &Spec, pool: &PoolPlan<'_>) -> anyhow::Result<AnalysisPlan> {
        plan::plan(spec, pool)
    }
}

pub use crate::spec::lost::DEFAULT_K;

/// What LOST found in one image, on its patch grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovery {
    /// Index of the seed patch, row-major over the grid.
    pub seed: usize,
    /// Size of the expansion set S.
    pub expansion_size: usize,
    /// The object's cells; None when the seed fell outside the positive object map (only
    /// possible when its feature is all zero: LOST itself gives up on such an image).
    pub cells: Option<CellBox>,
    /// Number of cells in the seed's component (0 without one).
    pub component_size: usize,
}

/// Runs LOST on the similarity of one image's patches laid out on a `(rows, columns)` grid,
/// with `k` candidate patches (capped at the patch count). None for an image without patches.
pub fn discover(similarity: &Similarity, grid: (usize, usize), k: usize) -> Option<Discovery> {
    assert_eq!(
        similarity.len(),
        grid.0 * grid.1,
        "similarity size does not match the grid"
    );
    let degrees = degree::degrees(similarity);
    let ranking = seed::rank_by_degree(&degrees);
    let seed = seed::select_seed(&ranking)?;
    let set = expansion::expansion_set(similarity, seed, seed::potentials(&ranking, k));
    let map = expansion::object_map(similarity, &set);
    let positive: Vec<bool> = map.iter().map(|&m| m > 0.0).collect();
    let component = component::component_box(&positive, grid, seed);
    Some(Discovery {
        seed,
        expansion_size: set.len(),
        cells: component.map(|(cells, _)| cells),
        component_size: component.map_or(0, |(_, size)| size),
    })
}

#[cfg(test)]
mod tests;
