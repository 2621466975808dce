//! JPEG-LS decoder (ITU-T T.87 / ISO 14495-1), lossless and near-lossless,
//! one component, 2–16 bits. Written here because no pure-Rust decoder on
//! crates.io decodes real files and CharLS (C++) cannot target wasm32.

use super::{Image, Segments};

/// Default threshold bases and reset (T.87 C.2.4.1.1).
const BASIC_T1: i32 = 3;
const BASIC_T2: i32 = 7;
const BASIC_T3: i32 = 21;

const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];

const CODEC: &str = "JPEG-LS";

fn err(what: &str) -> String {
    format!("{CODEC}: {what}")
}

/// Bits of the entropy-coded segment, with the marker bit-stuffing rule
/// (after 0xFF only seven bits of the next byte are data).
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    current: u32,
    left: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            at: 0,
            current: 0,
            left: 0,
        }
    }

    fn bit(&mut self) -> Result<u32, String> {
        if self.left == 0 {
            let previous_ff = self.at > 0 && self.data[self.at - 1] == 0xFF;
            let byte = *self
                .data
                .get(self.at)
                .ok_or_else(|| err("entropy-coded data ends early"))?;
            self.at += 1;
            if previous_ff {
                if byte & 0x80 != 0 {
                    return Err(err("marker inside entropy-coded data"));
                }
                self.current = u32::from(byte);
                self.left = 7;
            } else {
                self.current = u32::from(byte);
                self.left = 8;
            }
        }
        self.left -= 1;
        Ok((self.current >> self.left) & 1)
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }
}

struct Params {
    maxval: i32,
    near: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
}

fn ceil_log2(v: i32) -> u32 {
    let mut n = 0;
    while (1i64 << n) < i64::from(v) {
        n += 1;
    }
    n
}

impl Params {
    fn new(bits: u32, near: i32, lse: Option<[i32; 5]>) -> Self {
        let [mut maxval, mut t1, mut t2, mut t3, mut reset] = lse.unwrap_or([0; 5]);
        if maxval == 0 {
            maxval = (1 << bits) - 1;
        }
        let clamp = |v: i32, lo: i32, hi: i32| if v > hi || v < lo { lo } else { v };
        // Default thresholds (T.87 C.2.4.1.1); LSE values of 0 mean "default".
        let (d1, d2, d3) = if maxval >= 128 {
            let factor = (maxval.min(4095) + 128) / 256;
            let d1 = clamp(factor * (BASIC_T1 - 2) + 2 + 3 * near, near + 1, maxval);
            let d2 = clamp(factor * (BASIC_T2 - 3) + 3 + 5 * near, d1, maxval);
            (
                d1,
                d2,
                clamp(factor * (BASIC_T3 - 4) + 4 + 7 * near, d2, maxval),
            )
        } else {
            let factor = 256 / (maxval + 1);
            let d1 = clamp((BASIC_T1 / factor + 3 * near).max(2), near + 1, maxval);
            let d2 = clamp((BASIC_T2 / factor + 5 * near).max(3), d1, maxval);
            (
                d1,
                d2,
                clamp((BASIC_T3 / factor + 7 * near).max(4), d2, maxval),
            )
        };
        if t1 == 0 {
            t1 = d1;
        }
        if t2 == 0 {
            t2 = d2;
        }
        if t3 == 0 {
            t3 = d3;
        }
        if reset == 0 {
            reset = 64;
        }
        let range = (maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = ceil_log2(range);
        let bpp = ceil_log2(maxval + 1).max(2);
        Self {
            maxval,
            near,
            t1,
            t2,
            t3,
            reset,
            range,
            qbpp,
            limit: 2 * (bpp + bpp.max(8)),
        }
    }

    fn quantize(&self, d: i32) -> i32 {
        if d <= -self.t3 {
            -4
        } else if d <= -self.t2 {
            -3
        } else if d <= -self.t1 {
            -2
        } else if d < -self.near {
            -1
        } else if d <= self.near {
            0
        } else if d < self.t1 {
            1
        } else if d < self.t2 {
            2
        } else if d < self.t3 {
            3
        } else {
            4
        }
    }
}

// 64-bit counters: corrupt streams with a large RESET must not overflow.
#[derive(Clone, Copy)]
struct Context {
    a: i64,
    b: i64,
    c: i64,
    n: i64,
}

#[derive(Clone, Copy)]
struct RunContext {
    a: i64,
    n: i64,
    nn: i64,
}

/// Limited-length Golomb code.
fn golomb(bits: &mut Bits<'_>, k: u32, limit: u32, qbpp: u32) -> Result<i32, String> {
    let mut q: u32 = 0;
    while bits.bit()? == 0 {
        q += 1;
        if q > limit {
            return Err(err("Golomb code too long"));
        }
    }
    let value = if q < limit.saturating_sub(qbpp + 1) {
        (u64::from(q) << k) | u64::from(bits.bits(k)?)
    } else {
        u64::from(bits.bits(qbpp)?) + 1
    };
    // Mapped errors never exceed twice the 16-bit range; more is corruption.
    if value > 1 << 18 {
        return Err(err("error value out of range"));
    }
    Ok(value as i32)
}

struct Decoder<'a> {
    p: Params,
    bits: Bits<'a>,
    contexts: Vec<Context>,
    run: [RunContext; 2],
    run_index: usize,
}

impl Decoder<'_> {
    fn reconstruct(&self, predicted: i32, error: i32) -> i32 {
        let p = &self.p;
        let mut x = predicted + error * (2 * p.near + 1);
        if x < -p.near {
            x += p.range * (2 * p.near + 1);
        } else if x > p.maxval + p.near {
            x -= p.range * (2 * p.near + 1);
        }
        x.clamp(0, p.maxval)
    }

    fn regular(&mut self, q: [i32; 3], a: i32, b: i32, c: i32) -> Result<i32, String> {
        let (mut q1, mut q2, mut q3) = (q[0], q[1], q[2]);
        let sign = if q1 < 0 || (q1 == 0 && (q2 < 0 || (q2 == 0 && q3 < 0))) {
            (q1, q2, q3) = (-q1, -q2, -q3);
            -1
        } else {
            1
        };
        let index = ((q1 + 4) * 81 + (q2 + 4) * 9 + (q3 + 4)) as usize;
        let ctx = self.contexts[index];
        let mut predicted = if c >= a.max(b) {
            a.min(b)
        } else if c <= a.min(b) {
            a.max(b)
        } else {
            a + b - c
        };
        predicted = (predicted + sign * ctx.c as i32).clamp(0, self.p.maxval);
        let mut k = 0;
        while (ctx.n << k) < ctx.a {
            k += 1;
            if k > 24 {
                return Err(err("corrupt context"));
            }
        }
        let mapped = golomb(&mut self.bits, k, self.p.limit, self.p.qbpp)?;
        let mut error = (mapped >> 1) ^ -(mapped & 1);
        if k == 0 && self.p.near == 0 && 2 * ctx.b + ctx.n - 1 < 0 {
            error = !error;
        }
        let x = self.reconstruct(predicted, sign * error);
        // Context update with the quantised error.
        let ctx = &mut self.contexts[index];
        ctx.b += i64::from(error) * i64::from(2 * self.p.near + 1);
        ctx.a += i64::from(error.abs());
        if ctx.n == i64::from(self.p.reset) {
            ctx.a >>= 1;
            ctx.b >>= 1;
            ctx.n >>= 1;
        }
        ctx.n += 1;
        if ctx.b + ctx.n <= 0 {
            ctx.b += ctx.n;
            if ctx.b <= -ctx.n {
                ctx.b = -ctx.n + 1;
            }
            if ctx.c > -128 {
                ctx.c -= 1;
            }
        } else if ctx.b > 0 {
            ctx.b -= ctx.n;
            if ctx.b > 0 {
                ctx.b = 0;
            }
            if ctx.c < 127 {
                ctx.c += 1;
            }
        }
        Ok(x)
    }

    fn interruption(&mut self, a: i32, b: i32) -> Result<i32, String> {
        let ri_type = usize::from((a - b).abs() <= self.p.near);
        let ctx = self.run[ri_type];
        let temp = if ri_type == 1 {
            ctx.a + (ctx.n >> 1)
        } else {
            ctx.a
        };
        let mut k = 0;
        while (ctx.n << k) < temp {
            k += 1;
            if k > 24 {
                return Err(err("corrupt run context"));
            }
        }
        let limit = self.p.limit - J[self.run_index] - 1;
        let emapped = golomb(&mut self.bits, k, limit, self.p.qbpp)?;
        let t = emapped + ri_type as i32;
        let map = t & 1 == 1;
        let magnitude = (t + i32::from(map)) / 2;
        let error = if (k != 0 || 2 * ctx.nn >= ctx.n) == map {
            -magnitude
        } else {
            magnitude
        };
        let x = if ri_type == 1 {
            self.reconstruct(a, error)
        } else {
            self.reconstruct(b, error * if b > a { 1 } else { -1 })
        };
        let ctx = &mut self.run[ri_type];
        if error < 0 {
            ctx.nn += 1;
        }
        ctx.a += i64::from((emapped + 1 - ri_type as i32) >> 1);
        if ctx.n == i64::from(self.p.reset) {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        Ok(x)
    }

    fn image(&mut self, width: usize, height: usize) -> Result<Vec<u16>, String> {
        // Lines with one extra sample on each side, for the edge rules.
        let mut previous = vec![0i32; width + 2];
        let mut current = vec![0i32; width + 2];
        let mut out = Vec::with_capacity(width * height);
        for _ in 0..height {
            previous[width + 1] = previous[width];
            current[0] = previous[1];
            let mut x = 1;
            while x <= width {
                let (a, b, c, d) = (
                    current[x - 1],
                    previous[x],
                    previous[x - 1],
                    previous[x + 1],
                );
                let q = [
                    self.p.quantize(d - b),
                    self.p.quantize(b - c),
                    self.p.quantize(c - a),
                ];
                if q == [0, 0, 0] {
                    // Run mode.
                    let mut remaining = width + 1 - x;
                    loop {
                        if self.bits.bit()? == 1 {
                            let count = (1usize << J[self.run_index]).min(remaining);
                            for _ in 0..count {
                                current[x] = a;
                                x += 1;
                            }
                            remaining -= count;
                            if count == 1 << J[self.run_index] && self.run_index < 31 {
                                self.run_index += 1;
                            }
                            if remaining == 0 {
                                break;
                            }
                        } else {
                            let count = self.bits.bits(J[self.run_index])? as usize;
                            if count > remaining {
                                return Err(err("run longer than the line"));
                            }
                            for _ in 0..count {
                                current[x] = a;
                                x += 1;
                            }
                            if x <= width {
                                current[x] = self.interruption(a, previous[x])?;
                                x += 1;
                            }
                            self.run_index = self.run_index.saturating_sub(1);
                            break;
                        }
                    }
                } else {
                    current[x] = self.regular(q, a, b, c)?;
                    x += 1;
                }
            }
            out.extend(current[1..=width].iter().map(|&v| v as u16));
            std::mem::swap(&mut previous, &mut current);
        }
        Ok(out)
    }
}

/// Decodes a JPEG-LS stream (SOI … EOI) holding one greyscale image of the
/// expected size (checked before anything is allocated).
pub fn decode(data: &[u8], expected_width: usize, expected_height: usize) -> Result<Image, String> {
    let mut segments = Segments::new(data, CODEC)?;
    let (mut width, mut height, mut bits, mut lse) = (0, 0, 0, None);
    loop {
        let (marker, body) = segments
            .next_segment()?
            .ok_or_else(|| err("no SOS marker"))?;
        match marker {
            0xF7 => {
                // SOF55: P, Y, X, Nf, components.
                if body.len() < 6 {
                    return Err(err("short SOF55"));
                }
                bits = u32::from(body[0]);
                height = usize::from(u16::from_be_bytes([body[1], body[2]]));
                width = usize::from(u16::from_be_bytes([body[3], body[4]]));
                if body[5] != 1 {
                    return Err(err(&format!(
                        "{} components, only greyscale is supported",
                        body[5]
                    )));
                }
            }
            0xF8 => {
                if body.first() == Some(&1) && body.len() >= 11 {
                    let v = |i: usize| i32::from(u16::from_be_bytes([body[i], body[i + 1]]));
                    lse = Some([v(1), v(3), v(5), v(7), v(9)]);
                } else {
                    return Err(err("unsupported LSE segment (mapping tables)"));
                }
            }
            0xDA => {
                // SOS: Ns, (Ci, Tmi)*, NEAR, ILV, Al/Ah.
                let ns = usize::from(*body.first().ok_or_else(|| err("short SOS"))?);
                let near = i32::from(*body.get(1 + 2 * ns).ok_or_else(|| err("short SOS"))?);
                if near > 255 / 2 {
                    return Err(err(&format!("NEAR {near} out of range")));
                }
                if ns != 1 {
                    return Err(err("interleaved scans are not supported"));
                }
                if !(2..=16).contains(&bits) || width != expected_width || height != expected_height
                {
                    return Err(err(&format!(
                        "frame is {width}x{height} with {bits} bits, header says {expected_width}x{expected_height}"
                    )));
                }
                let mut decoder = Decoder {
                    p: Params::new(bits, near, lse),
                    bits: Bits::new(&data[segments.at..]),
                    contexts: vec![
                        Context {
                            a: 0,
                            b: 0,
                            c: 0,
                            n: 1
                        };
                        729
                    ],
                    run: [RunContext { a: 0, n: 1, nn: 0 }; 2],
                    run_index: 0,
                };
                let initial_a = i64::from(((decoder.p.range + 32) / 64).max(2));
                for c in &mut decoder.contexts {
                    c.a = initial_a;
                }
                for r in &mut decoder.run {
                    r.a = initial_a;
                }
                let samples = decoder.image(width, height)?;
                return Ok(Image {
                    width,
                    height,
                    bits,
                    samples,
                });
            }
            _ => {}
        }
    }
}
