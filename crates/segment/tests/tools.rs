//! Every tool on small synthetic volumes whose answers are known.

use glam::{DVec3, UVec3};
use insitu_segment::tools::{self, Brush, GrowError, Target, ValueRange};
use insitu_segment::{CropBox, History, Labelmap, SegmentTable};
use insitu_volume::{Geometry, Volume, Voxels};

/// A volume of `dims` (1 mm voxels) whose value at (i, j, k) is `f`.
fn volume(dims: [u32; 3], f: impl Fn(i64, i64, i64) -> i16) -> Volume {
    let g = Geometry::axis_aligned(UVec3::from(dims), DVec3::ONE, DVec3::ZERO).unwrap();
    let mut v = Vec::new();
    for k in 0..dims[2] {
        for j in 0..dims[1] {
            for i in 0..dims[0] {
                v.push(f(i.into(), j.into(), k.into()));
            }
        }
    }
    Volume::new(g, Voxels::I16(v)).unwrap()
}

/// 1000 HU inside two 6-voxel cubes apart, -1000 elsewhere.
fn two_cubes() -> Volume {
    volume([24, 12, 12], |i, j, k| {
        let in_cube =
            |lo: i64| (lo..lo + 6).contains(&i) && (3..9).contains(&j) && (3..9).contains(&k);
        if in_cube(2) || in_cube(14) {
            1000
        } else {
            -1000
        }
    })
}

/// The brush over the whole grid at `at` (mm).
fn brush(
    v: &Volume,
    map: &mut Labelmap,
    at: [f64; 3],
    radius: f64,
    shape: Brush,
    range: Option<ValueRange>,
    target: Target,
) -> insitu_segment::Change {
    let all = CropBox::whole(map.dims());
    tools::paint(v, map, &all, DVec3::from(at), radius, shape, range, target)
}

const BONE: ValueRange = ValueRange {
    low: 300.0,
    high: 3000.0,
};

#[test]
fn threshold_takes_the_range_inside_the_box() {
    let v = two_cubes();
    let mut map = Labelmap::new([24, 12, 12]);
    let all = CropBox::whole(map.dims());
    let change = tools::threshold(&v, &mut map, &all, BONE, Target::label(1));
    assert_eq!(change.voxels(), 2 * 216);
    // Only the left cube inside this box.
    let mut map = Labelmap::new([24, 12, 12]);
    let left = CropBox::from_corners([0, 0, 0], [11, 11, 11], [24, 12, 12]);
    tools::threshold(&v, &mut map, &left, BONE, Target::label(2));
    assert_eq!(map.count(2), 216);
    assert_eq!(map.bounds(2).unwrap().max[0], 8);
}

#[test]
fn grow_stops_at_the_range_the_box_and_its_limit() {
    let v = two_cubes();
    let mut map = Labelmap::new([24, 12, 12]);
    let all = CropBox::whole(map.dims());
    let change = tools::grow(
        &v,
        &mut map,
        &all,
        [4, 5, 5],
        BONE,
        Target::label(1),
        10_000,
    )
    .unwrap();
    assert_eq!(change.voxels(), 216, "one cube: the other is not connected");
    assert_eq!(
        map.bounds(1).unwrap(),
        CropBox {
            min: [2, 3, 3],
            max: [8, 9, 9]
        }
    );
    // A box through the middle of the cube stops the region at its face.
    let mut map = Labelmap::new([24, 12, 12]);
    let half = CropBox::from_corners([0, 0, 0], [23, 11, 5], [24, 12, 12]);
    tools::grow(
        &v,
        &mut map,
        &half,
        [4, 5, 4],
        BONE,
        Target::label(1),
        10_000,
    )
    .unwrap();
    assert_eq!(map.count(1), 6 * 6 * 3);
    // Leaking past the limit changes nothing and says so.
    let mut map = Labelmap::new([24, 12, 12]);
    let air = ValueRange {
        low: -2000.0,
        high: 0.0,
    };
    assert_eq!(
        tools::grow(&v, &mut map, &all, [0, 0, 0], air, Target::label(1), 500),
        Err(GrowError::TooLarge { limit: 500 })
    );
    assert_eq!(map.count(1), 0);
    assert!(matches!(
        tools::grow(&v, &mut map, &all, [0, 0, 0], BONE, Target::label(1), 500),
        Err(GrowError::SeedOutsideRange { .. })
    ));
    assert_eq!(
        tools::grow(&v, &mut map, &half, [4, 5, 9], BONE, Target::label(1), 500),
        Err(GrowError::SeedOutsideBox)
    );
}

#[test]
fn islands_are_counted_kept_removed_and_split() {
    let v = two_cubes();
    let all = CropBox::whole([24, 12, 12]);
    let fresh = || {
        let mut map = Labelmap::new([24, 12, 12]);
        tools::threshold(&v, &mut map, &all, BONE, Target::label(1));
        // A lone voxel: a third, tiny piece.
        brush(
            &v,
            &mut map,
            [12.0, 0.0, 0.0],
            0.4,
            Brush::Sphere,
            None,
            Target::label(1),
        );
        map
    };
    let map = fresh();
    let pieces = tools::pieces(&map, 1, &all);
    assert_eq!(
        pieces.iter().map(|p| p.1).collect::<Vec<_>>(),
        [216, 216, 1]
    );
    let mut map = fresh();
    tools::remove_small(&mut map, 1, &all, 10);
    assert_eq!(map.count(1), 432);
    let mut map = fresh();
    tools::keep_largest(&mut map, 1, &all);
    assert_eq!(map.count(1), 216);
    let mut map = fresh();
    tools::keep_piece_at(&mut map, 1, &all, [16, 5, 5]);
    assert_eq!(map.count(1), 216);
    assert_eq!(map.bounds(1).unwrap().min[0], 14, "the clicked cube");
    let mut map = fresh();
    let mut table = SegmentTable::default();
    table.add(None).unwrap();
    let (change, made) = tools::split(&mut map, &mut table, 1, &all);
    assert_eq!(made, [2, 3]);
    assert_eq!((map.count(1), map.count(2), map.count(3)), (216, 216, 1));
    assert_eq!(change.voxels(), 217);
}

#[test]
fn fill_holes_makes_a_hollow_sphere_solid() {
    // A shell between radii 4 and 7 around the centre of a 20-voxel grid.
    let shell = volume([20, 20, 20], |i, j, k| {
        let r2 = (i - 10).pow(2) + (j - 10).pow(2) + (k - 10).pow(2);
        if (16..=49).contains(&r2) { 1000 } else { 0 }
    });
    let all = CropBox::whole([20, 20, 20]);
    let mut map = Labelmap::new([20, 20, 20]);
    tools::threshold(&shell, &mut map, &all, BONE, Target::label(1));
    let shell_voxels = map.count(1);
    let change = tools::fill_holes(&mut map, 1, &all);
    let cavity = (0..20i64 * 20 * 20)
        .filter(|n| {
            let (i, j, k) = (n % 20, (n / 20) % 20, n / 400);
            (i - 10).pow(2) + (j - 10).pow(2) + (k - 10).pow(2) < 16
        })
        .count();
    assert_eq!(change.voxels(), cavity);
    assert_eq!(map.count(1), shell_voxels + cavity);
    // A solid with no cavity: nothing to fill.
    assert!(tools::fill_holes(&mut map, 1, &all).is_empty());
}

/// Voxels of a 10-voxel cube at (5..15)³ in a 24³ grid, labelled 1.
fn cube_map() -> Labelmap {
    let mut labels = vec![0u8; 24 * 24 * 24];
    for k in 5..15 {
        for j in 5..15 {
            for i in 5..15 {
                labels[i + 24 * (j + 24 * k)] = 1;
            }
        }
    }
    Labelmap::from_labels([24; 3], labels).unwrap()
}

#[test]
fn a_margin_of_two_millimetres_on_a_cube() {
    let all = CropBox::whole([24; 3]);
    let original = cube_map();
    // Grow: every voxel within 2 mm of the cube (1 mm voxels), by brute force.
    let mut map = original.clone();
    tools::margin(&mut map, 1, &all, 2.0, [1.0; 3]);
    let near = |p: [i64; 3]| {
        let d2: i64 = p
            .iter()
            .map(|&c| {
                let d = if c < 5 {
                    5 - c
                } else if c > 14 {
                    c - 14
                } else {
                    0
                };
                d * d
            })
            .sum();
        d2 <= 4
    };
    let expected = (0..24i64 * 24 * 24)
        .filter(|n| near([n % 24, (n / 24) % 24, n / 576]))
        .count();
    assert_eq!(map.count(1), expected);
    // Shrink: two layers come off every face: a 6-voxel cube.
    let mut map = original.clone();
    tools::margin(&mut map, 1, &all, -2.0, [1.0; 3]);
    assert_eq!(map.count(1), 6 * 6 * 6);
    assert_eq!(
        map.bounds(1).unwrap(),
        CropBox {
            min: [7; 3],
            max: [13; 3]
        }
    );
    // Anisotropic: 2 mm is one voxel along z when slices are 2 mm apart.
    let mut map = original;
    tools::margin(&mut map, 1, &all, -2.0, [1.0, 1.0, 2.0]);
    assert_eq!(
        map.bounds(1).unwrap(),
        CropBox {
            min: [7, 7, 6],
            max: [13, 13, 14]
        }
    );
}

#[test]
fn a_painted_sphere_has_the_ball_s_volume_and_a_range_limits_it() {
    let v = two_cubes();
    let mut map = Labelmap::new([24, 12, 12]);
    brush(
        &v,
        &mut map,
        [12.0, 6.0, 6.0],
        4.0,
        Brush::Sphere,
        None,
        Target::label(1),
    );
    let ball = 4.0 / 3.0 * std::f64::consts::PI * 64.0;
    let got = map.count(1) as f64;
    assert!(
        (got - ball).abs() / ball < 0.1,
        "{got} voxels, ball {ball:.0}"
    );
    // A disc in the axial plane: one voxel thick.
    let mut map = Labelmap::new([24, 12, 12]);
    brush(
        &v,
        &mut map,
        [12.0, 6.0, 6.0],
        4.0,
        Brush::Disc { normal: DVec3::Z },
        None,
        Target::label(1),
    );
    let b = map.bounds(1).unwrap();
    assert_eq!((b.min[2], b.max[2]), (6, 7));
    // Only bone: the brush on the left cube's edge takes its voxels alone.
    let mut map = Labelmap::new([24, 12, 12]);
    brush(
        &v,
        &mut map,
        [7.0, 6.0, 6.0],
        3.0,
        Brush::Sphere,
        Some(BONE),
        Target::label(1),
    );
    assert!(map.count(1) > 0);
    assert!(map.bounds(1).unwrap().max[0] <= 8);
    // Erasing (label 0) clears it again.
    brush(
        &v,
        &mut map,
        [7.0, 6.0, 6.0],
        3.5,
        Brush::Sphere,
        None,
        Target::erase(1),
    );
    assert_eq!(map.count(1), 0);
}

#[test]
fn undo_restores_the_exact_labelmap_after_every_tool() {
    let v = two_cubes();
    let all = CropBox::whole([24, 12, 12]);
    let mut map = Labelmap::new([24, 12, 12]);
    let mut table = SegmentTable::default();
    let mut history = History::default();
    let mut states = vec![map.clone()];
    let a = table.add(None).unwrap();
    history.record(tools::threshold(&v, &mut map, &all, BONE, Target::label(a)));
    states.push(map.clone());
    let (change, _) = tools::split(&mut map, &mut table, a, &all);
    history.record(change);
    states.push(map.clone());
    history.record(tools::merge(&mut map, a, 2, &all));
    states.push(map.clone());
    history.record(tools::margin(&mut map, a, &all, 1.0, [1.0; 3]));
    states.push(map.clone());
    history.record(brush(
        &v,
        &mut map,
        [4.0, 5.0, 5.0],
        2.0,
        Brush::Sphere,
        None,
        Target::erase(1),
    ));
    states.push(map.clone());
    // Undo step by step: each state comes back exactly.
    for expected in states.iter().rev().skip(1) {
        assert!(history.undo(&mut map));
        assert_eq!(&map, expected);
    }
    // Redo all the way: the last state again.
    while history.redo(&mut map) {}
    assert_eq!(&map, states.last().unwrap());
}
