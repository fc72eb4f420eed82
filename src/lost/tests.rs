//! LOST end to end on planted features, where the right answer is known exactly.

use super::*;
use crate::data::Rng;

const DIM: usize = 16;

/// Features on a `rows x columns` grid: cells marked `o` (object) and `d` (decoy, an object
/// of the same kind elsewhere) point along `+u`, the background along `-u`, each with a little
/// noise. Object patches are then mutually positive and negative to the background.
fn planted(rows: &[&str], seed: u64) -> (Similarity, (usize, usize)) {
    let grid = (rows.len(), rows[0].len());
    let mut rng = Rng::new(seed);
    let u: Vec<f32> = (0..DIM)
        .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
        .collect();
    let mut features = Vec::new();
    for cell in rows.iter().flat_map(|r| r.chars()) {
        let sign = if cell == '.' { -1.0 } else { 1.0 };
        features.extend(u.iter().map(|&v| sign * v + 0.1 * rng.normal()));
    }
    (
        Similarity::from_features(&features, grid.0 * grid.1, DIM),
        grid,
    )
}

#[test]
fn planted_rectangle_is_boxed_exactly() {
    let (sim, grid) = planted(
        &[
            "........", //
            "........", //
            "...ooo..", //
            "...ooo..", //
            "........", //
            "........",
        ],
        1,
    );
    let found = discover(&sim, grid, DEFAULT_K).unwrap();
    // Object patches have degree 5, background ones 41: the seed is the first object patch.
    assert_eq!(found.seed, 2 * 8 + 3);
    assert_eq!(found.expansion_size, 6);
    assert_eq!(found.component_size, 6);
    let cells = found.cells.unwrap();
    assert_eq!(
        cells,
        CellBox {
            x0: 3,
            y0: 2,
            x1: 6,
            y1: 4
        }
    );
    assert_eq!(cells.to_pixels(16, 128, 96), [48.0, 32.0, 96.0, 64.0]);
}

#[test]
fn planted_irregular_object_ignores_a_diagonal_decoy() {
    // The decoy touches the object only at a corner: it is in the expansion set (it correlates
    // with the seed) and positive in the object map, but not 4-connected to the seed.
    let (sim, grid) = planted(
        &[
            ".......", //
            ".o.....", //
            ".ooo...", //
            "..o....", //
            "...dd..", //
            "...d...",
        ],
        2,
    );
    let found = discover(&sim, grid, DEFAULT_K).unwrap();
    assert_eq!(found.seed, 7 + 1);
    assert_eq!(found.expansion_size, 8);
    assert_eq!(found.component_size, 5);
    assert_eq!(
        found.cells,
        Some(CellBox {
            x0: 1,
            y0: 1,
            x1: 4,
            y1: 4
        })
    );
}

#[test]
fn planted_object_at_the_border_is_clipped_to_the_unpadded_image() {
    // A 90 x 60 image at stride 16 is padded to 96 x 64: a 6 x 4 grid.
    let (sim, grid) = planted(
        &[
            "......", //
            "......", //
            "....oo", //
            "....oo",
        ],
        3,
    );
    let cells = discover(&sim, grid, DEFAULT_K).unwrap().cells.unwrap();
    assert_eq!(cells.to_pixels(16, 90, 60), [64.0, 32.0, 90.0, 60.0]);
}

#[test]
fn k_limits_the_expansion_to_the_lowest_degree_patches() {
    let (sim, grid) = planted(
        &[
            "......", //
            ".oooo.", //
            ".oooo.", //
            "......",
        ],
        4,
    );
    // Eight object patches share the lowest degree; k = 3 keeps the first three in index order.
    let found = discover(&sim, grid, 3).unwrap();
    assert_eq!(found.expansion_size, 3);
    // Their summed rows still mark the whole object.
    assert_eq!(
        found.cells,
        Some(CellBox {
            x0: 1,
            y0: 1,
            x1: 5,
            y1: 3
        })
    );
    assert_eq!(discover(&sim, grid, 1).unwrap().expansion_size, 1);
}

#[test]
fn an_all_zero_image_has_no_object() {
    let sim = Similarity::from_features(&[0.0; 4 * DIM], 4, DIM);
    let found = discover(&sim, (2, 2), DEFAULT_K).unwrap();
    assert_eq!(found.seed, 0);
    assert_eq!(found.expansion_size, 0);
    assert_eq!(found.cells, None);
    assert!(discover(&Similarity::from_matrix(0, vec![]), (0, 0), 5).is_none());
}
