//! The surface pipeline's one definition, shared by the CLI, the web worker
//! and the cache: what a user asks for ([`SurfaceOptions`]) and the clean-up
//! chain that turns a marching-cubes mesh into the part they print
//! ([`clean_up`]). Where marching cubes runs ([`Engine`]) is a preference
//! here; `insitu-gpu` decides it.

use serde::{Deserialize, Serialize};

use crate::marching::MarchingOptions;
use crate::{Mesh, cleanup, decimate, topology};

/// Where the user wants marching cubes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The GPU when it is a hardware adapter that runs compute passes,
    /// else the CPU (a software GPU is far slower than the CPU path).
    #[default]
    Auto,
    /// The GPU whatever the adapter.
    Gpu,
    /// The CPU.
    Cpu,
}

/// A surface as the user asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurfaceOptions {
    /// Iso level (HU); voxels at or above it are inside.
    pub iso: f32,
    /// Keep only the largest connected piece.
    pub largest: bool,
    /// Drop pieces with fewer triangles than this.
    pub min_island: Option<usize>,
    /// Taubin smoothing iterations (0: none).
    pub smooth: u32,
    /// Triangle budget (quadric decimation), if any.
    pub decimate: Option<usize>,
    /// Where marching cubes should run.
    pub engine: Engine,
}

impl SurfaceOptions {
    /// Bone at `iso` HU with no clean-up, wherever is fastest.
    pub fn at_iso(iso: f32) -> Self {
        Self {
            iso,
            largest: false,
            min_island: None,
            smooth: 0,
            decimate: None,
            engine: Engine::Auto,
        }
    }

    /// What marching cubes needs: the iso, and closed borders so a part
    /// cut by the volume's edge still prints watertight.
    pub fn marching(&self) -> MarchingOptions {
        MarchingOptions {
            iso: self.iso,
            close_borders: true,
        }
    }

    /// What identifies the surface these options make, for the cache. The
    /// engine is not part of it: GPU and CPU give the same mesh.
    pub fn identity(&self) -> String {
        format!(
            "iso={}|largest={}|islands={:?}|smooth={}|decimate={:?}",
            self.iso, self.largest, self.min_island, self.smooth, self.decimate
        )
    }
}

/// The clean-up chain, always in this order: largest piece, small islands,
/// smoothing (Taubin, non-shrinking), decimation (which keeps a closed part
/// closed). Each step is skipped when not asked for.
pub fn clean_up(mut mesh: Mesh, options: &SurfaceOptions) -> Mesh {
    if options.largest {
        mesh = cleanup::keep_largest_component(&mesh);
    }
    if let Some(min) = options.min_island {
        mesh = cleanup::remove_islands(&mesh, min);
    }
    cleanup::taubin_smooth(&mut mesh, options.smooth as usize);
    if let Some(target) = options.decimate {
        mesh = decimate::decimate(&mesh, target);
    }
    mesh
}

/// What is worth telling a user about a finished surface.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurfaceFacts {
    /// Triangles.
    pub triangles: usize,
    /// Vertices.
    pub vertices: usize,
    /// A closed, consistently oriented 2-manifold (printable as it is);
    /// `None` until checked (the app shows a surface first and checks it
    /// after: on a whole-body surface the check takes seconds).
    pub watertight: Option<bool>,
    /// Axis-aligned bounds (low, high) in mm; zero for an empty mesh.
    pub bounds: ([f32; 3], [f32; 3]),
}

impl SurfaceFacts {
    /// Facts of `mesh`, with watertightness known already (a cached mesh's
    /// record holds it) or measured.
    pub fn of(mesh: &Mesh, watertight: Option<bool>) -> Self {
        let facts = Self::unchecked(mesh);
        Self {
            watertight: Some(watertight.unwrap_or_else(|| topology(mesh).is_watertight())),
            ..facts
        }
    }

    /// Facts of `mesh` that cost no pass over its triangles; watertightness
    /// left unknown.
    pub fn unchecked(mesh: &Mesh) -> Self {
        let (low, high) = mesh.bounds().unwrap_or_default();
        Self {
            triangles: mesh.triangle_count(),
            vertices: mesh.positions.len(),
            watertight: None,
            bounds: (low.to_array(), high.to_array()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marching::extract_surface;
    use insitu_volume::phantom::{PhantomSize, demo_spine};

    const SMALL: PhantomSize = PhantomSize {
        matrix: 96,
        slices: 60,
        pixel_mm: 3.6,
        slice_mm: 3.3,
    };

    #[test]
    fn the_chain_keeps_one_watertight_piece_within_budget() {
        let volume = demo_spine(SMALL);
        let options = SurfaceOptions {
            largest: true,
            min_island: Some(50),
            smooth: 3,
            decimate: Some(2000),
            ..SurfaceOptions::at_iso(300.0)
        };
        let raw = extract_surface(&volume, options.marching());
        let cleaned = clean_up(raw.clone(), &options);
        let facts = SurfaceFacts::of(&cleaned, None);
        assert_eq!(facts.watertight, Some(true));
        assert!(facts.triangles <= 2000, "{} triangles", facts.triangles);
        assert!(facts.triangles < raw.triangle_count());
        // Largest piece: one component.
        assert_eq!(
            crate::cleanup::keep_largest_component(&cleaned).triangle_count(),
            cleaned.triangle_count()
        );
        // Nothing asked: nothing changed.
        let untouched = clean_up(raw.clone(), &SurfaceOptions::at_iso(300.0));
        assert_eq!(untouched, raw);
    }

    #[test]
    fn the_identity_ignores_the_engine_only() {
        let auto = SurfaceOptions::at_iso(300.0);
        let gpu = SurfaceOptions {
            engine: Engine::Gpu,
            ..auto
        };
        assert_eq!(auto.identity(), gpu.identity());
        for changed in [
            SurfaceOptions { iso: 301.0, ..auto },
            SurfaceOptions {
                largest: true,
                ..auto
            },
            SurfaceOptions {
                min_island: Some(1),
                ..auto
            },
            SurfaceOptions { smooth: 1, ..auto },
            SurfaceOptions {
                decimate: Some(10),
                ..auto
            },
        ] {
            assert_ne!(auto.identity(), changed.identity());
        }
    }
}
