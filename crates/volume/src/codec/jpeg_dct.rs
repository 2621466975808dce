//! Sequential-DCT Huffman JPEG (ITU-T T.81, SOF0/SOF1), one component, 8 or
//! 12 bits. Written here for DICOM "JPEG Extended" (1.2.840.10008.1.2.4.51):
//! 12-bit lossy CT and NM images, which jpeg-decoder cannot decode (it has
//! no 12-bit DCT path). 8-bit and colour JPEG stay with jpeg-decoder.

use super::{Image, Segments};

const CODEC: &str = "JPEG";

fn err(what: impl std::fmt::Display) -> String {
    format!("{CODEC}: {what}")
}

/// Natural (row-major) index of each zig-zag position.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The sample precision declared by the first SOFn marker, if any: lets the
/// caller pick this decoder only for what jpeg-decoder cannot do.
pub fn precision(data: &[u8]) -> Option<u8> {
    let mut segments = Segments::new(data, CODEC).ok()?;
    while let Ok(Some((marker, body))) = segments.next_segment() {
        if (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            return body.first().copied();
        }
        if marker == 0xDA {
            return None;
        }
    }
    None
}

/// A canonical Huffman table (T.81 F.2.2.3 decoding procedure).
#[derive(Clone)]
struct Huffman {
    mincode: [i32; 17],
    maxcode: [i32; 17],
    valptr: [usize; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8], values: &[u8]) -> Result<Self, String> {
        let mut table = Self {
            mincode: [0; 17],
            maxcode: [-1; 17],
            valptr: [0; 17],
            values: values.to_vec(),
        };
        let (mut code, mut k) = (0i32, 0usize);
        for length in 1..=16 {
            let n = i32::from(counts[length - 1]);
            table.valptr[length] = k;
            table.mincode[length] = code;
            code += n;
            k += n as usize;
            if n > 0 {
                table.maxcode[length] = code - 1;
            }
            if code > 1 << length {
                return Err(err("Huffman table has more codes than fit their lengths"));
            }
            code <<= 1;
        }
        Ok(table)
    }

    fn decode(&self, bits: &mut BitReader<'_>) -> Result<u8, String> {
        let mut code = bits.bits(1)? as i32;
        for length in 1..=16 {
            if code <= self.maxcode[length] {
                let index = self.valptr[length] + (code - self.mincode[length]) as usize;
                return self
                    .values
                    .get(index)
                    .copied()
                    .ok_or_else(|| err("Huffman code outside its table"));
            }
            code = (code << 1) | bits.bits(1)? as i32;
        }
        Err(err("invalid Huffman code"))
    }
}

/// Entropy-coded bits, with 0xFF00 unstuffing; stops at the next marker.
struct BitReader<'a> {
    data: &'a [u8],
    at: usize,
    /// Bits left-aligned: the next bit is the top one.
    acc: u64,
    count: u32,
    /// Zero bits appended after a marker or the end; reading them is an error.
    padding: u32,
    at_marker: bool,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], at: usize) -> Self {
        Self {
            data,
            at,
            acc: 0,
            count: 0,
            padding: 0,
            at_marker: false,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = if self.at_marker {
                None
            } else {
                match (self.data.get(self.at), self.data.get(self.at + 1)) {
                    (Some(0xFF), Some(0x00)) => {
                        self.at += 2;
                        Some(0xFF)
                    }
                    (Some(0xFF), _) | (None, _) => None,
                    (Some(&b), _) => {
                        self.at += 1;
                        Some(b)
                    }
                }
            };
            match byte {
                Some(b) => self.acc |= u64::from(b) << (56 - self.count),
                None => {
                    self.at_marker = true;
                    self.padding += 8;
                }
            }
            self.count += 8;
        }
    }

    /// `n` ≤ 16 bits as an unsigned number.
    fn bits(&mut self, n: u32) -> Result<u32, String> {
        if n == 0 {
            return Ok(0);
        }
        if self.count < n {
            self.fill();
        }
        if n > self.count - self.padding.min(self.count) {
            return Err(err("entropy-coded data ends early"));
        }
        let value = (self.acc >> (64 - n)) as u32;
        self.acc <<= n;
        self.count -= n;
        Ok(value)
    }

    /// Byte-align and consume the RSTn marker that ends a restart interval.
    fn restart(&mut self) -> Result<(), String> {
        let (data, mut at) = (self.data, self.at);
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        match (data.get(at), data.get(at + 1)) {
            (Some(0xFF), Some(0xD0..=0xD7)) => {
                *self = Self::new(data, at + 2);
                Ok(())
            }
            _ => Err(err(format_args!("missing RST marker at byte {at}"))),
        }
    }
}

/// Value of a `size`-bit magnitude category (T.81 F.2.2.1 EXTEND).
fn extend(value: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if value < 1 << (size - 1) {
        value as i32 - (1 << size) + 1
    } else {
        value as i32
    }
}

/// Separable inverse DCT in f32: `basis[x][u] = C(u)/2 · cos((2x+1)uπ/16)`.
struct Idct {
    basis: [[f32; 8]; 8],
}

impl Idct {
    fn new() -> Self {
        let mut basis = [[0.0; 8]; 8];
        for (x, row) in basis.iter_mut().enumerate() {
            for (u, b) in row.iter_mut().enumerate() {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                *b = (c / 2.0 * ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / 16.0).cos())
                    as f32;
            }
        }
        Self { basis }
    }

    /// Coefficients (natural order, dequantized) → spatial values.
    fn inverse(&self, coefficients: &[i32; 64], out: &mut [f32; 64]) {
        let mut rows = [0.0f32; 64];
        for v in 0..8 {
            let line = &coefficients[v * 8..v * 8 + 8];
            if line.iter().all(|&c| c == 0) {
                continue;
            }
            for x in 0..8 {
                rows[v * 8 + x] = (0..8).map(|u| self.basis[x][u] * line[u] as f32).sum();
            }
        }
        for y in 0..8 {
            for x in 0..8 {
                out[y * 8 + x] = (0..8).map(|v| self.basis[y][v] * rows[v * 8 + x]).sum();
            }
        }
    }
}

/// Decode one greyscale sequential-DCT JPEG whose size must be
/// `expected_width`×`expected_height` (checked before allocating).
pub fn decode(data: &[u8], expected_width: usize, expected_height: usize) -> Result<Image, String> {
    let mut segments = Segments::new(data, CODEC)?;
    let mut quant: [Option<[i32; 64]>; 4] = [None; 4];
    let mut dc_tables: [Option<Huffman>; 4] = Default::default();
    let mut ac_tables: [Option<Huffman>; 4] = Default::default();
    let mut restart_interval = 0usize;
    // (precision, width, height, component id, quantization table)
    let mut frame: Option<(u32, usize, usize, u8, usize)> = None;
    let mut image: Option<Image> = None;
    loop {
        let (marker, body) = match segments.next_segment() {
            Ok(Some(segment)) => segment,
            Ok(None) => break,
            // A missing EOI after a complete scan loses nothing.
            Err(_) if image.is_some() => break,
            Err(e) => return Err(e),
        };
        match marker {
            0xC0 | 0xC1 => {
                if body.len() < 9 {
                    return Err(err("SOF segment too short"));
                }
                let precision = u32::from(body[0]);
                let height = usize::from(u16::from_be_bytes([body[1], body[2]]));
                let width = usize::from(u16::from_be_bytes([body[3], body[4]]));
                if precision != 8 && precision != 12 {
                    return Err(err(format_args!("{precision}-bit DCT precision")));
                }
                if body[5] != 1 {
                    return Err(err(format_args!(
                        "{} components; only greyscale 12-bit JPEG is decoded",
                        body[5]
                    )));
                }
                if (width, height) != (expected_width, expected_height) {
                    return Err(err(format_args!(
                        "image is {width}x{height}, header says {expected_width}x{expected_height}"
                    )));
                }
                let table = usize::from(body[8]);
                if table > 3 {
                    return Err(err("quantization table index out of range"));
                }
                frame = Some((precision, width, height, body[6], table));
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(err(format_args!(
                    "SOF{} is not sequential Huffman DCT",
                    marker - 0xC0
                )));
            }
            0xC4 => {
                let mut rest = body;
                while !rest.is_empty() {
                    let (class, id) = (rest[0] >> 4, usize::from(rest[0] & 15));
                    let counts = rest.get(1..17).ok_or_else(|| err("DHT truncated"))?;
                    let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
                    let values = rest
                        .get(17..17 + total)
                        .ok_or_else(|| err("DHT truncated"))?;
                    if id > 3 || class > 1 {
                        return Err(err("Huffman table class or index out of range"));
                    }
                    let table = Some(Huffman::new(counts, values)?);
                    if class == 0 {
                        dc_tables[id] = table;
                    } else {
                        ac_tables[id] = table;
                    }
                    rest = &rest[17 + total..];
                }
            }
            0xCC => return Err(err("arithmetic coding is not supported")),
            0xDB => {
                let mut rest = body;
                while !rest.is_empty() {
                    let (wide, id) = (rest[0] >> 4 == 1, usize::from(rest[0] & 15));
                    let size = if wide { 128 } else { 64 };
                    let values = rest.get(1..1 + size).ok_or_else(|| err("DQT truncated"))?;
                    if id > 3 {
                        return Err(err("quantization table index out of range"));
                    }
                    let mut table = [0i32; 64];
                    for (k, q) in table.iter_mut().enumerate() {
                        *q = if wide {
                            i32::from(u16::from_be_bytes([values[2 * k], values[2 * k + 1]]))
                        } else {
                            i32::from(values[k])
                        };
                    }
                    quant[id] = Some(table);
                    rest = &rest[1 + size..];
                }
            }
            0xDD => {
                let b = body.get(..2).ok_or_else(|| err("DRI truncated"))?;
                restart_interval = usize::from(u16::from_be_bytes([b[0], b[1]]));
            }
            0xDC => return Err(err("DNL (height defined later) is not supported")),
            0xDA => {
                let (precision, width, height, component, q) =
                    frame.ok_or_else(|| err("SOS before SOF"))?;
                if image.is_some() {
                    return Err(err("more than one scan for one component"));
                }
                if body.len() < 6 || body[0] != 1 || body[1] != component {
                    return Err(err("scan does not code the frame's component"));
                }
                // Ss/Se/Ah/Al are fixed for sequential DCT; like libjpeg we
                // ignore wrong values (pydicom's JPEG-lossy.dcm has Se = 0).
                let dc = dc_tables[usize::from(body[2] >> 4)]
                    .as_ref()
                    .ok_or_else(|| err("scan uses an undefined DC table"))?;
                let ac = ac_tables[usize::from(body[2] & 15)]
                    .as_ref()
                    .ok_or_else(|| err("scan uses an undefined AC table"))?;
                let quant = quant[q].ok_or_else(|| err("undefined quantization table"))?;
                let mut bits = BitReader::new(data, segments.at);
                let samples = decode_scan(
                    &mut bits,
                    ScanSetup {
                        dc,
                        ac,
                        quant: &quant,
                        precision,
                        width,
                        height,
                        restart_interval,
                    },
                )?;
                image = Some(Image {
                    width,
                    height,
                    bits: precision,
                    samples,
                });
                // Resume marker parsing after the entropy-coded data.
                let mut at = bits.at;
                while at + 1 < data.len() && !(data[at] == 0xFF && data[at + 1] != 0) {
                    at += 1;
                }
                segments.at = at;
            }
            _ => {} // APPn, COM and other segments carry nothing we need.
        }
    }
    image.ok_or_else(|| err("no scan"))
}

/// What one scan needs besides its bits.
struct ScanSetup<'t> {
    dc: &'t Huffman,
    ac: &'t Huffman,
    quant: &'t [i32; 64],
    precision: u32,
    width: usize,
    height: usize,
    restart_interval: usize,
}

fn decode_scan(bits: &mut BitReader<'_>, setup: ScanSetup<'_>) -> Result<Vec<u16>, String> {
    let ScanSetup {
        dc,
        ac,
        quant,
        precision,
        width,
        height,
        restart_interval,
    } = setup;
    let (blocks_across, blocks_down) = (width.div_ceil(8), height.div_ceil(8));
    let mut samples = vec![0u16; width * height];
    let idct = Idct::new();
    let level_shift = (1i32 << (precision - 1)) as f32;
    let max_value = (1i32 << precision) - 1;
    let mut prediction = 0i32;
    let mut coefficients = [0i32; 64];
    let mut spatial = [0.0f32; 64];
    let total = blocks_across * blocks_down;
    for block in 0..total {
        if restart_interval > 0 && block > 0 && block % restart_interval == 0 {
            bits.restart()?;
            prediction = 0;
        }
        coefficients.fill(0);
        let size = u32::from(dc.decode(bits)?);
        if size > 16 {
            return Err(err(format_args!("DC magnitude category {size}")));
        }
        prediction = prediction.wrapping_add(extend(bits.bits(size)?, size));
        coefficients[0] = prediction.wrapping_mul(quant[0]);
        let mut k = 1;
        while k < 64 {
            let rs = ac.decode(bits)?;
            let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
            if size == 0 {
                if run != 15 {
                    break; // end of block
                }
                k += 16;
                continue;
            }
            k += run;
            if k > 63 {
                return Err(err(format_args!("AC coefficients overrun block {block}")));
            }
            coefficients[ZIGZAG[k]] = extend(bits.bits(size)?, size).wrapping_mul(quant[k]);
            k += 1;
        }
        idct.inverse(&coefficients, &mut spatial);
        let (bx, by) = (block % blocks_across * 8, block / blocks_across * 8);
        for y in 0..8.min(height - by) {
            let row = &mut samples[(by + y) * width + bx..];
            for x in 0..8.min(width - bx) {
                let value = (spatial[y * 8 + x] + level_shift).round() as i32;
                row[x] = value.clamp(0, max_value) as u16;
            }
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_matches_t81_f12() {
        assert_eq!(extend(0, 1), -1);
        assert_eq!(extend(1, 1), 1);
        assert_eq!(extend(0b011, 3), -4);
        assert_eq!(extend(0b100, 3), 4);
        assert_eq!(extend(0, 0), 0);
    }

    #[test]
    fn dc_only_block_is_flat() {
        let idct = Idct::new();
        let mut coefficients = [0i32; 64];
        coefficients[0] = 800; // DC of 8·100
        let mut out = [0.0; 64];
        idct.inverse(&coefficients, &mut out);
        assert!(out.iter().all(|v| (v - 100.0).abs() < 1e-3), "{out:?}");
    }

    #[test]
    fn huffman_table_that_overflows_is_refused() {
        let mut counts = [0u8; 16];
        counts[0] = 3; // three 1-bit codes cannot exist
        assert!(Huffman::new(&counts, &[0, 1, 2]).is_err());
    }

    #[test]
    fn garbage_gives_errors_not_panics() {
        for data in [&[][..], &[0xFF, 0xD8], &[0xFF, 0xD8, 0xFF, 0xC1, 0, 2]] {
            assert!(decode(data, 8, 8).is_err());
        }
        assert_eq!(precision(&[0xFF, 0xD8, 0xFF, 0xC1, 0, 3, 12]), Some(12));
    }
}
