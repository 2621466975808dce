//! The study the worker holds: files (memory only), the scan, the loaded
//! volume and the current surface. Pure Rust, so every request is tested
//! natively; `worker` only moves messages and buffers.

use insitu_mesh::{Mesh, cleanup, decimate::decimate, topology};
use insitu_volume::reslice::{self, Plane, ViewAxis};
use insitu_volume::{MemoryFile, Scan, Volume, Voxels, phantom, read_meta, scan};

use crate::protocol::{
    Reply, SeriesSummary, SkippedFile, SurfaceRequest, SurfaceSummary, ViewRequest, VolumeSummary,
};
use crate::windowing::to_rgba;

/// Everything one open study holds. Dropping it frees it all.
#[derive(Default)]
pub struct Study {
    files: Vec<MemoryFile>,
    scan: Option<Scan>,
    volume: Option<(Volume, VolumeSummary)>,
    mesh: Option<Mesh>,
    /// Counts volume changes, so GPU copies of an older volume are noticed.
    generation: u64,
}

/// Why a request could not be done; becomes [`Reply::Failed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// What was being done.
    pub during: String,
    /// Why.
    pub message: String,
}

impl From<Failure> for Reply {
    fn from(f: Failure) -> Self {
        Reply::Failed {
            during: f.during,
            message: f.message,
        }
    }
}

fn failed(during: &str, message: impl Into<String>) -> Failure {
    Failure {
        during: during.into(),
        message: message.into(),
    }
}

impl Study {
    /// Scans `files`; returns the scan reply and the series to open first.
    pub fn open(&mut self, files: Vec<MemoryFile>) -> (Reply, Option<usize>) {
        let scanned = scan(&files);
        let first = scanned.largest_series();
        self.files = files;
        self.scan = Some(scanned);
        self.volume = None;
        self.generation += 1;
        self.mesh = None;
        let reply = self.scanned().expect("just scanned");
        (reply, first)
    }

    /// What the open folder holds, as first reported.
    pub fn scanned(&self) -> Option<Reply> {
        let scanned = self.scan.as_ref()?;
        Some(Reply::Scanned {
            series: scanned
                .series
                .iter()
                .map(|s| SeriesSummary {
                    index: s.info.index,
                    modality: s.info.modality.clone(),
                    description: s.info.description.clone(),
                    dims: s.info.dims,
                    spacing_mm: s.info.spacing_mm,
                    tilt_degrees: s.info.tilt_degrees,
                    warnings: s.info.warnings.iter().map(ToString::to_string).collect(),
                })
                .collect(),
            skipped: scanned
                .skipped
                .iter()
                .map(|e| SkippedFile {
                    file: e.file.clone(),
                    reason: e.problem.to_string(),
                })
                .collect(),
            files: self.files.len(),
        })
    }

    /// Builds series `index` of the last scan, reporting slices decoded.
    pub fn load_series(&mut self, index: usize, progress: &(dyn Fn(usize, usize) + Sync)) -> Reply {
        let Some(scan) = &self.scan else {
            return failed("loading", "no folder has been opened").into();
        };
        let built = scan.build_with_progress(index, &self.files, progress);
        self.take_loaded(index, built, None)
    }

    /// The scan of the open folder, if any.
    pub fn scan(&self) -> Option<&Scan> {
        self.scan.as_ref()
    }

    /// The open folder's files (memory only).
    pub fn files(&self) -> &[MemoryFile] {
        &self.files
    }

    /// Makes series `index`, built here, by decoder workers or read from
    /// the cache (which knows its value range), the loaded volume (or
    /// reports why it could not be built).
    pub fn take_loaded(
        &mut self,
        index: usize,
        built: Result<insitu_volume::Loaded, insitu_volume::BuildError>,
        known_range: Option<(f32, f32)>,
    ) -> Reply {
        let Some(scan) = &self.scan else {
            return failed("loading", "no folder has been opened").into();
        };
        match built {
            Ok(loaded) => {
                let info = &scan.series[index].info;
                let title = if info.description.is_empty() {
                    format!("{} series {}", info.modality, index + 1)
                } else {
                    info.description.clone()
                };
                let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
                self.set_volume(
                    loaded.volume,
                    Some(index),
                    title,
                    info.modality.clone(),
                    warnings,
                    known_range,
                )
            }
            Err(e) => failed("loading", e.to_string()).into(),
        }
    }

    /// Replaces the study with a volume from the cache (no files, no scan),
    /// whose value range the cache kept.
    pub fn from_cache(&mut self, volume: Volume, modality: &str, value_range: (f32, f32)) -> Reply {
        self.files.clear();
        self.scan = None;
        let d = volume.geometry().dims;
        let title = format!("Cached {modality} {} × {} × {}", d.x, d.y, d.z);
        self.set_volume(
            volume,
            None,
            title,
            modality.into(),
            Vec::new(),
            Some(value_range),
        )
    }

    /// Replaces the study with the synthetic demo spine.
    pub fn demo(&mut self, size: phantom::PhantomSize) -> Reply {
        self.files.clear();
        self.scan = None;
        let volume = phantom::demo_spine(size);
        self.set_volume(
            volume,
            None,
            "Demo spine (synthetic, no patient data)".into(),
            "CT".into(),
            Vec::new(),
            None,
        )
    }

    fn set_volume(
        &mut self,
        volume: Volume,
        series: Option<usize>,
        title: String,
        modality: String,
        warnings: Vec<String>,
        known_range: Option<(f32, f32)>,
    ) -> Reply {
        let g = volume.geometry();
        let (low, high) = reslice::world_bounds(&volume);
        let value_range = known_range.unwrap_or_else(|| value_range(volume.voxels()));
        let summary = VolumeSummary {
            series,
            title,
            modality,
            dims: g.dims.to_array(),
            spacing_mm: g.spacing().to_array(),
            bounds: (low.to_array(), high.to_array()),
            warnings,
            value_range,
            load_ms: 0.0,
            decoders: 0,
            cache: "none".into(),
        };
        self.volume = Some((volume, summary.clone()));
        self.generation += 1;
        self.mesh = None;
        Reply::Loaded(summary)
    }

    /// Changes whenever the loaded volume does (load, demo, close).
    pub fn volume_generation(&self) -> u64 {
        self.generation
    }

    /// The loaded volume, if any.
    pub fn volume(&self) -> Option<&Volume> {
        self.volume.as_ref().map(|(v, _)| v)
    }

    /// The volume reduced to at most `max_dim` voxels per axis (block
    /// maxima, so thin bone survives) as bytes for a 3D texture, with its
    /// grid: (dims, voxel→world column-major, bytes).
    pub fn volume_texture(&self, max_dim: u32) -> Option<([u32; 3], [f64; 16], Vec<u8>)> {
        let volume = self.volume()?;
        let g = volume.geometry();
        let d = g.dims;
        let stride = glam::UVec3::new(
            d.x.div_ceil(max_dim),
            d.y.div_ceil(max_dim),
            d.z.div_ceil(max_dim),
        );
        let out = glam::UVec3::new(
            d.x.div_ceil(stride.x),
            d.y.div_ceil(stride.y),
            d.z.div_ceil(stride.z),
        );
        let bytes = match volume.voxels() {
            Voxels::I16(v) => block_maxima(v, d, stride, out),
            Voxels::F32(v) => block_maxima(v, d, stride, out),
        };
        // Reduced voxel i' covers original voxels s·i' .. s·i' + s − 1.
        let s = stride.as_dvec3();
        let to_original =
            glam::DMat4::from_translation((s - 1.0) / 2.0) * glam::DMat4::from_scale(s);
        let matrix = g.voxel_to_world() * to_original;
        Some((out.to_array(), matrix.to_cols_array(), bytes))
    }

    /// RGBA pixels for each requested view.
    pub fn render(&self, views: &[ViewRequest]) -> Result<Vec<Vec<u8>>, Failure> {
        let volume = self
            .volume()
            .ok_or_else(|| failed("drawing", "no volume is loaded"))?;
        Ok(views
            .iter()
            .map(|view| {
                let plane: Plane = view.plane.into();
                let mut values = vec![0.0f32; plane.width as usize * plane.height as usize];
                reslice::sample(volume, &plane, &mut values);
                let mut rgba = vec![0u8; values.len() * 4];
                to_rgba(&values, view.window, view.level, &mut rgba);
                rgba
            })
            .collect())
    }

    /// HU under the cursor.
    pub fn probe(&self, axis: ViewAxis, world: [f64; 3]) -> Reply {
        let value = self
            .volume()
            .and_then(|v| reslice::value_at_world(v, world.into()));
        Reply::Probed { axis, world, value }
    }

    /// Cleans up a freshly extracted mesh as asked, keeps it, and describes it.
    pub fn finish_surface(
        &mut self,
        mut mesh: Mesh,
        request: SurfaceRequest,
        engine: String,
        extract_ms: f64,
    ) -> SurfaceSummary {
        if request.largest {
            mesh = cleanup::keep_largest_component(&mesh);
        }
        if let Some(min) = request.min_island {
            mesh = cleanup::remove_islands(&mesh, min);
        }
        cleanup::taubin_smooth(&mut mesh, request.smooth);
        if let Some(target) = request.decimate {
            mesh = decimate(&mesh, target);
        }
        let watertight = topology(&mesh).is_watertight();
        self.keep_surface(mesh, request, engine, extract_ms, watertight)
    }

    /// Keeps a finished surface (cleaned up as `request` asked, or read
    /// back from the cache, which knows whether it is watertight) and
    /// describes it.
    pub fn keep_surface(
        &mut self,
        mesh: Mesh,
        request: SurfaceRequest,
        engine: String,
        extract_ms: f64,
        watertight: bool,
    ) -> SurfaceSummary {
        let (mut low, mut high) = ([f32::MAX; 3], [f32::MIN; 3]);
        for p in &mesh.positions {
            for a in 0..3 {
                low[a] = low[a].min(p[a]);
                high[a] = high[a].max(p[a]);
            }
        }
        let summary = SurfaceSummary {
            triangles: mesh.triangle_count(),
            vertices: mesh.positions.len(),
            watertight,
            engine,
            extract_ms,
            cleanup_ms: 0.0,
            request,
            bounds: (low, high),
        };
        self.mesh = Some(mesh);
        summary
    }

    /// The current surface, if any.
    pub fn mesh(&self) -> Option<&Mesh> {
        self.mesh.as_ref()
    }

    /// The surface as file bytes: (name, MIME type, bytes).
    pub fn export(&self, format: &str) -> Result<(String, String, Vec<u8>), Failure> {
        let mesh = self
            .mesh
            .as_ref()
            .ok_or_else(|| failed("exporting", "make a surface first"))?;
        let mut bytes = Vec::new();
        let written = match format {
            "stl" => insitu_mesh::stl::write_binary(mesh, &mut bytes),
            "obj" => insitu_mesh::obj::write(mesh, &mut bytes),
            "ply" => insitu_mesh::ply::write(mesh, &mut bytes),
            other => return Err(failed("exporting", format!("unknown format {other}"))),
        };
        written.map_err(|e| failed("exporting", e.to_string()))?;
        let mime = match format {
            "stl" => "model/stl",
            "obj" => "model/obj",
            _ => "application/octet-stream",
        };
        Ok((format!("insitu-surface.{format}"), mime.into(), bytes))
    }

    /// Header elements of the first file of `series` (memory only).
    pub fn tags(&self, series: usize) -> Reply {
        let Some(file) = self.scan.as_ref().and_then(|s| s.first_file_of(series)) else {
            return failed("reading tags", "no such series").into();
        };
        match read_meta(&self.files[file].bytes) {
            Ok(meta) => Reply::Tags {
                series,
                entries: meta
                    .entries
                    .into_iter()
                    .map(|e| (e.tag, e.keyword, e.vr, e.value, e.depth))
                    .collect(),
            },
            Err(e) => failed("reading tags", format!("{}: {e}", self.files[file].name)).into(),
        }
    }
}

/// Lowest and highest voxel value (i16 compared as integers: a cheaper
/// pass than through f32).
fn value_range(voxels: &Voxels) -> (f32, f32) {
    match voxels {
        Voxels::I16(v) => {
            let (low, high) = v
                .iter()
                .fold((i16::MAX, i16::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            (low.into(), high.into())
        }
        Voxels::F32(v) => v
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x))),
    }
}

/// Maximum of each `stride` block of a `dims` grid, as texture bytes.
fn block_maxima<T: Copy + Into<f32>>(
    data: &[T],
    dims: glam::UVec3,
    stride: glam::UVec3,
    out: glam::UVec3,
) -> Vec<u8> {
    let mut bytes = vec![0u8; (out.x * out.y * out.z) as usize];
    let (nx, ny) = (dims.x as usize, dims.y as usize);
    for k in 0..out.z {
        for j in 0..out.y {
            for i in 0..out.x {
                let mut max = f32::MIN;
                for kk in k * stride.z..((k + 1) * stride.z).min(dims.z) {
                    for jj in j * stride.y..((j + 1) * stride.y).min(dims.y) {
                        let row = (kk as usize * ny + jj as usize) * nx;
                        for ii in i * stride.x..((i + 1) * stride.x).min(dims.x) {
                            max = max.max(data[row + ii as usize].into());
                        }
                    }
                }
                bytes[((k * out.y + j) * out.x + i) as usize] = insitu_gpu::hu_to_byte(max);
            }
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PlaneMsg;
    use insitu_mesh::{SurfaceOptions, extract_surface};

    const SMALL: phantom::PhantomSize = phantom::PhantomSize {
        matrix: 96,
        slices: 60,
        pixel_mm: 3.6,
        slice_mm: 3.3,
    };

    #[test]
    fn demo_renders_surfaces_and_exports_a_matching_stl() {
        let mut study = Study::default();
        let Reply::Loaded(summary) = study.demo(SMALL) else {
            panic!("demo did not load")
        };
        assert_eq!(summary.dims, [96, 96, 60]);
        let volume = study.volume().unwrap();
        let plane = Plane::fit(
            volume,
            ViewAxis::Axial,
            volume
                .geometry()
                .world_of(glam::DVec3::new(48.0, 48.0, 30.0)),
            (64, 64),
            1.0,
            (0.0, 0.0),
        );
        let views = [ViewRequest {
            axis: ViewAxis::Axial,
            plane: PlaneMsg::from(plane),
            window: 400.0,
            level: 40.0,
        }];
        let rgba = study.render(&views).unwrap();
        assert_eq!(rgba[0].len(), 64 * 64 * 4);
        assert!(
            rgba[0].chunks(4).any(|p| p[0] > 200),
            "bone or tissue is visible"
        );
        let request = SurfaceRequest {
            iso: 300.0,
            largest: true,
            min_island: Some(100),
            smooth: 0,
            decimate: None,
            engine: crate::protocol::Engine::Cpu,
        };
        let mesh = extract_surface(
            volume,
            SurfaceOptions {
                iso: 300.0,
                close_borders: true,
            },
        );
        let summary = study.finish_surface(mesh, request, "CPU".into(), 1.0);
        assert!(summary.triangles > 0 && summary.watertight);
        let (dims, _, texture) = study.volume_texture(32).unwrap();
        assert_eq!(dims, [32, 32, 30]);
        assert_eq!(texture.len(), 32 * 32 * 30);
        assert!(
            texture.iter().any(|&b| b >= insitu_gpu::hu_to_byte(900.0)),
            "bone kept by block maxima"
        );
        let (name, _, bytes) = study.export("stl").unwrap();
        assert_eq!(name, "insitu-surface.stl");
        let count = u32::from_le_bytes(bytes[80..84].try_into().unwrap()) as usize;
        assert_eq!(count, summary.triangles);
        assert_eq!(bytes.len(), 84 + 50 * count);
    }

    #[test]
    fn requests_without_a_study_fail_with_a_reason() {
        let study = Study::default();
        assert_eq!(study.export("stl").unwrap_err().during, "exporting");
        assert_eq!(study.render(&[]).unwrap_err().during, "drawing");
        assert!(matches!(study.tags(0), Reply::Failed { .. }));
    }
}
