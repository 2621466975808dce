//! Marching cubes on the GPU: count → scan → generate, in z slabs sized to
//! the adapter's real limits, producing exactly the CPU extractor's mesh
//! (same case table, same canonical vertex and triangle order).

use std::time::Duration;

use insitu_mesh::marching::cases::case_table;
use insitu_mesh::marching::world_transform;
use insitu_mesh::{MarchingOptions, Mesh};
use insitu_volume::{Volume, Voxels};
use wgpu::util::DeviceExt;

use crate::readback::read_buffer;
use crate::{GpuContext, GpuError, shaders};

const COUNT_WORKGROUP: u32 = 64;
const SCAN_BLOCK: u32 = 512;

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct McParams {
    grid: [u32; 3],
    pad: u32,
    dims: [u32; 3],
    format: u32,
    z0: u32,
    z1: u32,
    layers: u32,
    real_z_start: u32,
    elem_offset: u32,
    vertex_base: u32,
    groups_x: u32,
    iso: f32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ScanParams {
    count: u32,
    groups_x: u32,
    _pad: [u32; 2],
}

/// How the extraction went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuSurfaceStats {
    /// Z slabs processed.
    pub slabs: u32,
    /// Wall time of GPU work and readback.
    pub gpu_time: Duration,
    /// Where that time went (summed over slabs), to see what a real GPU
    /// waits on.
    pub phases: GpuPhases,
}

/// Wall time of each phase of a GPU extraction (zero in the browser,
/// which has no monotonic clock here).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuPhases {
    /// The slab's voxels copied into an upload buffer (CPU).
    pub voxels_copied: Duration,
    /// Upload, per-voxel counts and their prefix sums, up to the totals
    /// read back.
    pub counted: Duration,
    /// Vertices and triangles written and read back.
    pub emitted: Duration,
    /// Vertices put in patient space with their normals (CPU).
    pub placed: Duration,
}

/// Compiled marching-cubes pipelines for one device.
pub struct GpuMarchingCubes {
    count: wgpu::ComputePipeline,
    vertices: wgpu::ComputePipeline,
    triangles: wgpu::ComputePipeline,
    scan_blocks: wgpu::ComputePipeline,
    add_offsets: wgpu::ComputePipeline,
    cases: wgpu::Buffer,
}

fn pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

/// Splits `groups` workgroups into an x × y grid within the per-dimension limit.
fn grid(groups: u32, limit: u32) -> (u32, u32) {
    let x = groups.clamp(1, limit);
    (x, groups.div_ceil(x).max(1))
}

fn storage(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_SRC
            | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn staging(device: &wgpu::Device, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("mc staging"),
        size: size.max(4).next_multiple_of(4),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

fn bind(
    device: &wgpu::Device,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .map(|(binding, buffer)| wgpu::BindGroupEntry {
            binding: *binding,
            resource: buffer.as_entire_binding(),
        })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

impl GpuMarchingCubes {
    /// Compiles the passes; fails on a device without compute shaders.
    pub fn new(ctx: &GpuContext) -> Result<Self, GpuError> {
        if !ctx.has_compute() {
            return Err(GpuError::NoCompute(ctx.summary.tier));
        }
        let device = &ctx.device;
        // The ambiguous-face masks, then the rows (`mc_common.wgsl`).
        let mut table = case_table().ambiguous_words();
        table.extend(case_table().words());
        Ok(Self {
            count: pipeline(device, "mc_count.wgsl", &shaders::mc_count(), "main"),
            vertices: pipeline(device, "mc_vertices.wgsl", &shaders::mc_vertices(), "main"),
            triangles: pipeline(
                device,
                "mc_triangles.wgsl",
                &shaders::mc_triangles(),
                "main",
            ),
            scan_blocks: pipeline(device, "scan.wgsl", shaders::SCAN, "scan_blocks"),
            add_offsets: pipeline(device, "scan.wgsl", shaders::SCAN, "add_block_offsets"),
            cases: device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("mc cases"),
                contents: bytemuck::cast_slice(&table),
                usage: wgpu::BufferUsages::STORAGE,
            }),
        })
    }

    /// Exclusive scan of `count` u32 in `data`, recursively; returns the
    /// buffer whose element 0 holds the grand total.
    fn encode_scan(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        data: &wgpu::Buffer,
        count: u32,
    ) -> wgpu::Buffer {
        let device = &ctx.device;
        let blocks = count.div_ceil(SCAN_BLOCK).max(1);
        let sums = storage(device, "scan sums", u64::from(blocks) * 4);
        let (gx, gy) = grid(blocks, device.limits().max_compute_workgroups_per_dimension);
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("scan params"),
            contents: bytemuck::bytes_of(&ScanParams {
                count,
                groups_x: gx,
                _pad: [0; 2],
            }),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let group = bind(
            device,
            &self.scan_blocks,
            &[(0, &params), (1, data), (2, &sums)],
        );
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.scan_blocks);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        if blocks == 1 {
            return sums;
        }
        let total = self.encode_scan(ctx, encoder, &sums, blocks);
        let group = bind(
            device,
            &self.add_offsets,
            &[(0, &params), (1, data), (2, &sums)],
        );
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.add_offsets);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        total
    }

    /// Extracts the iso-surface on the GPU. `max_slab_layers` forces smaller
    /// slabs (tests); by default slabs are as large as the limits allow.
    pub async fn extract(
        &self,
        ctx: &GpuContext,
        volume: &Volume,
        options: MarchingOptions,
        max_slab_layers: Option<u32>,
    ) -> Result<(Mesh, GpuSurfaceStats), GpuError> {
        let device = &ctx.device;
        let limits = device.limits();
        let d = volume.geometry().dims;
        let pad = u32::from(options.close_borders);
        let g = [d.x + 2 * pad, d.y + 2 * pad, d.z + 2 * pad];
        let plane = u64::from(g[0]) * u64::from(g[1]);
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        // Count arrays (u32 per voxel) and the voxel slice must fit a binding.
        let by_limit = (binding_limit / (plane * 4)).saturating_sub(3).max(1) as u32;
        let mut slab_layers = max_slab_layers.unwrap_or(u32::MAX).min(by_limit).max(1);
        let world = world_transform(volume);
        let started = web_time_now();
        let mut mesh = Mesh::default();
        let mut stats = GpuSurfaceStats::default();
        let mut z0 = 0;
        while z0 < g[2] {
            let z1 = (z0 + slab_layers).min(g[2]);
            match self
                .slab(
                    ctx,
                    volume,
                    options,
                    g,
                    pad,
                    z0,
                    z1,
                    mesh.positions.len() as u32,
                    binding_limit,
                    &mut stats.phases,
                )
                .await?
            {
                Some((vertices, triangles)) => {
                    let placing = web_time_now();
                    for v in vertices.chunks_exact(6) {
                        let ijk = glam::DVec3::new(v[0].into(), v[1].into(), v[2].into());
                        let gradient = glam::DVec3::new(v[3].into(), v[4].into(), v[5].into());
                        mesh.positions.push(world.position(ijk).as_vec3());
                        mesh.normals
                            .push((-world.normal(gradient)).normalize_or_zero().as_vec3());
                    }
                    mesh.triangles
                        .extend(triangles.chunks_exact(3).map(|t| [t[0], t[1], t[2]]));
                    stats.phases.placed += web_time_now().saturating_sub(placing);
                    stats.slabs += 1;
                    z0 = z1;
                }
                // Output too large for one binding: halve the slab and retry.
                None if slab_layers > 1 => slab_layers /= 2,
                None => {
                    return Err(GpuError::Device(
                        "one layer's surface exceeds the storage binding limit".into(),
                    ));
                }
            }
        }
        stats.gpu_time = web_time_now().saturating_sub(started);
        Ok((mesh, stats))
    }

    #[allow(clippy::too_many_arguments)]
    async fn slab(
        &self,
        ctx: &GpuContext,
        volume: &Volume,
        options: MarchingOptions,
        g: [u32; 3],
        pad: u32,
        z0: u32,
        z1: u32,
        vertex_base: u32,
        binding_limit: u64,
        phases: &mut GpuPhases,
    ) -> Result<Option<(Vec<f32>, Vec<u32>)>, GpuError> {
        let mut lap = web_time_now();
        let mut next_lap = |phase: &mut Duration| {
            let now = web_time_now();
            *phase += now.saturating_sub(lap);
            lap = now;
        };
        let device = &ctx.device;
        let d = volume.geometry().dims;
        let plane = g[0] * g[1];
        let layers = if z1 < g[2] { z1 - z0 + 1 } else { z1 - z0 };
        let invocations = plane * layers;
        // Real layers needed: virtual [z0 - 1, z1 + 1].
        let real_lo = (i64::from(z0) - 1 - i64::from(pad)).clamp(0, i64::from(d.z) - 1) as u32;
        let real_hi = (i64::from(z1) + 1 - i64::from(pad)).clamp(0, i64::from(d.z) - 1) as u32;
        let real_plane = (d.x * d.y) as usize;
        let (voxel_bytes, format, elem_offset): (Vec<u8>, u32, u32) = match volume.voxels() {
            Voxels::I16(v) => {
                let start = real_lo as usize * real_plane;
                let aligned = start & !1;
                let end = (real_hi as usize + 1) * real_plane;
                let mut bytes = bytemuck::cast_slice::<i16, u8>(&v[aligned..end]).to_vec();
                bytes.resize(bytes.len().next_multiple_of(4), 0);
                (bytes, 0, (start - aligned) as u32)
            }
            Voxels::F32(v) => {
                let range = real_lo as usize * real_plane..(real_hi as usize + 1) * real_plane;
                (bytemuck::cast_slice::<f32, u8>(&v[range]).to_vec(), 1, 0)
            }
        };
        next_lap(&mut phases.voxels_copied);
        let (gx, gy) = grid(
            invocations.div_ceil(COUNT_WORKGROUP),
            device.limits().max_compute_workgroups_per_dimension,
        );
        let params = McParams {
            grid: g,
            pad,
            dims: d.to_array(),
            format,
            z0,
            z1,
            layers,
            real_z_start: real_lo,
            elem_offset,
            vertex_base,
            groups_x: gx,
            iso: options.iso,
        };
        let params_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mc params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let voxels = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("mc voxels"),
            contents: &voxel_bytes,
            usage: wgpu::BufferUsages::STORAGE,
        });
        let vertex_counts = storage(device, "mc vertex counts", u64::from(invocations) * 4);
        let triangle_counts = storage(device, "mc triangle counts", u64::from(invocations) * 4);
        let mut encoder = device.create_command_encoder(&Default::default());
        {
            let group = bind(
                device,
                &self.count,
                &[
                    (0, &params_buffer),
                    (1, &voxels),
                    (2, &self.cases),
                    (3, &vertex_counts),
                    (4, &triangle_counts),
                ],
            );
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.count);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        let vertex_total = self.encode_scan(ctx, &mut encoder, &vertex_counts, invocations);
        let triangle_total = self.encode_scan(ctx, &mut encoder, &triangle_counts, invocations);
        let totals = staging(device, 12);
        // Owned vertices end where the extra (next slab's) layer begins.
        if layers > z1 - z0 {
            encoder.copy_buffer_to_buffer(
                &vertex_counts,
                u64::from(plane * (z1 - z0)) * 4,
                &totals,
                0,
                4,
            );
        } else {
            encoder.copy_buffer_to_buffer(&vertex_total, 0, &totals, 0, 4);
        }
        encoder.copy_buffer_to_buffer(&triangle_total, 0, &totals, 4, 4);
        ctx.queue.submit([encoder.finish()]);
        let bytes = read_buffer(device, &totals).await?;
        let word =
            |i: usize| u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let (owned_vertices, triangle_count) = (word(0), word(1));
        next_lap(&mut phases.counted);
        let vertex_bytes = u64::from(owned_vertices) * 24;
        let triangle_bytes = u64::from(triangle_count) * 12;
        if vertex_bytes > binding_limit || triangle_bytes > binding_limit {
            return Ok(None);
        }
        let vertices = storage(device, "mc vertices", vertex_bytes);
        let triangles = storage(device, "mc triangles", triangle_bytes);
        let mut encoder = device.create_command_encoder(&Default::default());
        for (pipeline, buffers) in [
            (
                &self.vertices,
                vec![
                    (0, &params_buffer),
                    (1, &voxels),
                    (3, &vertex_counts),
                    (5, &vertices),
                ],
            ),
            (
                &self.triangles,
                vec![
                    (0, &params_buffer),
                    (1, &voxels),
                    (2, &self.cases),
                    (3, &vertex_counts),
                    (4, &triangle_counts),
                    (6, &triangles),
                ],
            ),
        ] {
            let group = bind(device, pipeline, &buffers);
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(gx, gy, 1);
        }
        let vertex_staging = staging(device, vertex_bytes);
        let triangle_staging = staging(device, triangle_bytes);
        encoder.copy_buffer_to_buffer(
            &vertices,
            0,
            &vertex_staging,
            0,
            vertex_bytes.max(4).next_multiple_of(4),
        );
        encoder.copy_buffer_to_buffer(
            &triangles,
            0,
            &triangle_staging,
            0,
            triangle_bytes.max(4).next_multiple_of(4),
        );
        ctx.queue.submit([encoder.finish()]);
        let vertex_data = read_buffer(device, &vertex_staging).await?;
        let triangle_data = read_buffer(device, &triangle_staging).await?;
        let vertices: Vec<f32> =
            bytemuck::cast_slice(&vertex_data[..vertex_bytes as usize]).to_vec();
        let triangles: Vec<u32> =
            bytemuck::cast_slice(&triangle_data[..triangle_bytes as usize]).to_vec();
        next_lap(&mut phases.emitted);
        Ok(Some((vertices, triangles)))
    }
}

/// Monotonic time usable natively and in the browser.
fn web_time_now() -> Duration {
    #[cfg(not(target_arch = "wasm32"))]
    {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed()
    }
    #[cfg(target_arch = "wasm32")]
    {
        Duration::ZERO
    }
}
