//! A lighter copy of a surface to draw when the full one is too large for
//! a browser tab's GPU buffers and memory (a whole-body CT's bone at 300 HU
//! is 10–30 M triangles): its vertices clustered on a grid, one vertex per
//! occupied cell at their mean, as VTK's vertex clustering does, so the
//! shape holds at the cell's size. One pass over the vertices and one over
//! the triangles; exports, checks and the cache keep the full surface.

use std::collections::HashMap;

use glam::Vec3;

use crate::Mesh;

/// Surfaces up to this many triangles are drawn whole; larger ones as a
/// preview of at most this many (about 290 MB of vertex and index buffers
/// drawn, under WebGL2's and WebGPU's common buffer limits with room).
pub const DRAWN_WHOLE_UP_TO: usize = 6_000_000;

/// Drag frames on a GPU too slow for the whole surface (a software GPU
/// takes about 250 ms for 400 k triangles at any canvas size) draw a copy
/// of at most the first of these many triangles (about 25 ms there), or,
/// where its frames still take too long (a slower CPU, or one busy with the
/// spine's analysis), of the next: each a quarter of the last, so that one
/// step down brings a frame twice over the budget well within it.
pub const DRAG_COPY_TIERS: [usize; 2] = [40_000, 10_000];

/// A segment's drag copies (a vertebra, the sacrum), tier by tier as
/// [`DRAG_COPY_TIERS`]: a spine's twenty or so drag at about the cost of
/// the bone's copy.
pub const PART_DRAG_COPY_TIERS: [usize; 2] = [2_000, 500];

/// How many times fewer triangles each drag copy tier has than the last.
pub const DRAG_COPY_TIER_RATIO: f64 = DRAG_COPY_TIERS[0] as f64 / DRAG_COPY_TIERS[1] as f64;

/// A preview of `mesh` with at most `most` triangles, or `None` when the
/// mesh has no more than that (draw it whole).
pub fn preview(mesh: &Mesh, most: usize) -> Option<Mesh> {
    if mesh.triangle_count() <= most || most == 0 {
        return None;
    }
    // A closed surface clustered on cells of side c keeps about one vertex
    // per c² of its area and two triangles per vertex.
    let area = mesh.area();
    let mut cell = ((2.0 * area / most as f64).sqrt() as f32).max(1e-3);
    loop {
        let clustered = cluster(mesh, cell);
        if clustered.triangle_count() <= most {
            return Some(clustered);
        }
        cell *= 1.25;
    }
}

/// `mesh` with its vertices merged per cell of side `cell` (mm); triangles
/// whose corners fall in fewer than three cells are dropped.
fn cluster(mesh: &Mesh, cell: f32) -> Mesh {
    let mut cells: HashMap<[i32; 3], u32> = HashMap::new();
    let mut sums: Vec<(Vec3, Vec3, u32)> = Vec::new();
    let mut remap = Vec::with_capacity(mesh.positions.len());
    for (n, p) in mesh.positions.iter().enumerate() {
        let key = (*p / cell).floor().as_ivec3().to_array();
        let id = *cells.entry(key).or_insert_with(|| {
            sums.push((Vec3::ZERO, Vec3::ZERO, 0));
            sums.len() as u32 - 1
        });
        let s = &mut sums[id as usize];
        s.0 += *p;
        s.1 += mesh.normals.get(n).copied().unwrap_or(Vec3::ZERO);
        s.2 += 1;
        remap.push(id);
    }
    let triangles: Vec<[u32; 3]> = mesh
        .triangles
        .iter()
        .map(|t| t.map(|v| remap[v as usize]))
        .filter(|[a, b, c]| a != b && b != c && a != c)
        .collect();
    let positions = sums.iter().map(|s| s.0 / s.2 as f32).collect();
    let normals = if mesh.normals.is_empty() {
        Vec::new()
    } else {
        sums.iter().map(|s| s.1.normalize_or_zero()).collect()
    };
    Mesh {
        positions,
        normals,
        triangles,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marching::{MarchingOptions, extract_surface};
    use insitu_volume::phantom::{PhantomSize, demo_spine};

    #[test]
    fn a_preview_keeps_the_shape_within_the_triangle_budget() {
        let volume = demo_spine(PhantomSize {
            matrix: 96,
            slices: 100,
            pixel_mm: 3.6,
            slice_mm: 3.0,
        });
        let full = extract_surface(&volume, MarchingOptions::default());
        let n = full.triangle_count();
        assert!(preview(&full, n).is_none(), "small enough: drawn whole");
        let most = n / 8;
        let light = preview(&full, most).expect("a preview");
        println!(
            "preview: {} of {n} triangles, area {:.0} of {:.0} mm²",
            light.triangle_count(),
            light.area(),
            full.area()
        );
        assert!(light.triangle_count() <= most);
        assert!(light.triangle_count() >= most / 4, "not needlessly coarse");
        // The same shape: the same box within a couple of cells, and most
        // of the area (clustering shaves fine detail, never adds it).
        let ((a0, a1), (b0, b1)) = (full.bounds().unwrap(), light.bounds().unwrap());
        assert!((a0 - b0).abs().max_element() < 8.0 && (a1 - b1).abs().max_element() < 8.0);
        let kept = light.area() / full.area();
        assert!((0.6..=1.05).contains(&kept), "area kept {kept}");
        assert_eq!(light.normals.len(), light.positions.len());
        assert!(
            light
                .triangles
                .iter()
                .all(|t| t.iter().all(|&v| (v as usize) < light.positions.len()))
        );
    }

    #[test]
    fn each_drag_copy_tier_is_the_ratio_lighter_than_the_last() {
        for tiers in [DRAG_COPY_TIERS, PART_DRAG_COPY_TIERS] {
            for pair in tiers.windows(2) {
                assert_eq!(pair[0] as f64 / pair[1] as f64, DRAG_COPY_TIER_RATIO);
            }
        }
    }
}
