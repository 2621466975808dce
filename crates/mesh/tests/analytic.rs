//! Marching cubes against shapes with known area and volume, and the
//! topological promises: closed, manifold, outward, deterministic.
#![cfg(not(target_arch = "wasm32"))]

use glam::{DVec3, UVec3};
use insitu_mesh::{MarchingOptions, cleanup, extract_surface, topology};
use insitu_volume::{Geometry, Volume, Voxels};

fn field(geometry: Geometry, f: impl Fn(DVec3) -> f64) -> Volume {
    let d = geometry.dims;
    let mut v = Vec::with_capacity(geometry.voxel_count());
    for k in 0..d.z {
        for j in 0..d.y {
            for i in 0..d.x {
                v.push(f(geometry.world_of(DVec3::new(i.into(), j.into(), k.into()))) as f32);
            }
        }
    }
    Volume::new(geometry, Voxels::F32(v)).unwrap()
}

fn within(got: f64, want: f64, tolerance: f64, what: &str) {
    let error = (got - want).abs() / want;
    eprintln!("{what}: {got:.1} vs {want:.1} ({:.3}%)", error * 100.0);
    assert!(error < tolerance, "{what}: {got} vs analytic {want}");
}

/// Surface of a sphere of radius 40 voxels (1 mm) off the grid centre, and
/// the centre.
fn sphere_of_radius_40() -> (insitu_mesh::Mesh, DVec3) {
    let g = Geometry::axis_aligned(UVec3::splat(96), DVec3::ONE, DVec3::ZERO).unwrap();
    let centre = DVec3::splat(47.3);
    let volume = field(g, |p| 40.0 - (p - centre).length());
    let options = MarchingOptions {
        iso: 0.0,
        close_borders: true,
    };
    (extract_surface(&volume, options), centre)
}

#[test]
fn sphere_of_radius_40_voxels_has_the_analytic_area_and_volume() {
    let (mesh, centre) = sphere_of_radius_40();
    let t = topology(&mesh);
    assert!(t.is_watertight(), "{t:?}");
    within(
        mesh.area(),
        4.0 * std::f64::consts::PI * 1600.0,
        0.01,
        "sphere area",
    );
    within(
        mesh.enclosed_volume(),
        4.0 / 3.0 * std::f64::consts::PI * 64000.0,
        0.01,
        "sphere volume",
    );
    // One vertex per cut edge: no duplicated positions.
    let mut keys: Vec<[u32; 3]> = mesh
        .positions
        .iter()
        .map(|p| p.to_array().map(f32::to_bits))
        .collect();
    keys.sort_unstable();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "shared vertices");
    // Vertex normals point outward.
    let outward = mesh
        .positions
        .iter()
        .zip(&mesh.normals)
        .filter(|(p, n)| (p.as_dvec3() - centre).dot(n.as_dvec3()) > 0.0)
        .count();
    assert_eq!(outward, mesh.positions.len());
}

/// Ellipsoid surface area by fine numerical integration.
fn ellipsoid_area(a: f64, b: f64, c: f64) -> f64 {
    let (nu, nv) = (2000, 1000);
    let mut area = 0.0;
    for i in 0..nu {
        for j in 0..nv {
            let u = (i as f64 + 0.5) / nu as f64 * std::f64::consts::TAU;
            let v = (j as f64 + 0.5) / nv as f64 * std::f64::consts::PI;
            let du = DVec3::new(-a * v.sin() * u.sin(), b * v.sin() * u.cos(), 0.0);
            let dv = DVec3::new(a * v.cos() * u.cos(), b * v.cos() * u.sin(), -c * v.sin());
            area += du.cross(dv).length();
        }
    }
    area * (std::f64::consts::TAU / nu as f64) * (std::f64::consts::PI / nv as f64)
}

#[test]
fn ellipsoid_in_an_anisotropic_tilted_grid_comes_out_in_patient_space() {
    let tilt = 20f64.to_radians();
    let steps = [
        DVec3::X * 0.5,
        DVec3::Y * 0.7,
        DVec3::new(0.0, tilt.sin(), tilt.cos()) * 1.3,
    ];
    let g = Geometry::new(
        UVec3::new(150, 150, 70),
        steps,
        DVec3::new(-37.0, -80.0, -45.0),
    )
    .unwrap();
    let (centre, axes) = (DVec3::new(0.0, -10.0, 0.0), DVec3::new(30.0, 20.0, 25.0));
    let volume = field(g, |p| (1.0 - ((p - centre) / axes).length()) * 20.0);
    let mesh = extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let t = topology(&mesh);
    assert!(t.is_watertight(), "{t:?}");
    within(
        mesh.enclosed_volume(),
        4.0 / 3.0 * std::f64::consts::PI * 30.0 * 20.0 * 25.0,
        0.01,
        "ellipsoid volume",
    );
    within(
        mesh.area(),
        ellipsoid_area(30.0, 20.0, 25.0),
        0.01,
        "ellipsoid area",
    );
    let (lo, hi) = mesh.bounds().unwrap();
    assert!(
        (lo.as_dvec3() - (centre - axes)).abs().max_element() < 1.0,
        "{lo}"
    );
    assert!(
        (hi.as_dvec3() - (centre + axes)).abs().max_element() < 1.0,
        "{hi}"
    );
}

/// Uniform noise in -1000..1000, or (`levels`) in a few steps 100 apart
/// from 100, so that many voxels sit exactly at an iso of those steps.
fn noise_of(dims: UVec3, seed: u64, levels: Option<u64>) -> Volume {
    let mut state = seed;
    let g = Geometry::axis_aligned(dims, DVec3::new(0.8, 0.8, 1.5), DVec3::splat(-150.0)).unwrap();
    let v = (0..g.voxel_count())
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match levels {
                None => ((state >> 33) % 2000) as i16 - 1000,
                Some(levels) => ((state >> 33) % levels) as i16 * 100 + 100,
            }
        })
        .collect();
    Volume::new(g, Voxels::I16(v)).unwrap()
}

fn noise(dims: UVec3, seed: u64) -> Volume {
    noise_of(dims, seed, None)
}

#[test]
fn noise_gives_a_closed_consistently_oriented_surface_when_borders_close() {
    let volume = noise(UVec3::new(40, 33, 27), 7);
    let mesh = extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    assert!(mesh.triangle_count() > 10_000);
    let t = topology(&mesh);
    assert!(t.is_watertight(), "{t:?}");
    assert!(mesh.enclosed_volume() > 0.0);
    // Without closing, the surface is open at the border but still manifold.
    let open = extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: false,
        },
    );
    let t = topology(&open);
    assert!(
        t.boundary_edges > 0 && t.non_manifold_edges == 0 && t.inconsistent_edges == 0,
        "{t:?}"
    );
}

#[test]
fn the_lean_two_pass_extraction_gives_the_same_mesh() {
    // Thin volumes too: a voxel can meet the padding on both sides. Rows
    // over 256 voxels long: the count pass keeps their inside extents in
    // steps of two voxels or more.
    for dims in [
        UVec3::new(29, 31, 40),
        UVec3::new(601, 6, 5),
        UVec3::new(1, 3, 2),
        UVec3::new(4, 1, 1),
        UVec3::new(1, 1, 1),
    ] {
        let volume = noise(dims, 5);
        // About half the voxels inside; 2%, so that rows hold short inside
        // extents which change from layer to layer (the write pass reads
        // only those); every voxel.
        let cases = [120.0, 960.0, -2000.0]
            .into_iter()
            .flat_map(|iso| [true, false].map(|close_borders| (iso, close_borders)));
        for (iso, close_borders) in cases {
            let options = MarchingOptions { iso, close_borders };
            let lean = insitu_mesh::marching::extract_surface_lean(&volume, options);
            assert_eq!(lean, extract_surface(&volume, options), "{dims} at {iso}");
            // A step at a time (the browser serves its views in between):
            // the same mesh, the progress rising to 1.
            let mut stepped = insitu_mesh::marching::SteppedExtraction::new(&volume, options);
            let mut progress = vec![stepped.progress()];
            while !stepped.step() {
                progress.push(stepped.progress());
            }
            progress.push(stepped.progress());
            assert!(
                progress.windows(2).all(|p| p[0] <= p[1]),
                "{dims}: {progress:?}"
            );
            assert_eq!(
                (progress[0], progress[progress.len() - 1]),
                (0.0, 1.0),
                "{dims}"
            );
            assert_eq!(stepped.finish(), lean, "{dims}: stepped");
            let vertices = lean.positions.len();
            assert_eq!(
                lean.positions.capacity(),
                vertices,
                "{dims}: counted exactly"
            );
        }
    }
    // Bone (few tunnels, unlike noise): the triangles' reserve is enough.
    let spine = insitu_volume::phantom::demo_spine(insitu_volume::phantom::PhantomSize {
        matrix: 96,
        slices: 60,
        pixel_mm: 3.6,
        slice_mm: 3.3,
    });
    let lean = insitu_mesh::marching::extract_surface_lean(&spine, MarchingOptions::default());
    assert_eq!(lean, extract_surface(&spine, MarchingOptions::default()));
    let vertices = lean.positions.len();
    assert!(
        lean.triangles.capacity() <= 2 * vertices + vertices / 16 + 64,
        "reserved once, never grown"
    );
}

#[test]
fn output_is_identical_single_and_multi_threaded() {
    let volume = noise(UVec3::new(31, 29, 23), 3);
    let options = MarchingOptions {
        iso: 100.0,
        close_borders: true,
    };
    let parallel = extract_surface(&volume, options);
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| extract_surface(&volume, options));
    assert_eq!(parallel, single);
}

#[test]
fn taubin_smoothing_keeps_the_sphere_size_and_closes_nothing() {
    let g = Geometry::axis_aligned(UVec3::splat(60), DVec3::ONE, DVec3::ZERO).unwrap();
    let centre = DVec3::splat(29.5);
    // A noisy sphere: smoothing should calm it without shrinking it.
    let volume = field(g, |p| {
        22.0 - (p - centre).length() + 0.4 * (p.x * 1.7).sin() * (p.y * 2.3).cos()
    });
    let mut mesh = extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let before = mesh.enclosed_volume();
    cleanup::taubin_smooth(&mut mesh, 10);
    let after = mesh.enclosed_volume();
    assert!(
        (after - before).abs() / before < 0.02,
        "{before} -> {after}"
    );
    assert!(topology(&mesh).is_watertight());
    assert_eq!(mesh.normals.len(), mesh.positions.len());
}

#[test]
fn decimating_a_sphere_to_a_tenth_keeps_its_shape_closed_and_outward() {
    let (full, centre) = sphere_of_radius_40();
    let target = full.triangle_count() / 10;
    let mesh = insitu_mesh::decimate::decimate(&full, target);
    eprintln!(
        "{} -> {} triangles",
        full.triangle_count(),
        mesh.triangle_count()
    );
    assert!(mesh.triangle_count() <= target && mesh.triangle_count() > target * 9 / 10);
    let t = topology(&mesh);
    assert!(t.is_watertight(), "{t:?}");
    within(
        mesh.area(),
        4.0 * std::f64::consts::PI * 1600.0,
        0.01,
        "decimated area",
    );
    within(
        mesh.enclosed_volume(),
        4.0 / 3.0 * std::f64::consts::PI * 64000.0,
        0.01,
        "decimated volume",
    );
    // Every vertex still lies on the sphere, and every normal points out.
    let worst = mesh
        .positions
        .iter()
        .map(|p| ((p.as_dvec3() - centre).length() - 40.0).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.25, "a vertex is {worst} mm off the sphere");
    assert!(
        mesh.positions
            .iter()
            .zip(&mesh.normals)
            .all(|(p, n)| (p.as_dvec3() - centre).dot(n.as_dvec3()) > 0.0)
    );
    // Deterministic.
    assert_eq!(
        insitu_mesh::decimate::decimate(&full, target).triangles,
        mesh.triangles
    );
}

#[test]
fn voxels_exactly_at_the_iso_give_no_zero_area_triangle() {
    // Levels 100..500 with the iso at 300: a fifth of the voxels hit it.
    let volume = noise_of(UVec3::new(30, 26, 20), 11, Some(5));
    let mesh = extract_surface(
        &volume,
        MarchingOptions {
            iso: 300.0,
            close_borders: true,
        },
    );
    assert!(mesh.triangle_count() > 10_000);
    for t in 0..mesh.triangle_count() {
        let [a, b, c] = mesh.corners(t).map(|p| p.as_dvec3());
        let area = (b - a).cross(c - a).length() / 2.0;
        assert!(area > 0.0, "triangle {t} has no area: {a} {b} {c}");
        assert!(a != b && b != c && a != c, "triangle {t} repeats a corner");
    }
    assert!(topology(&mesh).is_watertight());
}

#[test]
fn every_decider_outcome_stays_closed_and_oriented() {
    // Many seeds and iso levels: ambiguous faces joined and apart in every
    // combination the noise throws up.
    for seed in 0..12 {
        let volume = noise(UVec3::new(18, 17, 15), 100 + seed);
        for iso in [-400.0, -37.5, 0.0, 250.0, 600.0] {
            let mesh = extract_surface(
                &volume,
                MarchingOptions {
                    iso,
                    close_borders: true,
                },
            );
            let t = topology(&mesh);
            assert!(t.is_watertight(), "seed {seed} iso {iso}: {t:?}");
            assert!(mesh.enclosed_volume() > 0.0, "seed {seed} iso {iso}");
        }
    }
}

#[test]
fn rows_wider_than_one_id_base_stay_closed() {
    // Vertex ids are a base per 16,384 voxels of a row plus a 16-bit
    // offset: a row longer than that must still number them right.
    let volume = noise(UVec3::new(16_500, 3, 3), 9);
    let mesh = extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    );
    let t = topology(&mesh);
    assert!(t.is_watertight(), "{t:?}");
    assert_eq!(
        mesh,
        insitu_mesh::marching::extract_surface_lean(
            &volume,
            MarchingOptions {
                iso: 0.0,
                close_borders: true,
            },
        )
    );
}
