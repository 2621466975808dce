//! Copying GPU results back to the CPU, natively and in the browser.

use crate::GpuError;
#[cfg(target_arch = "wasm32")]
use js_sys::wasm_bindgen::JsCast;

/// Maps `buffer` (MAP_READ) and returns its bytes.
///
/// Natively this blocks in `poll`. In the browser it polls and yields to the
/// event loop until the map completes: WebGPU delivers the callback from the
/// event loop, and WebGL2 only sees its fence signalled after returning to
/// it, so a single poll would wait forever there.
pub(crate) async fn read_buffer(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
) -> Result<Vec<u8>, GpuError> {
    let (sender, receiver) = futures_channel::oneshot::channel();
    buffer.map_async(wgpu::MapMode::Read, .., move |result| {
        let _ = sender.send(result);
    });
    #[cfg(not(target_arch = "wasm32"))]
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    #[cfg(not(target_arch = "wasm32"))]
    let mapped = receiver.await;
    #[cfg(target_arch = "wasm32")]
    let mapped = {
        let mut receiver = receiver;
        loop {
            let _ = device.poll(wgpu::PollType::Poll);
            match receiver.try_recv() {
                Ok(Some(result)) => break Ok(result),
                Ok(None) => next_turn().await,
                Err(cancelled) => break Err(cancelled),
            }
        }
    };
    mapped
        .map_err(|_| GpuError::Readback("map callback dropped".into()))?
        .map_err(|e| GpuError::Readback(e.to_string()))?;
    let bytes = buffer
        .get_mapped_range(..)
        .map_err(|e| GpuError::Readback(e.to_string()))?
        .to_vec();
    buffer.unmap();
    Ok(bytes)
}

/// Resolves once the GPU has finished all the work submitted to `queue`
/// so far: natively by blocking in `poll`, in the browser by polling on
/// later turns of the event loop (as [`read_buffer`]), so the page is never
/// held while it waits.
pub async fn work_done(device: &wgpu::Device, queue: &wgpu::Queue) {
    let (sender, receiver) = futures_channel::oneshot::channel::<()>();
    queue.on_submitted_work_done(move || {
        let _ = sender.send(());
    });
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = device.poll(wgpu::PollType::wait_indefinitely());
        let _ = receiver.await;
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut receiver = receiver;
        loop {
            let _ = device.poll(wgpu::PollType::Poll);
            match receiver.try_recv() {
                Ok(None) => next_turn().await,
                Ok(Some(())) | Err(_) => break,
            }
        }
    }
}

/// Resolves on a later turn of the event loop (page or worker alike).
#[cfg(target_arch = "wasm32")]
async fn next_turn() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global = js_sys::global();
        if let Ok(set_timeout) = js_sys::Reflect::get(&global, &"setTimeout".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
        {
            let _ = set_timeout.call2(&global, &resolve, &1.into());
        } else {
            let _ = resolve.call0(&global);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
