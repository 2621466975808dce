//! A volume's first 2D views as the cache keeps them: the views asked for
//! and their windowed RGBA pixels, in one run of bytes. A folder dropped
//! again is known by its stamp before any file is read; its voxels then
//! take most of the wait (157 MB read back in 0.1–0.3 s), and these views,
//! a few megabytes read in milliseconds, are shown meanwhile: the pixels
//! the volume drew when it was loaded.
//!
//! Layout: `MAGIC`, the views' JSON length (u32, little-endian), the JSON
//! of the [`ViewRequest`]s (together the header), then each view's pixels
//! in order, width × height × 4 bytes as its plane says. Only the header
//! is made or read here: the pixels stay in the browser's memory, never
//! in the worker's wasm heap, whose size a volume's load is held to.

use std::ops::Range;

use crate::protocol::ViewRequest;

/// What the bytes begin with (a version: older runs are never read).
const MAGIC: &[u8] = b"insitu opening views 1\n";

/// Bytes of the header's fixed start: enough to know its length.
pub const PREFIX: usize = MAGIC.len() + 4;

/// Bytes of a view's RGBA pixels.
fn pixel_bytes(view: &ViewRequest) -> usize {
    view.plane.width as usize * view.plane.height as usize * 4
}

/// The header of `views` whose pixels are `pixel_lengths` bytes each, in
/// order; none where one is not as many as its plane says.
pub fn header(views: &[ViewRequest], pixel_lengths: &[usize]) -> Option<Vec<u8>> {
    if views.len() != pixel_lengths.len()
        || views
            .iter()
            .zip(pixel_lengths)
            .any(|(v, &n)| pixel_bytes(v) != n)
    {
        return None;
    }
    let json = serde_json::to_vec(views).ok()?;
    let length = u32::try_from(json.len()).ok()?;
    let mut out = Vec::with_capacity(PREFIX + json.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&json);
    Some(out)
}

/// Why kept bytes are not a run of opening views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotViews {
    /// Another format or version.
    Magic,
    /// Shorter than their own header or pixels say.
    Truncated,
    /// The views' JSON does not read.
    Views,
    /// Bytes left over past the last view.
    Trailing,
}

/// The whole header's length, from its first [`PREFIX`] bytes.
pub fn header_len(prefix: &[u8]) -> Result<usize, NotViews> {
    let rest = prefix.strip_prefix(MAGIC).ok_or(NotViews::Magic)?;
    let length: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(NotViews::Truncated)?;
    Ok(PREFIX + u32::from_le_bytes(length) as usize)
}

/// The views a run of `total` bytes holds, from its `header` (its first
/// [`header_len`] bytes), and where each one's pixels lie in the run.
pub fn layout(header: &[u8], total: usize) -> Result<Vec<(ViewRequest, Range<usize>)>, NotViews> {
    let end = header_len(header)?;
    let json = header.get(PREFIX..end).ok_or(NotViews::Truncated)?;
    let views: Vec<ViewRequest> = serde_json::from_slice(json).map_err(|_| NotViews::Views)?;
    let mut at = end;
    let mut out = Vec::with_capacity(views.len());
    for view in views {
        let next = at
            .checked_add(pixel_bytes(&view))
            .filter(|&next| next <= total)
            .ok_or(NotViews::Truncated)?;
        out.push((view, at..next));
        at = next;
    }
    if at != total {
        return Err(NotViews::Trailing);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PlaneMsg;
    use insitu_volume::reslice::ViewAxis;

    fn view(axis: ViewAxis, width: u32, height: u32) -> ViewRequest {
        ViewRequest {
            axis,
            plane: PlaneMsg {
                centre: [1.0, -2.5, 30.0],
                right: [1.0, 0.0, 0.0],
                down: [0.0, 1.0, 0.0],
                width,
                height,
                mm_per_pixel: 0.7,
            },
            window: 400.0,
            level: 40.0,
        }
    }

    /// The run of bytes the worker puts together: header, then pixels.
    fn run(views: &[ViewRequest], pixels: &[Vec<u8>]) -> Option<Vec<u8>> {
        let lengths: Vec<usize> = pixels.iter().map(Vec::len).collect();
        let mut out = header(views, &lengths)?;
        for p in pixels {
            out.extend_from_slice(p);
        }
        Some(out)
    }

    fn read(bytes: &[u8]) -> Result<Vec<(ViewRequest, Range<usize>)>, NotViews> {
        let end = header_len(bytes.get(..PREFIX).ok_or(NotViews::Truncated)?)?;
        layout(bytes.get(..end).ok_or(NotViews::Truncated)?, bytes.len())
    }

    #[test]
    fn views_and_their_pixels_come_back_as_they_went() {
        let views = [view(ViewAxis::Axial, 3, 2), view(ViewAxis::Coronal, 2, 5)];
        let pixels = [(0..24).collect::<Vec<u8>>(), (100..140).collect()];
        let bytes = run(&views, &pixels).expect("sizes match");
        let back = read(&bytes).expect("readable");
        assert_eq!(back.len(), 2);
        for ((view, range), (sent, sent_pixels)) in back.iter().zip(views.iter().zip(&pixels)) {
            assert_eq!(view, sent);
            assert_eq!(&bytes[range.clone()], sent_pixels.as_slice());
        }
    }

    #[test]
    fn pixels_that_do_not_fit_their_plane_are_not_kept() {
        let views = [view(ViewAxis::Axial, 3, 2)];
        assert_eq!(header(&views, &[23]), None);
        assert_eq!(header(&views, &[]), None);
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_with_why() {
        let views = [view(ViewAxis::Sagittal, 4, 4)];
        let bytes = run(&views, &[vec![7; 64]]).expect("sizes match");
        assert_eq!(read(&bytes[..bytes.len() - 1]), Err(NotViews::Truncated));
        assert_eq!(read(&bytes[..PREFIX - 2]), Err(NotViews::Truncated));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(read(&longer), Err(NotViews::Trailing));
        assert_eq!(
            read(b"a mesh, not the views a cache keeps"),
            Err(NotViews::Magic)
        );
        let mut garbled = bytes.clone();
        garbled[PREFIX] = b'!';
        assert_eq!(read(&garbled), Err(NotViews::Views));
    }
}
