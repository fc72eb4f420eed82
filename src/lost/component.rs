//! LOST step 5: the object is the 4-connected component of the positive object map that holds
//! the seed (other positive blobs are dropped: LOST localises one object per image).

use super::bbox::CellBox;

/// The 4-connected component of the set cells of `mask` (row-major over a `(rows, columns)`
/// grid) that contains `start`, as its bounding box in cells and its number of cells; None when
/// `start` itself is not set.
pub fn component_box(
    mask: &[bool],
    grid: (usize, usize),
    start: usize,
) -> Option<(CellBox, usize)> {
    let (rows, columns) = grid;
    assert_eq!(mask.len(), rows * columns, "mask does not match the grid");
    if !mask.get(start).copied().unwrap_or(false) {
        return None;
    }
    let mut seen = vec![false; mask.len()];
    let mut stack = vec![start];
    seen[start] = true;
    let (sr, sc) = (start / columns, start % columns);
    let mut cells = CellBox {
        x0: sc,
        y0: sr,
        x1: sc + 1,
        y1: sr + 1,
    };
    let mut size = 0;
    while let Some(cell) = stack.pop() {
        size += 1;
        let (r, c) = (cell / columns, cell % columns);
        cells.x0 = cells.x0.min(c);
        cells.y0 = cells.y0.min(r);
        cells.x1 = cells.x1.max(c + 1);
        cells.y1 = cells.y1.max(r + 1);
        let neighbours = [
            (r > 0).then(|| cell - columns),
            (r + 1 < rows).then(|| cell + columns),
            (c > 0).then(|| cell - 1),
            (c + 1 < columns).then(|| cell + 1),
        ];
        for next in neighbours.into_iter().flatten() {
            if mask[next] && !seen[next] {
                seen[next] = true;
                stack.push(next);
            }
        }
    }
    Some((cells, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> (Vec<bool>, (usize, usize)) {
        let grid = (rows.len(), rows[0].len());
        let cells = rows
            .iter()
            .flat_map(|r| r.chars().map(|c| c == '#'))
            .collect();
        (cells, grid)
    }

    #[test]
    fn keeps_only_the_seeds_four_connected_component() {
        let (m, grid) = mask(&[
            "......", //
            ".##...", //
            ".#....", //
            "..#.##", // (3,2) touches (2,1) only diagonally: another component
            "....##",
        ]);
        let (cells, size) = component_box(&m, grid, 6 + 1).unwrap();
        assert_eq!(
            cells,
            CellBox {
                x0: 1,
                y0: 1,
                x1: 3,
                y1: 3
            }
        );
        assert_eq!(size, 3);
        let (cells, size) = component_box(&m, grid, 3 * 6 + 4).unwrap();
        assert_eq!(
            cells,
            CellBox {
                x0: 4,
                y0: 3,
                x1: 6,
                y1: 5
            }
        );
        assert_eq!(size, 4);
    }

    #[test]
    fn follows_winding_shapes_to_the_grid_edges() {
        let (m, grid) = mask(&[
            "#....", //
            "#.###", //
            "###.#", //
        ]);
        let (cells, size) = component_box(&m, grid, 0).unwrap();
        assert_eq!(
            cells,
            CellBox {
                x0: 0,
                y0: 0,
                x1: 5,
                y1: 3
            }
        );
        assert_eq!(size, 9);
    }

    #[test]
    fn unset_start_gives_none() {
        let (m, grid) = mask(&["#.", ".#"]);
        assert_eq!(component_box(&m, grid, 1), None);
        assert_eq!(component_box(&m, grid, 3).map(|(_, n)| n), Some(1));
    }
}
