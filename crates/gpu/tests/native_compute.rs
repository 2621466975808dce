//! Runs a real compute shader from `shaders/` on whatever adapter this machine
//! has (Mesa lavapipe in CI) and checks the result against the CPU.
//!
//! There is deliberately no skip path: without an adapter these tests fail,
//! because a green run that never touched a GPU API would prove nothing.
#![cfg(not(target_arch = "wasm32"))]

use insitu_gpu::{GpuContext, Tier, count_at_or_above};

fn context() -> GpuContext {
    pollster::block_on(GpuContext::headless()).unwrap_or_else(|e| {
        panic!("{e}: install a Vulkan driver (Debian: mesa-vulkan-drivers libvulkan1)")
    })
}

/// Deterministic pseudo-random HU-like values covering the whole i16 range.
fn noise(len: usize, seed: u64) -> Vec<i16> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 48) as u16 as i16
        })
        .collect()
}

#[test]
fn adapter_supports_compute() {
    let ctx = context();
    eprintln!("adapter: {}", ctx.summary);
    assert_eq!(ctx.summary.tier, Tier::Compute);
}

#[test]
fn count_above_matches_cpu_on_noise() {
    let ctx = context();
    // An odd count exercises the half-filled last word; over 2^16 workgroups'
    // worth would need y-folding, covered by the unit test of the grid.
    let voxels = noise(3_000_001, 42);
    for iso in [i16::MIN, -1000, -1, 0, 300, 3000, i16::MAX] {
        let expected = voxels.iter().filter(|&&v| v >= iso).count() as u64;
        let got = pollster::block_on(count_at_or_above(&ctx, &voxels, iso)).unwrap();
        assert_eq!(got, expected, "iso {iso}");
    }
}

#[test]
fn count_above_handles_tiny_and_empty_inputs() {
    let ctx = context();
    assert_eq!(
        pollster::block_on(count_at_or_above(&ctx, &[], 0)).unwrap(),
        0
    );
    assert_eq!(
        pollster::block_on(count_at_or_above(&ctx, &[-5], -5)).unwrap(),
        1
    );
    assert_eq!(
        pollster::block_on(count_at_or_above(&ctx, &[-5, 7, 300], 8)).unwrap(),
        1
    );
}
