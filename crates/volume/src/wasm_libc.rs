//! C allocation symbols for the OpenJPEG translation (`openjp2`) on wasm32.
//!
//! `openjp2` is a machine translation of C and still calls `malloc`, `calloc`,
//! `realloc`, `free` and `strcpy`. wasm32-unknown-unknown has no libc, so
//! without these definitions the module would import them from JavaScript
//! and fail to load. Allocations carry a 16-byte header holding their size,
//! so `free`/`realloc` can rebuild the Rust layout.
//!
//! `openjp2` 0.6.1 also frees null pointers through the Rust allocator; the
//! global allocator below ignores those instead of corrupting the heap.

use std::alloc::{GlobalAlloc, Layout, System};

const HEADER: usize = 16;

struct NullTolerant;

// SAFETY: forwards to the system allocator, except that deallocating a null
// pointer (which no valid allocation returns) is ignored.
unsafe impl GlobalAlloc for NullTolerant {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !ptr.is_null() {
            unsafe { System.dealloc(ptr, layout) }
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: NullTolerant = NullTolerant;

fn layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

unsafe fn allocate(size: usize, zeroed: bool) -> *mut u8 {
    let Some(layout) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: layout has non-zero size (HEADER > 0).
    let base = unsafe {
        if zeroed {
            std::alloc::alloc_zeroed(layout)
        } else {
            std::alloc::alloc(layout)
        }
    };
    if base.is_null() {
        return base;
    }
    // SAFETY: base is valid for HEADER bytes and aligned to 16.
    unsafe {
        (base as *mut usize).write(size);
        base.add(HEADER)
    }
}

/// C `malloc`.
///
/// # Safety
/// Called by C-translated code only; returns memory for `free`/`realloc` here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut u8 {
    unsafe { allocate(size, false) }
}

/// C `calloc`.
///
/// # Safety
/// As `malloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut u8 {
    match count.checked_mul(size) {
        Some(total) => unsafe { allocate(total, true) },
        None => std::ptr::null_mut(),
    }
}

/// C `free`; null is a no-op.
///
/// # Safety
/// `ptr` is null or came from `malloc`/`calloc`/`realloc` here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(ptr: *mut u8) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: ptr was returned by `allocate`, so its header precedes it.
    unsafe {
        let base = ptr.sub(HEADER);
        let size = (base as *const usize).read();
        std::alloc::dealloc(base, layout(size).expect("layout was valid at allocation"));
    }
}

/// C `realloc`.
///
/// # Safety
/// As `free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        return unsafe { malloc(size) };
    }
    let Some(new_layout) = layout(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: as in `free`; the new size includes the header.
    unsafe {
        let base = ptr.sub(HEADER);
        let old = (base as *const usize).read();
        let grown = std::alloc::realloc(base, layout(old).expect("valid"), new_layout.size());
        if grown.is_null() {
            return grown;
        }
        (grown as *mut usize).write(size);
        grown.add(HEADER)
    }
}

/// C `strcpy`.
///
/// # Safety
/// `src` is NUL-terminated and `dst` has room for it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strcpy(dst: *mut u8, src: *const u8) -> *mut u8 {
    let mut i = 0;
    // SAFETY: guaranteed by the caller.
    unsafe {
        loop {
            let c = *src.add(i);
            *dst.add(i) = c;
            if c == 0 {
                break;
            }
            i += 1;
        }
    }
    dst
}
