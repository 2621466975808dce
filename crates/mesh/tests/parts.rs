//! Multi-part models read back by independent implementations (trimesh,
//! lib3mf) through `tests/reference/parts_check.py`: every part there, with
//! its name, colour and triangle count, and watertight.
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

use glam::{DVec3, UVec3};
use insitu_mesh::{MarchingOptions, Mesh, Part, PartsFormat, extract_surface};
use insitu_volume::{Geometry, Volume, Voxels};

/// A ball of `radius` voxels at `centre` (1 mm voxels), as a closed surface.
fn ball(centre: DVec3, radius: f64) -> Mesh {
    let g = Geometry::axis_aligned(UVec3::splat(40), DVec3::ONE, DVec3::ZERO).unwrap();
    let mut v = Vec::new();
    for k in 0..40 {
        for j in 0..40 {
            for i in 0..40 {
                let d = (DVec3::new(f64::from(i), f64::from(j), f64::from(k)) - centre).length();
                v.push((radius - d) as f32);
            }
        }
    }
    let volume = Volume::new(g, Voxels::F32(v)).unwrap();
    extract_surface(
        &volume,
        MarchingOptions {
            iso: 0.0,
            close_borders: true,
        },
    )
}

fn check(format: PartsFormat, parts: &[Part<'_>]) -> serde_json::Value {
    let python = std::env::var("INSITU_PYTHON")
        .expect("INSITU_PYTHON unset: run through `cargo xtask test`");
    let path = std::env::temp_dir().join(format!(
        "insitu-parts-{}.{}",
        std::process::id(),
        format.extension()
    ));
    std::fs::write(&path, format.to_bytes(parts).unwrap()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/reference/parts_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report}"))
}

#[test]
fn three_mf_glb_and_ply_read_back_with_their_parts() {
    let (a, b) = (
        ball(DVec3::new(12.0, 20.0, 20.0), 7.0),
        ball(DVec3::new(28.0, 20.0, 20.0), 5.0),
    );
    let parts = [
        Part {
            name: "L4",
            color: [220, 120, 40],
            mesh: &a,
        },
        Part {
            name: "L5",
            color: [60, 150, 80],
            mesh: &b,
        },
    ];
    for format in [
        PartsFormat::ThreeMf,
        PartsFormat::Glb,
        PartsFormat::ColoredPly,
    ] {
        let report = check(format, &parts);
        let found = report["parts"].as_array().unwrap();
        assert_eq!(found.len(), 2, "{format:?}: {report}");
        let mut triangles: Vec<u64> = found
            .iter()
            .map(|p| p["triangles"].as_u64().unwrap())
            .collect();
        triangles.sort_unstable();
        let mut expected = vec![a.triangle_count() as u64, b.triangle_count() as u64];
        expected.sort_unstable();
        assert_eq!(triangles, expected, "{format:?}: {report}");
        for part in found {
            assert_eq!(part["watertight"], true, "{format:?}: {report}");
            let color: Vec<u64> = part["color"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_u64().unwrap())
                .collect();
            // GLB colours pass through linear bytes: a few units of rounding.
            let near = |want: [u64; 3]| (0..3).all(|c| color[c].abs_diff(want[c]) <= 4);
            assert!(
                near([220, 120, 40]) || near([60, 150, 80]),
                "{format:?}: {report}"
            );
        }
        if format != PartsFormat::ColoredPly {
            let names: Vec<&str> = found.iter().filter_map(|p| p["name"].as_str()).collect();
            assert!(
                names.contains(&"L4") && names.contains(&"L5"),
                "{format:?}: {report}"
            );
        }
    }
}
