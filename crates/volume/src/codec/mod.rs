//! Codecs written here because no usable pure-Rust crate exists.

pub mod jpeg_dct;
pub mod jpeg_ls;

/// A decoded greyscale image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bits per sample.
    pub bits: u32,
    /// Samples, row by row.
    pub samples: Vec<u16>,
}

impl Image {
    /// Samples as little-endian bytes of `bits_allocated` width (8 or 16),
    /// the layout of native DICOM pixel data.
    pub fn to_le_bytes(&self, bits_allocated: u16) -> Vec<u8> {
        match bits_allocated {
            8 => self.samples.iter().map(|&v| v as u8).collect(),
            _ => self.samples.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// Walks the marker segments of a JPEG-family stream (T.81 B.1.1.2, shared by
/// JPEG-LS, T.87 C.1): SOI first, then (marker, body without the length
/// field) until EOI. Errors are prefixed with the codec's name.
pub(crate) struct Segments<'a> {
    data: &'a [u8],
    /// Byte after the last segment returned: where a scan's entropy-coded
    /// data starts after SOS.
    pub at: usize,
    codec: &'static str,
}

impl<'a> Segments<'a> {
    /// Checks SOI and positions after it.
    pub fn new(data: &'a [u8], codec: &'static str) -> Result<Self, String> {
        if data.get(..2) != Some(&[0xFF, 0xD8]) {
            return Err(format!("{codec}: no SOI marker"));
        }
        Ok(Self { data, at: 2, codec })
    }

    /// The next segment; EOI gives `None`.
    pub fn next_segment(&mut self) -> Result<Option<(u8, &'a [u8])>, String> {
        let (data, codec) = (self.data, self.codec);
        // Fill bytes (0xFF) may precede a marker.
        while data.get(self.at) == Some(&0xFF) && data.get(self.at + 1) == Some(&0xFF) {
            self.at += 1;
        }
        match (data.get(self.at), data.get(self.at + 1)) {
            (Some(0xFF), Some(&marker)) => {
                if marker == 0xD9 {
                    return Ok(None);
                }
                let len = data
                    .get(self.at + 2..self.at + 4)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                    .ok_or_else(|| format!("{codec}: truncated marker segment"))?;
                // The length counts its own two bytes: shorter is corrupt.
                let body = data
                    .get(self.at + 4..(self.at + 2 + len).max(self.at + 4))
                    .filter(|_| len >= 2)
                    .ok_or_else(|| format!("{codec}: segment 0xFF{marker:02X} is truncated"))?;
                self.at += 2 + len;
                Ok(Some((marker, body)))
            }
            (None, _) | (Some(_), None) => Err(format!("{codec}: data ends before EOI")),
            (Some(b), _) => Err(format!(
                "{codec}: expected a marker at byte {}, found 0x{b:02X}",
                self.at
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Segments;

    #[test]
    fn segments_walk_to_eoi_and_refuse_corrupt_lengths() {
        let stream = [0xFF, 0xD8, 0xFF, 0xFF, 0xE0, 0, 4, 7, 8, 0xFF, 0xD9];
        let mut s = Segments::new(&stream, "JPEG").unwrap();
        assert_eq!(s.next_segment().unwrap(), Some((0xE0, &[7u8, 8][..])));
        assert_eq!(s.next_segment().unwrap(), None);
        let short = [0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 0xFF, 0xD9];
        let err = Segments::new(&short, "JPEG-LS")
            .unwrap()
            .next_segment()
            .unwrap_err();
        assert!(err.starts_with("JPEG-LS: segment 0xFFE0"), "{err}");
        assert!(Segments::new(&[0, 1], "JPEG").is_err());
    }
}
