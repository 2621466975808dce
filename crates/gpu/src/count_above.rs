//! Whole-volume threshold count on the GPU (`shaders/count_above.wgsl`).

use wgpu::util::DeviceExt;

use crate::{GpuContext, GpuError, readback::read_buffer, shaders};

const WORKGROUP_SIZE: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    voxel_count: u32,
    iso: i32,
}

/// Counts voxels with value ≥ `iso` on the GPU.
///
/// The i16 voxels are uploaded as they are (two per 32-bit word); a volume
/// larger than the device's storage-binding limit is an error here (chunking
/// arrives with marching cubes).
pub async fn count_at_or_above(
    ctx: &GpuContext,
    voxels: &[i16],
    iso: i16,
) -> Result<u64, GpuError> {
    if !ctx.has_compute() {
        return Err(GpuError::NoCompute(ctx.summary.tier));
    }
    if voxels.is_empty() {
        return Ok(0);
    }
    let voxel_count = u32::try_from(voxels.len())
        .map_err(|_| GpuError::Device("more than 2^32 voxels in one pass".into()))?;
    let device = &ctx.device;
    // Pad to a whole word so odd voxel counts upload cleanly.
    let mut bytes: Vec<u8> = bytemuck::cast_slice(voxels).to_vec();
    bytes.resize(bytes.len().next_multiple_of(4), 0);
    let limit = device.limits().max_storage_buffer_binding_size;
    if bytes.len() as u64 > limit {
        return Err(GpuError::Device(format!(
            "{} bytes exceed the storage binding limit of {limit}",
            bytes.len()
        )));
    }
    let voxel_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("count_above voxels"),
        contents: &bytes,
        usage: wgpu::BufferUsages::STORAGE,
    });
    let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("count_above params"),
        contents: bytemuck::bytes_of(&Params {
            voxel_count,
            iso: i32::from(iso),
        }),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let total = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("count_above total"),
        contents: &[0; 4],
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
    });
    let staging = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("count_above staging"),
        size: 4,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("count_above.wgsl"),
        source: wgpu::ShaderSource::Wgsl(shaders::COUNT_ABOVE.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("count_above"),
        layout: None,
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("count_above"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: voxel_buffer.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: params.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: total.as_entire_binding(),
            },
        ],
    });
    let (x, y) = dispatch_grid(
        voxel_count.div_ceil(WORKGROUP_SIZE),
        device.limits().max_compute_workgroups_per_dimension,
    );
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }
    encoder.copy_buffer_to_buffer(&total, 0, &staging, 0, 4);
    ctx.queue.submit([encoder.finish()]);
    let result = read_buffer(device, &staging).await?;
    Ok(u64::from(u32::from_le_bytes([
        result[0], result[1], result[2], result[3],
    ])))
}

/// Splits `groups` workgroups into an x × y grid within the per-dimension limit.
fn dispatch_grid(groups: u32, per_dimension: u32) -> (u32, u32) {
    let x = groups.min(per_dimension).max(1);
    (x, groups.div_ceil(x))
}

#[cfg(test)]
mod tests {
    use super::dispatch_grid;

    #[test]
    fn dispatch_folds_into_y_beyond_the_limit() {
        assert_eq!(dispatch_grid(10, 65535), (10, 1));
        assert_eq!(dispatch_grid(65536, 65535), (65535, 2));
        assert_eq!(dispatch_grid(200_000, 65535), (65535, 4));
    }
}
