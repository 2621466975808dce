//! The demo spine's anatomy as rigid bones placed along a curved column:
//! T10 (cut by the scan) to L5 and the sacrum with the iliac wings, each vertebra with a
//! waisted body and endplates, pedicles, laminae, superior and inferior
//! articular, transverse and spinous processes; ribs on T10 to T12; discs
//! and the dural sac between. Each bone lives in its own frame, so lordosis,
//! scoliosis and a wedge fracture are exact and the truth (labels, heights,
//! endplate angles) follows from the same numbers.

use glam::DVec3;

use super::Variant;
use super::shapes::{Frame, coverage, cuboid, ellipse, paint, rod};

/// Sizes of one vertebra (mm): body half-width `w`, half-depth `d`, height
/// `h`; canal half-width `cw` and half-depth `ch`; transverse process reach
/// from the midline; the disc below.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub name: &'static str,
    pub w: f64,
    pub d: f64,
    pub h: f64,
    pub cw: f64,
    pub ch: f64,
    pub transverse: f64,
    pub spinous: f64,
    pub disc_below: f64,
    /// Sagittal tilt of the body's axis (degrees, + leans the top anterior).
    pub sagittal: f64,
    /// Coronal tilt (degrees) of the scoliosis variant.
    pub coronal: f64,
    /// Rib length (0: none).
    pub rib: f64,
}

/// T10..L5, top down: lumbar bodies taller and wider, discs thicker below,
/// a lordosis of about 44° from L1 to S1.
const LEVELS: [Level; 8] = [
    level(
        "T10", 16.0, 12.5, 20.0, 8.5, 7.5, 28.0, 25.0, 5.0, -12.0, 14.0, 130.0,
    ),
    level(
        "T11", 17.0, 13.0, 21.0, 8.5, 7.5, 27.0, 26.0, 6.0, -11.0, 13.0, 120.0,
    ),
    level(
        "T12", 19.0, 14.0, 22.0, 8.5, 7.5, 25.0, 27.0, 7.0, -9.0, 10.0, 75.0,
    ),
    level(
        "L1", 21.0, 15.0, 24.0, 10.5, 8.0, 34.0, 30.0, 8.0, -6.0, 5.0, 0.0,
    ),
    level(
        "L2", 22.0, 16.0, 25.0, 11.0, 8.0, 38.0, 31.0, 9.0, -1.0, -1.0, 0.0,
    ),
    level(
        "L3", 23.0, 16.5, 26.0, 11.0, 8.0, 42.0, 32.0, 10.0, 6.0, -7.0, 0.0,
    ),
    level(
        "L4", 24.0, 17.0, 26.0, 11.0, 8.0, 38.0, 31.0, 10.0, 15.0, -12.0, 0.0,
    ),
    level(
        "L5", 25.0, 17.0, 25.0, 11.5, 8.0, 36.0, 28.0, 11.0, 25.0, -6.0, 0.0,
    ),
];

#[allow(clippy::too_many_arguments)]
const fn level(
    name: &'static str,
    w: f64,
    d: f64,
    h: f64,
    cw: f64,
    ch: f64,
    transverse: f64,
    spinous: f64,
    disc_below: f64,
    sagittal: f64,
    coronal: f64,
    rib: f64,
) -> Level {
    Level {
        name,
        w,
        d,
        h,
        cw,
        ch,
        transverse,
        spinous,
        disc_below,
        sagittal,
        coronal,
        rib,
    }
}

/// The sacrum's slope (degrees between the S1 endplate and the axial plane).
const SACRAL_SLOPE: f64 = 38.0;
/// S1 body: half-width, half-depth, height.
const S1: (f64, f64, f64) = (24.0, 16.0, 22.0);
/// The waist: bodies are this much narrower at mid-height.
const WAIST: f64 = 0.06;
/// Depth of each endplate's central concavity (mm).
const CONCAVITY: f64 = 1.0;
/// Height lost at the anterior edge of the fractured L1 of
/// [`Variant::L1Wedge`], as a fraction of its height: measured at 80% of
/// the half-depth the anterior height is about 65% of the posterior, a
/// Genant grade 2 wedge.
const WEDGE_FRACTION: f64 = 0.42;

const CORTEX_HU: f64 = 760.0;
const CANCELLOUS_HU: f64 = 230.0;
const PROCESS_HU: f64 = 700.0;
const SHELL_MM: f64 = 1.5;

/// What a bone is made of: a waisted, endplated vertebral body (cortex
/// and cancellous core) or dense bone.
#[derive(Debug, Clone, Copy)]
enum Part {
    Body {
        w: f64,
        d: f64,
        h: f64,
        wedge: f64,
    },
    Rod {
        a: DVec3,
        b: DVec3,
        r: f64,
    },
    Cuboid {
        min: DVec3,
        max: DVec3,
    },
    /// A box sheared so its up coordinate drops by `slope` per mm posterior
    /// (a spinous process pointing down).
    Sloped {
        min: DVec3,
        max: DVec3,
        slope: f64,
    },
    /// The posterior half-ring of bone around the canal (pedicles to
    /// laminae), between `bottom` and `top`.
    Arch {
        centre_a: f64,
        cw: f64,
        ch: f64,
        thick: f64,
        bottom: f64,
        top: f64,
    },
    /// A flat plate through `centre` with normal `normal`, an ellipse of
    /// radii `radii` along `u` and `v`, cut off behind `u < 0`.
    Plate {
        centre: DVec3,
        u: DVec3,
        v: DVec3,
        normal: DVec3,
        radii: (f64, f64),
        half_thick: f64,
        offset_u: f64,
    },
}

impl Part {
    /// Signed distance (mm) in the bone's local coordinates.
    fn distance(&self, p: DVec3) -> f64 {
        match *self {
            Part::Body { w, d, h, wedge } => body_distance(p, w, d, h, wedge),
            Part::Rod { a, b, r } => rod(p, a, b, r),
            Part::Cuboid { min, max } => cuboid(p, min, max),
            Part::Sloped { min, max, slope } => {
                let sheared = DVec3::new(p.x, p.y, p.z + slope * (max.y - p.y));
                cuboid(sheared, min, max)
            }
            Part::Arch {
                centre_a,
                cw,
                ch,
                thick,
                bottom,
                top,
            } => {
                let (x, y) = (p.x, p.y - centre_a);
                let outer = ellipse(x, y, cw + thick, ch + thick);
                let inner = -ellipse(x, y, cw, ch);
                let posterior = y - ch * 0.2;
                let vertical = (bottom - p.z).max(p.z - top);
                outer.max(inner).max(posterior).max(vertical)
            }
            Part::Plate {
                centre,
                u,
                v,
                normal,
                radii,
                half_thick,
                offset_u,
            } => {
                let q = p - centre;
                let (s, t) = (q.dot(u), q.dot(v));
                ellipse(s - offset_u, t, radii.0, radii.1)
                    .max(-s)
                    .max(q.dot(normal).abs() - half_thick)
            }
        }
    }
}

/// Body top and bottom (local up) over the endplate point (x, y): concave
/// in the middle, the top lowered anteriorly by `wedge` mm.
pub(crate) fn body_ends(x: f64, y: f64, w: f64, d: f64, h: f64, wedge: f64) -> (f64, f64) {
    let r2 = ((x / w).powi(2) + (y / d).powi(2)).min(1.0);
    let dip = CONCAVITY * (1.0 - r2);
    let top = h / 2.0 - dip - wedge * (y / d + 1.0) / 2.0;
    (-h / 2.0 + dip, top)
}

/// The waist factor at local height `z`.
pub(crate) fn waist(z: f64, h: f64) -> f64 {
    1.0 - WAIST * (1.0 - (2.0 * z / h).powi(2)).max(0.0)
}

fn body_distance(p: DVec3, w: f64, d: f64, h: f64, wedge: f64) -> f64 {
    let k = waist(p.z, h);
    let (bottom, top) = body_ends(p.x, p.y, w, d, h, wedge);
    ellipse(p.x, p.y, w * k, d * k)
        .max(p.z - top)
        .max(bottom - p.z)
}

/// A bone: its frame, its parts and their density.
#[derive(Debug, Clone)]
pub(crate) struct Bone {
    pub name: &'static str,
    pub frame: Frame,
    parts: Vec<(Part, f64)>,
    /// Patient-space bounds, for skipping voxels far away.
    min: DVec3,
    max: DVec3,
}

impl Bone {
    fn contains_box(&self, p: DVec3) -> bool {
        p.cmpge(self.min).all() && p.cmple(self.max).all()
    }
}

/// One placed vertebra with its sizes, for the truth.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    pub level: Level,
    pub frame: Frame,
    pub wedge: f64,
}

/// The whole model.
#[derive(Debug, Clone)]
pub(crate) struct SpineModel {
    pub vertebrae: Vec<Placed>,
    pub sacrum: Frame,
    pub bones: Vec<Bone>,
    /// Body centres top down, the sacrum last.
    centres: Vec<DVec3>,
    /// Frame, half-width, half-depth and height of each body top down, S1 last.
    disc_frames: Vec<(Frame, f64, f64, f64)>,
    /// z of the lowest point worth showing and of T11's top (patient mm,
    /// before the model is moved to start at z = 0).
    pub z_range: (f64, f64),
}

fn tilted_up(sagittal: f64, coronal: f64) -> DVec3 {
    let (s, c) = (sagittal.to_radians(), coronal.to_radians());
    DVec3::new(c.tan(), -s.tan(), 1.0).normalize()
}

impl SpineModel {
    /// Places S1 and builds the column upwards; then moves everything so the
    /// lowest slice worth showing is at z = 0.
    pub fn new(variant: Variant) -> Self {
        let coronal = |l: &Level| match variant {
            Variant::Scoliosis => l.coronal,
            _ => 0.0,
        };
        let sacrum_up = tilted_up(SACRAL_SLOPE, 0.0);
        // S1's body centre: its superior endplate centre is at the origin.
        let sacrum = Frame::new(-sacrum_up * (S1.2 / 2.0), sacrum_up);
        let mut top_centre = DVec3::ZERO;
        let mut below_up = sacrum_up;
        let mut vertebrae = Vec::new();
        for l in LEVELS.iter().rev() {
            let up = tilted_up(l.sagittal, coronal(l));
            let disc_axis = (below_up + up).normalize();
            let centre = top_centre + disc_axis * l.disc_below + up * (l.h / 2.0);
            let wedge = if variant == Variant::L1Wedge && l.name == "L1" {
                WEDGE_FRACTION * l.h
            } else {
                0.0
            };
            vertebrae.push(Placed {
                level: *l,
                frame: Frame::new(centre, up),
                wedge,
            });
            top_centre = centre + up * (l.h / 2.0);
            below_up = up;
        }
        vertebrae.reverse();
        // The scan ends in the middle of T10 (a vertebra cut by the edge,
        // as in most scans) and 55 mm under the S1 endplate.
        let z_top = vertebrae[0].frame.origin.z;
        let z_bottom = -55.0;
        let shift = DVec3::new(0.0, 22.0, -z_bottom);
        let moved = |f: Frame| Frame {
            origin: f.origin + shift,
            ..f
        };
        for v in &mut vertebrae {
            v.frame = moved(v.frame);
        }
        let sacrum = moved(sacrum);
        let mut bones: Vec<Bone> = vertebrae
            .iter()
            .enumerate()
            .map(|(n, v)| {
                let above = n.checked_sub(1).map(|a| vertebrae[a].level.disc_below);
                vertebra(v, above.unwrap_or(4.0))
            })
            .collect();
        bones.push(sacrum_bone(sacrum));
        for side in [-1.0, 1.0] {
            bones.push(ilium(sacrum, side));
        }
        for v in vertebrae.iter().filter(|v| v.level.rib > 0.0) {
            bones.push(rib(v));
        }
        let centres = vertebrae
            .iter()
            .map(|v| v.frame.origin)
            .chain([sacrum.origin])
            .collect();
        let disc_frames = vertebrae
            .iter()
            .map(|x| (x.frame, x.level.w, x.level.d, x.level.h))
            .chain([(sacrum, S1.0, S1.1, S1.2)])
            .collect();
        Self {
            vertebrae,
            sacrum,
            bones,
            centres,
            disc_frames,
            z_range: (0.0, z_top - z_bottom),
        }
    }

    /// The bones whose bounds reach the axial plane at height `z`.
    pub fn bones_near(&self, z: f64) -> Vec<usize> {
        (0..self.bones.len())
            .filter(|&b| self.bones[b].min.z <= z + 1.0 && self.bones[b].max.z >= z - 1.0)
            .collect()
    }

    /// HU and the index of the bone (into `bones`) that holds most of the
    /// voxel at `p`, if any; `near` from [`Self::bones_near`], `centre`
    /// from [`Self::column_at`] for the same slice.
    pub fn sample(
        &self,
        p: DVec3,
        voxel: f64,
        near: &[usize],
        centre: DVec3,
    ) -> (f64, Option<usize>) {
        let mut v = -1000.0;
        let (cx, cy) = (p.x, p.y - 10.0);
        paint_ellipse(&mut v, -100.0, cx, cy, (160.0, 118.0), voxel); // fat
        paint_ellipse(&mut v, 45.0, cx, cy, (148.0, 104.0), voxel); // muscle, organs
        let (ax, ay) = (p.x - centre.x, p.y - centre.y);
        if ax.abs() < 45.0 && ay > -50.0 && ay < -10.0 {
            paint_ellipse(&mut v, 40.0, ax - 16.0, ay + 30.0, (11.0, 11.0), voxel); // aorta
            paint_ellipse(&mut v, 38.0, ax + 24.0, ay + 28.0, (12.0, 10.0), voxel); // IVC
        }
        let by_column = (p.x - centre.x).abs() < 70.0 && (p.y - centre.y).abs() < 90.0;
        if by_column {
            self.discs(p, &mut v, voxel);
        }
        let mut owner = None;
        for &index in near {
            let bone = &self.bones[index];
            if !bone.contains_box(p) {
                continue;
            }
            let local = bone.frame.local(p);
            let mut inside = f64::INFINITY;
            for (part, hu) in &bone.parts {
                let d = part.distance(local);
                inside = inside.min(d);
                if d >= voxel {
                    continue;
                }
                paint(&mut v, *hu, coverage(d, voxel));
                if let Part::Body { .. } = part {
                    paint(&mut v, CANCELLOUS_HU, coverage(d + SHELL_MM, voxel));
                }
            }
            if inside <= 0.0 && owner.is_none() {
                owner = Some(index);
            }
        }
        if by_column {
            self.canal(p, &mut v, voxel);
        }
        (v, owner)
    }

    /// The column's body centre at height z (interpolated between bodies).
    pub fn column_at(&self, z: f64) -> DVec3 {
        let mut best = self.centres[0];
        for pair in self.centres.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if z <= a.z && z >= b.z {
                let t = (a.z - z) / (a.z - b.z);
                return a.lerp(b, t);
            }
            if z < b.z {
                best = b;
            }
        }
        best
    }

    /// Annulus and nucleus between each pair of neighbouring bodies.
    fn discs(&self, p: DVec3, v: &mut f64, voxel: f64) {
        for pair in self.disc_frames.windows(2) {
            let (upper, lower) = (pair[0], pair[1]);
            if p.z > upper.0.origin.z + 5.0 || p.z < lower.0.origin.z - 5.0 {
                continue;
            }
            let (lu, ll) = (upper.0.local(p), lower.0.local(p));
            if lu.z > -upper.3 / 2.0 + 2.0 || ll.z < lower.3 / 2.0 - 2.0 {
                continue;
            }
            let (w, d) = ((upper.1 + lower.1) / 2.0, (upper.2 + lower.2) / 2.0);
            paint(v, 90.0, coverage(ellipse(lu.x, lu.y, w, d), voxel));
            paint(
                v,
                72.0,
                coverage(ellipse(lu.x, lu.y, w * 0.5, d * 0.5), voxel),
            );
        }
    }

    /// The dural sac (CSF) down the canal of every vertebra and the sacrum.
    fn canal(&self, p: DVec3, v: &mut f64, voxel: f64) {
        for placed in &self.vertebrae {
            if (p.z - placed.frame.origin.z).abs() > 40.0 {
                continue;
            }
            let l = placed.frame.local(p);
            let reach = placed.level.h / 2.0 + placed.level.disc_below / 2.0 + 6.0;
            if l.z.abs() > reach {
                continue;
            }
            let lv = placed.level;
            let centre = canal_centre(lv.d, lv.ch);
            let d = ellipse(l.x, l.y - centre, lv.cw - 1.0, lv.ch - 1.0);
            paint(v, 15.0, coverage(d, voxel));
        }
        let l = self.sacrum.local(p);
        if l.z < S1.2 / 2.0 + 6.0 && l.z > -S1.2 / 2.0 - 55.0 {
            let drop = (S1.2 / 2.0 - l.z).max(0.0);
            let centre = canal_centre(S1.1, 7.0) - drop * 0.25;
            let d = ellipse(l.x, l.y - centre, 9.0 - drop * 0.06, 6.0 - drop * 0.04);
            paint(v, 15.0, coverage(d, voxel));
        }
    }
}

/// Paints an ellipse, skipping the square root far inside or outside it.
fn paint_ellipse(v: &mut f64, hu: f64, dx: f64, dy: f64, (a, b): (f64, f64), voxel: f64) {
    let q = (dx / a).powi(2) + (dy / b).powi(2);
    let margin = voxel / a.min(b);
    if q >= (1.0 + margin).powi(2) {
        return;
    }
    if q <= (1.0 - margin).powi(2) {
        *v = hu;
        return;
    }
    paint(v, hu, coverage(ellipse(dx, dy, a, b), voxel));
}

/// Local anterior coordinate of the canal's centre behind a body of
/// half-depth `d` (1.5 mm of posterior wall, then the canal).
pub(crate) fn canal_centre(d: f64, ch: f64) -> f64 {
    -d - 1.5 - ch
}

fn bounds(frame: &Frame, min: DVec3, max: DVec3) -> (DVec3, DVec3) {
    let mut lo = DVec3::splat(f64::INFINITY);
    let mut hi = DVec3::splat(f64::NEG_INFINITY);
    for corner in 0..8 {
        let c = DVec3::new(
            if corner & 1 == 0 { min.x } else { max.x },
            if corner & 2 == 0 { min.y } else { max.y },
            if corner & 4 == 0 { min.z } else { max.z },
        );
        let w = frame.world(c);
        lo = lo.min(w);
        hi = hi.max(w);
    }
    (lo - 2.0, hi + 2.0)
}

fn bone(name: &'static str, frame: Frame, parts: Vec<(Part, f64)>, reach: (DVec3, DVec3)) -> Bone {
    let (min, max) = bounds(&frame, reach.0, reach.1);
    Bone {
        name,
        frame,
        parts,
        min,
        max,
    }
}

fn vertebra(v: &Placed, disc_above: f64) -> Bone {
    let l = v.level;
    let (w, d, h) = (l.w, l.d, l.h);
    let ca = canal_centre(d, l.ch);
    let v3 = DVec3::new;
    let mut parts = vec![(
        Part::Body {
            w,
            d,
            h,
            wedge: v.wedge,
        },
        CORTEX_HU,
    )];
    let pedicle_z = 0.2 * h;
    for side in [-1.0, 1.0] {
        let x = side * (l.cw + 3.0);
        // Pedicle: from the body's back to the arch, taller than wide.
        for dz in [-2.5, 2.5] {
            parts.push((
                Part::Rod {
                    a: v3(x, -d + 3.0, pedicle_z + dz),
                    b: v3(x, ca - 2.0, pedicle_z + dz),
                    r: 4.0,
                },
                PROCESS_HU,
            ));
        }
        // Transverse process, out from the arch.
        let (x0, x1) = (l.cw + 2.0, l.transverse);
        let (lo, hi) = if side < 0.0 { (-x1, -x0) } else { (x0, x1) };
        parts.push((
            Part::Cuboid {
                min: v3(lo, ca - 6.0, 0.15 * h - 4.5),
                max: v3(hi, ca + 2.0, 0.15 * h + 4.5),
            },
            PROCESS_HU,
        ));
        // Superior articular process, rising to the disc above.
        let (s0, s1) = (l.cw + 3.5, l.cw + 8.0);
        let (lo, hi) = if side < 0.0 { (-s1, -s0) } else { (s0, s1) };
        parts.push((
            Part::Cuboid {
                min: v3(lo, ca - 6.0, pedicle_z),
                max: v3(hi, ca + 3.0, h / 2.0 + disc_above - 2.0),
            },
            PROCESS_HU,
        ));
        // Inferior articular process: medial, behind, hanging to the disc below.
        let (i0, i1) = (l.cw - 2.0, l.cw + 0.5);
        let (lo, hi) = if side < 0.0 { (-i1, -i0) } else { (i0, i1) };
        parts.push((
            Part::Cuboid {
                min: v3(lo, ca - 12.0, -h / 2.0 - l.disc_below + 1.0),
                max: v3(hi, ca - 6.0, -0.2 * h),
            },
            PROCESS_HU,
        ));
    }
    parts.push((
        Part::Arch {
            centre_a: ca,
            cw: l.cw,
            ch: l.ch,
            thick: 5.5,
            bottom: -h / 2.0 + 3.0,
            top: h / 2.0 - 3.0,
        },
        PROCESS_HU,
    ));
    // Spinous process, from the laminae backwards and down.
    let back = ca - l.ch - 4.0;
    parts.push((
        Part::Sloped {
            min: v3(-3.0, back - l.spinous, -0.1 * h - 6.0),
            max: v3(3.0, back, -0.1 * h + 6.0),
            slope: 0.45,
        },
        PROCESS_HU,
    ));
    let reach = (
        v3(
            -l.transverse - 1.0,
            back - l.spinous - 1.0,
            -h / 2.0 - l.spinous * 0.45 - 14.0,
        ),
        v3(l.transverse + 1.0, d + 1.0, h / 2.0 + disc_above + 1.0),
    );
    bone(l.name, v.frame, parts, reach)
}

fn sacrum_bone(frame: Frame) -> Bone {
    let (w, d, h) = S1;
    let ca = canal_centre(d, 7.0);
    let v3 = DVec3::new;
    let parts = vec![
        (
            Part::Body {
                w,
                d,
                h,
                wedge: 0.0,
            },
            CORTEX_HU,
        ),
        // The fused lower sacrum, tapering and curving back.
        (
            Part::Rod {
                a: v3(0.0, -2.0, -h / 2.0),
                b: v3(0.0, -14.0, -h / 2.0 - 55.0),
                r: 14.0,
            },
            PROCESS_HU,
        ),
        // The alae, out to the sacroiliac joints.
        (
            Part::Cuboid {
                min: v3(-48.0, ca - 8.0, -h / 2.0 - 30.0),
                max: v3(48.0, d - 6.0, h / 2.0 - 4.0),
            },
            PROCESS_HU,
        ),
        // The posterior wall and median crest.
        (
            Part::Cuboid {
                min: v3(-14.0, ca - 16.0, -h / 2.0 - 50.0),
                max: v3(14.0, ca, h / 2.0 - 6.0),
            },
            PROCESS_HU,
        ),
    ];
    bone(
        "sacrum",
        frame,
        parts,
        (
            v3(-49.0, ca - 30.0, -h / 2.0 - 80.0),
            v3(49.0, d + 1.0, h / 2.0 + 1.0),
        ),
    )
}

/// An iliac wing: a plate from the sacroiliac joint, out and forwards.
fn ilium(sacrum: Frame, side: f64) -> Bone {
    let (_, d, h) = S1;
    let ca = canal_centre(d, 7.0);
    let joint = sacrum.world(DVec3::new(
        side * 48.0,
        (ca - 8.0 + d - 6.0) / 2.0,
        -h / 2.0 - 10.0,
    ));
    let frame = Frame::new(joint, DVec3::Z);
    let angle = 40f64.to_radians();
    // In the ilium's own (lateral, anterior, up) frame: out and forwards.
    let out = DVec3::new(side * angle.cos(), angle.sin(), 0.0);
    let normal = out.cross(DVec3::Z);
    let parts = vec![(
        Part::Plate {
            centre: DVec3::ZERO,
            u: out,
            v: DVec3::Z,
            normal,
            radii: (62.0, 52.0),
            half_thick: 5.0,
            offset_u: 55.0,
        },
        650.0,
    )];
    let reach = |t: f64| out * t;
    let (a, b) = (reach(0.0), reach(117.0));
    let min = a.min(b) - DVec3::new(6.0, 6.0, 53.0);
    let max = a.max(b) + DVec3::new(6.0, 6.0, 53.0);
    bone("pelvis", frame, parts, (min, max))
}

/// A rib from the body's side past the transverse process, then round and
/// down (both sides as one bone: "ribs").
fn rib(v: &Placed) -> Bone {
    let l = v.level;
    let ca = canal_centre(l.d, l.ch);
    let v3 = DVec3::new;
    let mut parts = Vec::new();
    for side in [-1.0, 1.0] {
        let points = [
            v3(side * (l.w + 4.5), -l.d + 5.0, 0.25 * l.h),
            v3(side * (l.transverse + 3.5), ca - 2.0, 0.15 * l.h),
            v3(side * (l.transverse + 25.0), ca + 6.0, -8.0),
            v3(side * (l.transverse + 50.0), ca + 28.0, -20.0),
            v3(side * (l.transverse + 65.0), ca + 55.0, -32.0),
        ];
        let mut length = 0.0;
        for pair in points.windows(2) {
            if length >= l.rib {
                break;
            }
            length += (pair[1] - pair[0]).length();
            parts.push((
                Part::Rod {
                    a: pair[0],
                    b: pair[1],
                    r: 4.5,
                },
                620.0,
            ));
        }
    }
    bone(
        "ribs",
        v.frame,
        parts,
        (
            v3(-l.transverse - 75.0, -l.d - 40.0, -45.0),
            v3(l.transverse + 75.0, ca + 65.0, 20.0),
        ),
    )
}
