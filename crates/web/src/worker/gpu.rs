//! The worker's GPU: the device (WebGPU, else WebGL2 on an offscreen
//! canvas), the marching-cubes pipelines and the slice renderer, each made
//! once on first use and kept for the worker's life; the volume's texture
//! is uploaded once per volume, when the worker is idle after its first views
//! (drawn on the CPU meanwhile). Failures are kept too, as values, so the
//! reason is shown rather than retried on every redraw.

use std::cell::RefCell;
use std::rc::Rc;

use insitu_gpu::{GpuContext, GpuError, GpuMarchingCubes, SliceRenderer, SliceVolume};

/// A GPU resource made on first use; the error says why it could not be.
pub type Built<T> = Rc<Result<T, GpuError>>;

/// GPU state of the study worker.
#[derive(Default)]
pub struct Gpu {
    device: RefCell<Option<Result<Rc<GpuContext>, GpuError>>>,
    /// While the device is being made: resolves when it is (a second
    /// caller waits for it rather than making another).
    making: RefCell<Option<js_sys::Promise>>,
    marching: RefCell<Option<Built<GpuMarchingCubes>>>,
    slices: SliceRenderer,
    /// The loaded volume's texture, tagged with the study's volume
    /// generation it was uploaded from.
    uploaded: RefCell<Option<(u64, Built<SliceVolume>)>>,
}

impl Gpu {
    /// The device: WebGPU when the browser has it, else WebGL2 on an
    /// offscreen canvas (render-only).
    pub async fn device(&self) -> Result<Rc<GpuContext>, GpuError> {
        loop {
            if let Some(device) = self.device.borrow().clone() {
                return device;
            }
            let Some(being_made) = self.making.borrow().clone() else {
                break;
            };
            let _ = wasm_bindgen_futures::JsFuture::from(being_made).await;
        }
        let mut made_now = None;
        let being_made = js_sys::Promise::new(&mut |resolve, _| made_now = Some(resolve));
        *self.making.borrow_mut() = Some(being_made);
        let made = match GpuContext::headless().await {
            Ok(ctx) => Ok(Rc::new(ctx)),
            Err(webgpu) => GpuContext::offscreen_webgl()
                .await
                .map(Rc::new)
                .map_err(|webgl| {
                    GpuError::NoAdapter(format!("no WebGPU ({webgpu}) and no WebGL2 ({webgl})"))
                }),
        };
        *self.device.borrow_mut() = Some(made.clone());
        self.making.borrow_mut().take();
        if let Some(resolve) = made_now {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
        made
    }

    /// Marching cubes on `ctx`, compiled on first use.
    pub fn marching(&self, ctx: &GpuContext) -> Built<GpuMarchingCubes> {
        self.marching
            .borrow_mut()
            .get_or_insert_with(|| Rc::new(GpuMarchingCubes::new(ctx)))
            .clone()
    }

    /// The texture of the volume of study generation `generation`, once
    /// [`Gpu::upload_slice_volume`] has run for it (with its error, if the
    /// upload failed); `None` before. A texture of another volume is freed
    /// here: its GPU memory is not held while the new one waits its turn.
    pub fn slice_volume(&self, generation: u64) -> Option<Built<SliceVolume>> {
        let mut uploaded = self.uploaded.borrow_mut();
        match uploaded.as_ref() {
            Some((of, texture)) if *of == generation => Some(texture.clone()),
            Some(_) => {
                *uploaded = None;
                None
            }
            None => None,
        }
    }

    /// Keeps `made` as the texture (or the reason there is none) of the
    /// volume of study generation `generation`, the 2D views' from now on.
    pub fn keep_slice_volume(&self, generation: u64, made: Result<SliceVolume, GpuError>) {
        *self.uploaded.borrow_mut() = Some((generation, Rc::new(made)));
    }

    /// The reslicing pipelines, kept across volumes.
    pub fn slices(&self) -> &SliceRenderer {
        &self.slices
    }
}
