//! Measurements a user draws on the 2D views, in patient millimetres and
//! degrees: a distance, an angle at a vertex, a Cobb angle between two
//! lines drawn independently, and an elliptical HU region (mean, SD, min,
//! max, area). Each is only numbers and a fixed kind, never text, so the
//! list may be kept on this computer with its volume. Shared by the web
//! app's study worker (and any batch tool); the app only draws them.

use glam::DVec3;
use insitu_volume::Volume;
use serde::{Deserialize, Serialize};

/// What was drawn, in patient space (LPS mm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Shape {
    /// From `a` to `b`.
    Distance {
        /// One end.
        a: [f64; 3],
        /// The other.
        b: [f64; 3],
    },
    /// The angle at `vertex` between the rays to `a` and to `c`.
    Angle {
        /// First arm's end.
        a: [f64; 3],
        /// The vertex.
        vertex: [f64; 3],
        /// Second arm's end.
        c: [f64; 3],
    },
    /// The angle between two lines (each two points), drawn along two
    /// endplates: 0–90°.
    Cobb {
        /// The first line.
        first: [[f64; 3]; 2],
        /// The second line.
        second: [[f64; 3]; 2],
    },
    /// An ellipse centred at `centre` with semi-axis vectors `u` and `v`
    /// (mm, in the plane it was drawn in).
    Region {
        /// Its centre.
        centre: [f64; 3],
        /// First semi-axis.
        u: [f64; 3],
        /// Second semi-axis.
        v: [f64; 3],
    },
}

impl Shape {
    /// Its kind's name (CSV, `data-` attributes).
    pub fn kind(&self) -> &'static str {
        match self {
            Shape::Distance { .. } => "distance",
            Shape::Angle { .. } => "angle",
            Shape::Cobb { .. } => "cobb",
            Shape::Region { .. } => "region",
        }
    }

    /// Every point that defines it.
    pub fn points(&self) -> Vec<DVec3> {
        match *self {
            Shape::Distance { a, b } => vec![a.into(), b.into()],
            Shape::Angle { a, vertex, c } => vec![a.into(), vertex.into(), c.into()],
            Shape::Cobb { first, second } => [first, second]
                .concat()
                .into_iter()
                .map(DVec3::from)
                .collect(),
            Shape::Region { centre, u, v } => {
                let (c, u, v) = (DVec3::from(centre), DVec3::from(u), DVec3::from(v));
                vec![c, c + u, c + v, c - u, c - v]
            }
        }
    }

    /// Whether it lies in the plane through `point` with unit `normal`
    /// (within `tolerance` mm): the views that show it.
    pub fn lies_in(&self, point: DVec3, normal: DVec3, tolerance: f64) -> bool {
        self.points()
            .iter()
            .all(|p| (*p - point).dot(normal).abs() <= tolerance)
    }
}

/// Which tool draws a shape, and how many clicks it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Two clicks: the ends.
    Distance,
    /// Three clicks: an arm's end, the vertex, the other arm's end.
    Angle,
    /// Four clicks: two points on each line.
    Cobb,
    /// Two clicks: the centre, then a corner of the ellipse's box.
    Region,
}

impl Kind {
    /// Clicks that make one shape.
    pub fn clicks(self) -> usize {
        match self {
            Kind::Distance | Kind::Region => 2,
            Kind::Angle => 3,
            Kind::Cobb => 4,
        }
    }

    /// The shape `clicks` (patient mm, in a view whose screen right and
    /// down are `right` and `down`) make, once there are enough of them.
    pub fn shape(self, clicks: &[DVec3], right: DVec3, down: DVec3) -> Option<Shape> {
        if clicks.len() < self.clicks() {
            return None;
        }
        let p = |n: usize| clicks[n].to_array();
        Some(match self {
            Kind::Distance => Shape::Distance { a: p(0), b: p(1) },
            Kind::Angle => Shape::Angle {
                a: p(0),
                vertex: p(1),
                c: p(2),
            },
            Kind::Cobb => Shape::Cobb {
                first: [p(0), p(1)],
                second: [p(2), p(3)],
            },
            Kind::Region => {
                let d = clicks[1] - clicks[0];
                Shape::Region {
                    centre: p(0),
                    u: (right * d.dot(right).abs()).to_array(),
                    v: (down * d.dot(down).abs()).to_array(),
                }
            }
        })
    }
}

/// HU statistics of a region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegionStats {
    /// Mean HU.
    pub mean: f64,
    /// Standard deviation (HU).
    pub sd: f64,
    /// Lowest HU.
    pub min: f64,
    /// Highest HU.
    pub max: f64,
    /// The ellipse's area (mm²).
    pub area_mm2: f64,
    /// Voxels whose centres it covers (in its plane).
    pub voxels: usize,
}

/// A measurement's value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum Value {
    /// Millimetres.
    Mm {
        /// The length.
        value: f64,
    },
    /// Degrees.
    Degrees {
        /// The angle.
        value: f64,
    },
    /// HU statistics.
    Hu(RegionStats),
}

/// Angle (degrees) between two directions.
fn degrees_between(a: DVec3, b: DVec3) -> f64 {
    let cos = a
        .normalize_or_zero()
        .dot(b.normalize_or_zero())
        .clamp(-1.0, 1.0);
    cos.acos().to_degrees()
}

/// The value of `shape` on `volume`.
pub fn value(volume: &Volume, shape: &Shape) -> Value {
    match *shape {
        Shape::Distance { a, b } => Value::Mm {
            value: (DVec3::from(b) - DVec3::from(a)).length(),
        },
        Shape::Angle { a, vertex, c } => Value::Degrees {
            value: degrees_between(
                DVec3::from(a) - DVec3::from(vertex),
                DVec3::from(c) - DVec3::from(vertex),
            ),
        },
        Shape::Cobb { first, second } => {
            let d1 = DVec3::from(first[1]) - DVec3::from(first[0]);
            let d2 = DVec3::from(second[1]) - DVec3::from(second[0]);
            let angle = degrees_between(d1, d2);
            Value::Degrees {
                value: angle.min(180.0 - angle),
            }
        }
        Shape::Region { centre, u, v } => {
            Value::Hu(region_stats(volume, centre.into(), u.into(), v.into()))
        }
    }
}

/// Statistics over the voxels whose centres fall in the ellipse, sampled
/// in its plane at half the finest voxel spacing (each voxel once).
fn region_stats(volume: &Volume, centre: DVec3, u: DVec3, v: DVec3) -> RegionStats {
    let g = volume.geometry();
    let step = 0.5 * g.spacing().min_element();
    let (ru, rv) = (u.length(), v.length());
    let (du, dv) = (u.normalize_or_zero(), v.normalize_or_zero());
    let mut seen = std::collections::HashSet::new();
    let (mut sum, mut sum2, mut min, mut max) = (0.0, 0.0, f64::MAX, f64::MIN);
    let (nu, nv) = ((ru / step).ceil() as i64, (rv / step).ceil() as i64);
    for a in -nu - 1..=nu {
        for b in -nv - 1..=nv {
            // Half a step off the centre: no sample sits exactly between
            // two voxels (where rounding would favour one side).
            let (x, y) = ((a as f64 + 0.5) * step, (b as f64 + 0.5) * step);
            if ru == 0.0 || rv == 0.0 || (x / ru).powi(2) + (y / rv).powi(2) > 1.0 {
                continue;
            }
            let index = g.index_of(centre + du * x + dv * y).round();
            if index.min_element() < 0.0 {
                continue;
            }
            let (i, j, k) = (index.x as u32, index.y as u32, index.z as u32);
            let Some(hu) = volume.value(i, j, k) else {
                continue;
            };
            // The voxel counts when its own centre is in the ellipse.
            let d = g.world_of(index) - centre;
            let inside = (d.dot(du) / ru).powi(2) + (d.dot(dv) / rv).powi(2) <= 1.0;
            if !inside || !seen.insert((i, j, k)) {
                continue;
            }
            let hu = f64::from(hu);
            sum += hu;
            sum2 += hu * hu;
            min = min.min(hu);
            max = max.max(hu);
        }
    }
    let n = seen.len() as f64;
    let mean = if n > 0.0 { sum / n } else { 0.0 };
    RegionStats {
        mean,
        sd: if n > 1.0 {
            ((sum2 - n * mean * mean) / (n - 1.0)).max(0.0).sqrt()
        } else {
            0.0
        },
        min: if n > 0.0 { min } else { 0.0 },
        max: if n > 0.0 { max } else { 0.0 },
        area_mm2: std::f64::consts::PI * ru * rv,
        voxels: seen.len(),
    }
}

/// One measurement in the list.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Its number in the list (stable while the list lives).
    pub id: u32,
    /// What was drawn.
    pub shape: Shape,
    /// What it measures.
    pub value: Value,
}

/// The measurements of one volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurements {
    items: Vec<Measurement>,
    next: u32,
}

impl Measurements {
    /// Measures `shape` on `volume` and adds it; its id.
    pub fn add(&mut self, volume: &Volume, shape: Shape) -> u32 {
        self.next += 1;
        let id = self.next;
        self.items.push(Measurement {
            id,
            shape,
            value: value(volume, &shape),
        });
        id
    }

    /// Removes measurement `id`; whether it was there.
    pub fn remove(&mut self, id: u32) -> bool {
        let before = self.items.len();
        self.items.retain(|m| m.id != id);
        self.items.len() != before
    }

    /// Every measurement, in the order drawn.
    pub fn items(&self) -> &[Measurement] {
        &self.items
    }

    /// The shapes alone (what is kept on this computer: numbers and
    /// kinds, nothing typed).
    pub fn shapes(&self) -> Vec<Shape> {
        self.items.iter().map(|m| m.shape).collect()
    }

    /// The list measured again from kept shapes.
    pub fn from_shapes(volume: &Volume, shapes: &[Shape]) -> Self {
        let mut list = Self::default();
        for s in shapes {
            list.add(volume, *s);
        }
        list
    }

    /// CSV: one row per measurement, values in mm, degrees or HU, points
    /// in patient mm (LPS).
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("id,kind,value,unit,mean_hu,sd_hu,min_hu,max_hu,area_mm2,points_lps_mm\n");
        for m in &self.items {
            let points: Vec<String> = m
                .shape
                .points()
                .iter()
                .map(|p| format!("{:.2} {:.2} {:.2}", p.x, p.y, p.z))
                .collect();
            let (value, unit, stats) = match m.value {
                Value::Mm { value } => (format!("{value:.2}"), "mm", String::from(",,,,")),
                Value::Degrees { value } => (format!("{value:.2}"), "deg", String::from(",,,,")),
                Value::Hu(s) => (
                    format!("{:.1}", s.mean),
                    "HU",
                    format!(
                        "{:.1},{:.1},{:.0},{:.0},{:.1}",
                        s.mean, s.sd, s.min, s.max, s.area_mm2
                    ),
                ),
            };
            out.push_str(&format!(
                "{},{},{value},{unit},{stats},{}\n",
                m.id,
                m.shape.kind(),
                points.join(";")
            ));
        }
        out
    }

    /// JSON: the list as an array of measurements.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.items).unwrap_or_else(|_| "[]".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::UVec3;
    use insitu_volume::{Geometry, Voxels};

    /// 20×20×4 voxels of 0.5 × 0.5 × 2 mm: HU = 10 × i.
    fn ramp() -> Volume {
        let g = Geometry::axis_aligned(
            UVec3::new(20, 20, 4),
            DVec3::new(0.5, 0.5, 2.0),
            DVec3::ZERO,
        )
        .unwrap();
        let v = (0..1600).map(|n| ((n % 20) * 10) as i16).collect();
        Volume::new(g, Voxels::I16(v)).unwrap()
    }

    #[test]
    fn lengths_and_angles_in_patient_units() {
        let v = ramp();
        let d = value(
            &v,
            &Shape::Distance {
                a: [0.0, 0.0, 0.0],
                b: [3.0, 4.0, 0.0],
            },
        );
        assert_eq!(d, Value::Mm { value: 5.0 });
        let Value::Degrees { value: right } = value(
            &v,
            &Shape::Angle {
                a: [1.0, 0.0, 0.0],
                vertex: [0.0; 3],
                c: [0.0, 0.0, 2.0],
            },
        ) else {
            panic!()
        };
        assert!((right - 90.0).abs() < 1e-9);
        // Two lines 25° apart, drawn in opposite directions: still 25°.
        let t = 25f64.to_radians();
        let cobb = Shape::Cobb {
            first: [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0]],
            second: [[10.0 * t.cos(), 0.0, 10.0 * t.sin() + 5.0], [0.0, 0.0, 5.0]],
        };
        let Value::Degrees { value: c } = value(&v, &cobb) else {
            panic!()
        };
        assert!((c - 25.0).abs() < 1e-9, "{c}");
    }

    #[test]
    fn a_region_counts_each_voxel_once_and_knows_its_values() {
        let v = ramp();
        // A circle of radius 2 mm around voxel (10, 10, 1): i from 6 to 14.
        let centre = [5.0, 5.0, 2.0];
        let Value::Hu(s) = value(
            &v,
            &Shape::Region {
                centre,
                u: [2.0, 0.0, 0.0],
                v: [0.0, 2.0, 0.0],
            },
        ) else {
            panic!()
        };
        assert_eq!((s.min, s.max), (60.0, 140.0));
        assert!(
            (s.mean - 100.0).abs() < 1e-9,
            "symmetric about i = 10: {}",
            s.mean
        );
        assert!((s.area_mm2 - std::f64::consts::PI * 4.0).abs() < 1e-9);
        // π r² / 0.25 mm² per voxel ≈ 50 voxels.
        assert!((40..=60).contains(&s.voxels), "{}", s.voxels);
    }

    #[test]
    fn lists_export_and_come_back_from_their_numbers() {
        let v = ramp();
        let mut list = Measurements::default();
        let a = list.add(
            &v,
            Shape::Distance {
                a: [0.0; 3],
                b: [0.0, 6.0, 0.0],
            },
        );
        list.add(
            &v,
            Shape::Region {
                centre: [5.0, 5.0, 2.0],
                u: [1.0, 0.0, 0.0],
                v: [0.0, 1.0, 0.0],
            },
        );
        let csv = list.to_csv();
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("1,distance,6.00,mm,"),
            "{csv}"
        );
        assert!(
            csv.lines()
                .nth(2)
                .unwrap()
                .starts_with("2,region,100.0,HU,100.0,"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&list.to_json()).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
        let back = Measurements::from_shapes(&v, &list.shapes());
        assert_eq!(back.items(), list.items());
        assert!(list.remove(a));
        assert!(!list.remove(a));
        assert!(
            Shape::Distance {
                a: [0.0; 3],
                b: [0.0, 6.0, 0.0]
            }
            .lies_in(DVec3::ZERO, DVec3::Z, 0.5)
        );
    }
}
