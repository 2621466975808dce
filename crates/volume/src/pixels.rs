//! Stored samples → output values (HU for CT), one frame at a time, written
//! straight into the volume buffer.

use std::borrow::Cow;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use dicom_pixeldata::PixelDecoder;

use crate::error::Problem;
use crate::header::{ImageHeader, PixelFormat, Rescale};

/// A slice-sized piece of the output buffer.
pub(crate) enum Slot<'a> {
    /// Exact integer output.
    I16(&'a mut [i16]),
    /// Floating-point output.
    F32(&'a mut [f32]),
}

/// An integer result does not fit i16: the caller rebuilds as f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overflow;

/// How one frame's stored samples become output values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conversion {
    pub pixel: PixelFormat,
    pub rescale: Rescale,
    /// Stored value marking "no data" (PixelPaddingValue).
    pub padding: Option<i32>,
    /// Output value for padded samples (air for CT).
    pub padding_output: f32,
    /// Invert MONOCHROME1 data that has no physical unit.
    pub invert: bool,
}

/// The raw little-endian samples of `frame` (decoded when encapsulated).
pub(crate) fn frame_samples<'a>(
    obj: &'a DefaultDicomObject,
    header: &ImageHeader,
    frame: u32,
) -> Result<Cow<'a, [u8]>, Problem> {
    let element = obj
        .get(tags::PIXEL_DATA)
        .ok_or(Problem::MissingTag("PixelData".into()))?;
    let size = header.frame_bytes();
    let start = size * frame as usize;
    let native: Option<&[u8]> = match element.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) => Some(bytes.as_slice()),
        Value::Primitive(PrimitiveValue::U16(words)) => {
            Some(bytemuck::cast_slice(words.as_slice()))
        }
        Value::Primitive(PrimitiveValue::I16(words)) => {
            Some(bytemuck::cast_slice(words.as_slice()))
        }
        Value::Primitive(PrimitiveValue::Empty) => Some(&[]),
        Value::PixelSequence(_) => None,
        _ => {
            return Err(Problem::UnsupportedPixels(
                "PixelData has an unexpected value type".into(),
            ));
        }
    };
    match native {
        Some(all) => all
            .get(start..start + size)
            .map(Cow::Borrowed)
            .ok_or(Problem::Truncated {
                got: all.len(),
                expected: size * header.frames.len(),
            }),
        None if crate::transfer_syntax::is_jpeg_ls(&header.transfer_syntax) => {
            jpeg_ls_frame(element.value(), header, frame).map(Cow::Owned)
        }
        None if header.transfer_syntax == JPEG_EXTENDED => {
            jpeg_extended_frame(obj, element.value(), header, frame)
        }
        None if header.transfer_syntax == RLE_LOSSLESS => {
            rle_frame(element.value(), header, frame).map(Cow::Owned)
        }
        None => decode_with_pixeldata(obj, frame, size),
    }
}

/// Frames jpeg-decoder handles (and every other encapsulated syntax).
fn decode_with_pixeldata<'a>(
    obj: &DefaultDicomObject,
    frame: u32,
    size: usize,
) -> Result<Cow<'a, [u8]>, Problem> {
    let decoded = obj
        .decode_pixel_data_frame(frame)
        .map_err(|e| Problem::Decode(error_chain(&e)))?;
    let data = decoded.into_data();
    if data.len() < size {
        return Err(Problem::Decode(format!(
            "frame {frame} decoded to {} bytes, {size} expected",
            data.len()
        )));
    }
    Ok(Cow::Owned(data))
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// JPEG Extended: 12-bit greyscale goes to our DCT decoder (jpeg-decoder has
/// no 12-bit path); 8-bit streams stay with dicom-pixeldata.
fn jpeg_extended_frame<'a>(
    obj: &DefaultDicomObject,
    value: &Value<dicom_object::InMemDicomObject, dicom_core::value::InMemFragment>,
    header: &ImageHeader,
    frame: u32,
) -> Result<Cow<'a, [u8]>, Problem> {
    let stream = frame_fragments(value, header, frame)?;
    if crate::codec::jpeg_dct::precision(&stream) != Some(12) {
        return decode_with_pixeldata(obj, frame, header.frame_bytes());
    }
    let image = crate::codec::jpeg_dct::decode(&stream, header.cols as usize, header.rows as usize)
        .map_err(Problem::Decode)?;
    Ok(Cow::Owned(image.to_le_bytes(header.pixel.bits_allocated)))
}

/// The compressed bytes of `frame` in an encapsulated pixel sequence.
fn frame_fragments(
    value: &Value<dicom_object::InMemDicomObject, dicom_core::value::InMemFragment>,
    header: &ImageHeader,
    frame: u32,
) -> Result<Vec<u8>, Problem> {
    let Value::PixelSequence(sequence) = value else {
        return Err(Problem::Decode("pixel data is not encapsulated".into()));
    };
    let fragments = sequence.fragments();
    if header.frames.len() == 1 {
        return Ok(fragments.iter().flat_map(|f| f.iter().copied()).collect());
    }
    fragments
        .get(frame as usize)
        .filter(|_| fragments.len() == header.frames.len())
        .map(|f| f.to_vec())
        .ok_or_else(|| Problem::Decode(format!("no fragment for frame {frame}")))
}

/// DICOM RLE Lossless (PS3.5 Annex G), decoded here rather than by
/// dicom-pixeldata, whose decoder panics on corrupt segment tables (found by
/// fuzzing). Output: little-endian samples.
fn rle_frame(
    value: &Value<dicom_object::InMemDicomObject, dicom_core::value::InMemFragment>,
    header: &ImageHeader,
    frame: u32,
) -> Result<Vec<u8>, Problem> {
    let data = frame_fragments(value, header, frame)?;
    let bad = |why: String| Problem::Decode(format!("RLE: {why}"));
    if data.len() < 64 {
        return Err(bad(format!(
            "{} bytes, shorter than the 64-byte header",
            data.len()
        )));
    }
    let word = |i: usize| {
        u32::from_le_bytes([
            data[4 * i],
            data[4 * i + 1],
            data[4 * i + 2],
            data[4 * i + 3],
        ]) as usize
    };
    let bytes_per_sample = usize::from(header.pixel.bits_allocated / 8);
    let segments = word(0);
    if segments != bytes_per_sample {
        return Err(bad(format!(
            "{segments} segments, {bytes_per_sample} expected"
        )));
    }
    let pixels = header.rows as usize * header.cols as usize;
    let mut out = vec![0u8; pixels * bytes_per_sample];
    for s in 0..segments {
        let start = word(1 + s);
        let end = if s + 1 < segments {
            word(2 + s)
        } else {
            data.len()
        };
        if start < 64 || start > end || end > data.len() {
            return Err(bad(format!(
                "segment {s} spans {start}..{end} of {} bytes",
                data.len()
            )));
        }
        // Segment 0 holds the most significant bytes.
        let byte_index = bytes_per_sample - 1 - s;
        let mut input = data[start..end].iter();
        let mut written = 0;
        while written < pixels {
            let Some(&n) = input.next() else { break };
            let n = n as i8;
            if n >= 0 {
                for _ in 0..=n as usize {
                    let Some(&b) = input.next() else { break };
                    if written < pixels {
                        out[written * bytes_per_sample + byte_index] = b;
                        written += 1;
                    }
                }
            } else if n != -128 {
                let Some(&b) = input.next() else { break };
                for _ in 0..(1 - i32::from(n)) {
                    if written < pixels {
                        out[written * bytes_per_sample + byte_index] = b;
                        written += 1;
                    }
                }
            }
        }
        if written < pixels {
            return Err(bad(format!(
                "segment {s} decodes to {written} of {pixels} samples"
            )));
        }
    }
    Ok(out)
}

/// One JPEG-LS frame as little-endian samples of BitsAllocated width.
fn jpeg_ls_frame(
    value: &Value<dicom_object::InMemDicomObject, dicom_core::value::InMemFragment>,
    header: &ImageHeader,
    frame: u32,
) -> Result<Vec<u8>, Problem> {
    let stream = frame_fragments(value, header, frame)?;
    let image = crate::codec::jpeg_ls::decode(&stream, header.cols as usize, header.rows as usize)
        .map_err(Problem::Decode)?;
    if image.width != header.cols as usize || image.height != header.rows as usize {
        return Err(Problem::Decode(format!(
            "JPEG-LS image is {}x{}, header says {}x{}",
            image.width, image.height, header.cols, header.rows
        )));
    }
    Ok(image.to_le_bytes(header.pixel.bits_allocated))
}

/// An error with its causes: codec errors hide the useful part in `source()`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Converts `samples` (little-endian) into `slot`.
pub(crate) fn convert(samples: &[u8], conv: &Conversion, slot: Slot<'_>) -> Result<(), Overflow> {
    let slot = match slot {
        Slot::I16(out) => match convert_16_to_i16(samples, conv, out) {
            Some(result) => return result,
            None => Slot::I16(out),
        },
        other => other,
    };
    convert_any(samples, conv, slot)
}

/// Any sample layout and rescale, one sample at a time.
fn convert_any(samples: &[u8], conv: &Conversion, slot: Slot<'_>) -> Result<(), Overflow> {
    let p = conv.pixel;
    let shift = u32::from(p.high_bit + 1 - p.bits_stored);
    let bits = u32::from(p.bits_stored);
    let mask: u32 = if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    let (lo, hi) = if p.signed {
        (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1)
    } else {
        (0, mask as i32)
    };
    let stored = |raw: u32| -> i32 {
        let v = (raw >> shift) & mask;
        if p.signed && bits < 32 && v & (1 << (bits - 1)) != 0 {
            v as i32 - (1i32 << bits)
        } else {
            v as i32
        }
    };
    let raw_at = |i: usize| -> u32 {
        if p.bits_allocated == 16 {
            u32::from(u16::from_le_bytes([samples[2 * i], samples[2 * i + 1]]))
        } else {
            u32::from(samples[i])
        }
    };
    // The value to rescale at sample i, or None for padding.
    let value = |i: usize| -> Option<i32> {
        let v = stored(raw_at(i));
        if conv.padding == Some(v) {
            None
        } else if conv.invert {
            Some(lo + hi - v)
        } else {
            Some(v)
        }
    };
    match slot {
        Slot::I16(out) => {
            let slope = conv.rescale.slope as i64;
            let intercept = conv.rescale.intercept as i64;
            let pad = conv.padding_output as i16;
            for (i, o) in out.iter_mut().enumerate() {
                *o = match value(i) {
                    None => pad,
                    Some(v) => {
                        i16::try_from(i64::from(v) * slope + intercept).map_err(|_| Overflow)?
                    }
                };
            }
        }
        Slot::F32(out) => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = match value(i) {
                    None => conv.padding_output,
                    Some(v) => (f64::from(v) * conv.rescale.slope + conv.rescale.intercept) as f32,
                };
            }
        }
    }
    Ok(())
}

/// 16-bit samples with an integral rescale into i16, the common CT case:
/// one branch-free pass in i32 (vectorised with SIMD), the range checked
/// once at the end. `None` when the rescale could overflow i32 arithmetic
/// or the samples are not 16-bit, for the general loop.
fn convert_16_to_i16(
    samples: &[u8],
    conv: &Conversion,
    out: &mut [i16],
) -> Option<Result<(), Overflow>> {
    let p = conv.pixel;
    let (slope, intercept) = (conv.rescale.slope, conv.rescale.intercept);
    let small = |x: f64| x.fract() == 0.0 && x.abs() <= 16_384.0;
    if p.bits_allocated != 16 || !small(slope) || !small(intercept) {
        return None;
    }
    let samples = samples.get(..2 * out.len())?;
    let bits = u32::from(p.bits_stored);
    let (lo, hi) = if p.signed {
        (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1)
    } else {
        (0, ((1u32 << bits) - 1) as i32)
    };
    let shift = u32::from(p.high_bit + 1 - p.bits_stored);
    if slope == 1.0
        && shift == 0
        && !conv.invert
        && let Ok(words) = bytemuck::try_cast_slice::<u8, u16>(samples)
        && cfg!(target_endian = "little")
        && Plain16::new(p, intercept, conv).converts(words, out)
    {
        return Some(Ok(()));
    }
    let kernel = Kernel16 {
        shift,
        // Sign extension by shifting the stored bits to the top and back.
        up: 32 - bits,
        lo_plus_hi: lo + hi,
        slope: slope as i32,
        intercept: intercept as i32,
        // A stored value no sample can have, when there is no padding.
        padding: conv.padding.unwrap_or(i32::MIN),
        pad: conv.padding_output as i16,
    };
    let fits = match (p.signed, conv.invert) {
        (false, false) => kernel.run::<false, false>(samples, out),
        (false, true) => kernel.run::<false, true>(samples, out),
        (true, false) => kernel.run::<true, false>(samples, out),
        (true, true) => kernel.run::<true, true>(samples, out),
    };
    Some(if fits { Ok(()) } else { Err(Overflow) })
}

/// The commonest CT layout (stored bits at the bottom, slope 1, not
/// inverted) converted in 16-bit lanes, its overflow check reduced to the
/// range of the stored values. In V8's wasm (Node, the browser's engine)
/// the 32-bit kernel below converts 157 MB of samples in 85–95 ms, this
/// one in 20–30 ms. The range covers padded samples too, so a padding
/// value that would overflow sends the file to the exact kernel.
struct Plain16 {
    /// The stored bits.
    mask: u16,
    /// The sign bit of signed samples (0 for unsigned): `(x ^ sign) - sign`
    /// sign-extends without a variable shift.
    sign: u16,
    intercept: i16,
    /// The padding value as stored bits, where a sample can hold it.
    padding: Option<u16>,
    pad: i16,
}

impl Plain16 {
    fn new(p: PixelFormat, intercept: f64, conv: &Conversion) -> Self {
        let bits = u32::from(p.bits_stored);
        let mask = (u32::MAX >> (32 - bits)) as u16;
        let (lo, hi) = if p.signed {
            (-(1i32 << (bits - 1)), (1i32 << (bits - 1)) - 1)
        } else {
            (0, i32::from(mask))
        };
        Self {
            mask,
            sign: if p.signed { 1 << (bits - 1) } else { 0 },
            intercept: intercept as i16,
            padding: conv
                .padding
                .filter(|v| (lo..=hi).contains(v))
                .map(|v| (v as u16) & mask),
            pad: conv.padding_output as i16,
        }
    }

    /// Converts `words` into `out`; `false` when some stored value plus
    /// the intercept might not fit i16 (`out` is then for the exact
    /// kernel to redo).
    fn converts(&self, words: &[u16], out: &mut [i16]) -> bool {
        let (lo, hi) = match (self.sign != 0, self.padding) {
            (true, Some(padding)) => self.run::<true, true>(words, out, padding),
            (true, None) => self.run::<true, false>(words, out, 0),
            (false, Some(padding)) => self.run::<false, true>(words, out, padding),
            (false, None) => self.run::<false, false>(words, out, 0),
        };
        let fits = |v: i32| i32::from(i16::MIN) <= v && v <= i32::from(i16::MAX);
        let intercept = i32::from(self.intercept);
        fits(lo + intercept) && fits(hi + intercept)
    }

    /// The loop, and the lowest and highest stored value. The range is
    /// taken over every sample: leaving padding out of it with a select
    /// made the loop as slow as the 32-bit kernel in V8.
    fn run<const SIGNED: bool, const PADDED: bool>(
        &self,
        words: &[u16],
        out: &mut [i16],
        padding: u16,
    ) -> (i32, i32) {
        let (mut lo, mut hi) = (u16::MAX, u16::MIN);
        let (mut lo_signed, mut hi_signed) = (i16::MAX, i16::MIN);
        for (o, &x) in out.iter_mut().zip(words) {
            let bits = x & self.mask;
            let stored = if SIGNED {
                let s = (bits ^ self.sign).wrapping_sub(self.sign) as i16;
                lo_signed = lo_signed.min(s);
                hi_signed = hi_signed.max(s);
                s
            } else {
                lo = lo.min(bits);
                hi = hi.max(bits);
                bits as i16
            };
            let padded = PADDED && bits == padding;
            *o = if padded {
                self.pad
            } else {
                stored.wrapping_add(self.intercept)
            };
        }
        if out.is_empty() || words.is_empty() {
            (0, 0)
        } else if SIGNED {
            (i32::from(lo_signed), i32::from(hi_signed))
        } else {
            (i32::from(lo), i32::from(hi))
        }
    }
}

/// The constants of [`convert_16_to_i16`]'s loop.
struct Kernel16 {
    shift: u32,
    up: u32,
    lo_plus_hi: i32,
    slope: i32,
    intercept: i32,
    padding: i32,
    pad: i16,
}

impl Kernel16 {
    /// Converts `samples` into `out`; whether every value (padding left
    /// out) fits i16. Signedness and inversion are constants, so each
    /// combination is a loop without branches.
    fn run<const SIGNED: bool, const INVERT: bool>(&self, samples: &[u8], out: &mut [i16]) -> bool {
        // Words read in place where aligned (every little-endian target:
        // wasm, x86, ARM); byte pairs would keep the loop from vectorising.
        match bytemuck::try_cast_slice::<u8, u16>(samples) {
            Ok(words) if cfg!(target_endian = "little") => {
                self.each::<SIGNED, INVERT>(words.iter().copied(), out)
            }
            _ => self.each::<SIGNED, INVERT>(
                samples
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]])),
                out,
            ),
        }
    }

    #[inline(always)]
    fn each<const SIGNED: bool, const INVERT: bool>(
        &self,
        words: impl Iterator<Item = u16>,
        out: &mut [i16],
    ) -> bool {
        let mut overflow = false;
        for (o, raw) in out.iter_mut().zip(words) {
            let raw = u32::from(raw) >> self.shift;
            let stored = if SIGNED {
                ((raw << self.up) as i32) >> self.up
            } else {
                ((raw << self.up) >> self.up) as i32
            };
            let v = if INVERT {
                self.lo_plus_hi - stored
            } else {
                stored
            };
            let value = v * self.slope + self.intercept;
            let padded = stored == self.padding;
            overflow |= !padded & (i32::from(value as i16) != value);
            *o = if padded { self.pad } else { value as i16 };
        }
        !overflow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversion(bits_stored: u16, signed: bool, rescale: Rescale) -> Conversion {
        Conversion {
            pixel: PixelFormat {
                bits_allocated: 16,
                bits_stored,
                high_bit: bits_stored - 1,
                signed,
                monochrome1: false,
            },
            rescale,
            padding: None,
            padding_output: -1024.0,
            invert: false,
        }
    }

    fn le(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The vectorised 16-bit path gives exactly what the general loop
    /// gives, for every layout CT and MR files use, padding and MONOCHROME1
    /// inversion included, and overflows where it does.
    #[test]
    fn the_fast_16_bit_path_equals_the_general_loop() {
        let raw: Vec<u16> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u16)
            .chain([0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x0FFF, 0x0800])
            .collect();
        let bytes = le(&raw);
        for (bits_stored, high_bit) in [(16, 15), (12, 11), (12, 15), (10, 9)] {
            for signed in [false, true] {
                for (slope, intercept) in [(1.0, -1024.0), (1.0, 0.0), (2.0, -3000.0), (-1.0, 0.0)]
                {
                    for padding in [None, Some(0), Some(-2000)] {
                        for invert in [false, true] {
                            let conv = Conversion {
                                pixel: PixelFormat {
                                    bits_allocated: 16,
                                    bits_stored,
                                    high_bit,
                                    signed,
                                    monochrome1: invert,
                                },
                                rescale: Rescale { slope, intercept },
                                padding,
                                padding_output: -1024.0,
                                invert,
                            };
                            let mut fast = vec![0i16; raw.len()];
                            let mut general = vec![0i16; raw.len()];
                            let a = convert_16_to_i16(&bytes, &conv, &mut fast)
                                .expect("fast path taken");
                            let b = convert_any(&bytes, &conv, Slot::I16(&mut general));
                            assert_eq!(a, b, "{conv:?}");
                            if a.is_ok() {
                                assert_eq!(fast, general, "{conv:?}");
                            }
                        }
                    }
                }
            }
        }
    }

    /// The common CT layouts take the 16-bit-lane path whole: the test
    /// above would not notice that path never being taken.
    #[test]
    fn common_ct_layouts_are_converted_in_16_bit_lanes() {
        let hu: Vec<i16> = (0..4096).map(|i| ((i * 37) % 3000 - 1000) as i16).collect();
        let layouts = [
            // 12 bits unsigned, stored = HU + 1024, no padding.
            (12, false, -1024.0, None, 1024),
            // 16 bits unsigned with padding 0.
            (16, false, -1024.0, Some(0), 1024),
            // 16 bits signed, stored = HU, padding -2000.
            (16, true, 0.0, Some(-2000), 0),
        ];
        for (bits_stored, signed, intercept, padding, offset) in layouts {
            let mut stored: Vec<u16> = hu.iter().map(|&v| (v + offset) as u16).collect();
            if let Some(p) = padding {
                stored[7] = p as u16;
            }
            let mut conv = conversion(
                bits_stored,
                signed,
                Rescale {
                    slope: 1.0,
                    intercept,
                },
            );
            conv.padding = padding;
            let mut lanes = vec![0i16; stored.len()];
            let plain = Plain16::new(conv.pixel, intercept, &conv);
            assert!(plain.converts(&stored, &mut lanes), "{conv:?}");
            let mut general = vec![0i16; stored.len()];
            convert_any(&le(&stored), &conv, Slot::I16(&mut general)).unwrap();
            assert_eq!(lanes, general, "{conv:?}");
            assert_eq!(lanes[7], if padding.is_some() { -1024 } else { hu[7] });
        }
    }

    #[test]
    fn twelve_bit_unsigned_ct_to_hu() {
        let conv = conversion(
            12,
            false,
            Rescale {
                slope: 1.0,
                intercept: -1024.0,
            },
        );
        let mut out = [0i16; 3];
        // Garbage above bit 11 (overlay bits) must be masked away.
        convert(&le(&[0, 1024, 0xF000 | 4095]), &conv, Slot::I16(&mut out)).unwrap();
        assert_eq!(out, [-1024, 0, 3071]);
    }

    #[test]
    fn signed_samples_are_sign_extended_from_bits_stored() {
        let conv = conversion(12, true, Rescale::IDENTITY);
        let mut out = [0i16; 2];
        convert(&le(&[0x0FFF, 0x0800]), &conv, Slot::I16(&mut out)).unwrap();
        assert_eq!(out, [-1, -2048]);
    }

    #[test]
    fn padding_becomes_air_and_overflow_is_reported() {
        let mut conv = conversion(
            16,
            true,
            Rescale {
                slope: 1.0,
                intercept: -1024.0,
            },
        );
        conv.padding = Some(-2000);
        let mut out = [0i16; 2];
        convert(&le(&[(-2000i16) as u16, 1000]), &conv, Slot::I16(&mut out)).unwrap();
        assert_eq!(out, [-1024, -24]);
        let wide = conversion(
            16,
            false,
            Rescale {
                slope: 1.0,
                intercept: -1024.0,
            },
        );
        assert_eq!(
            convert(&le(&[65535]), &wide, Slot::I16(&mut [0])),
            Err(Overflow)
        );
        let mut f = [0f32; 1];
        convert(&le(&[65535]), &wide, Slot::F32(&mut f)).unwrap();
        assert_eq!(f, [64511.0]);
    }

    #[test]
    fn fractional_rescale_and_monochrome1_inversion() {
        let mut conv = conversion(
            8,
            false,
            Rescale {
                slope: 0.5,
                intercept: 0.25,
            },
        );
        conv.pixel.bits_allocated = 8;
        conv.pixel.high_bit = 7;
        conv.invert = true;
        let mut out = [0f32; 2];
        convert(&[0, 255], &conv, Slot::F32(&mut out)).unwrap();
        assert_eq!(out, [127.75, 0.25]);
    }
}
