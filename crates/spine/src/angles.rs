//! The spine's angles (lordosis, kyphosis, Cobb, segmental) from the
//! named vertebrae's endplates.

use glam::DVec3;

use crate::measure::{Flag, coronal_deg_facing, sagittal_deg_facing};
use crate::report::{Angles, EndplateAngle, Vertebra};

/// An endplate's normal turned to the patient's head: a plane's normal
/// has no sign, and an angle read from one that points down is 180° off
/// (a 512²×2500 phantom's "Cobb angle" came out 200°, segmental angles
/// 120–164°).
fn normal(v: &[f64; 3]) -> DVec3 {
    let n = DVec3::from_array(*v);
    if n.z < 0.0 { -n } else { n }
}

/// Whether a vertebra's endplates may give an angle: an irregular one's
/// are not trusted for any.
fn trusted(v: &Vertebra) -> bool {
    !v.flags.iter().any(|f| matches!(f, Flag::Irregular { .. }))
}

/// The spine's angles from the named vertebrae's endplates, in the planes
/// of a patient whose anterior is `anterior` (see [`crate::Spine::anterior`]).
pub fn angles(vertebrae: &[Vertebra], anterior: DVec3) -> Angles {
    let sagittal_deg = |n: DVec3| sagittal_deg_facing(n, anterior);
    let coronal_deg = |n: DVec3| coronal_deg_facing(n, anterior);
    let find = |name: &str| {
        vertebrae
            .iter()
            .find(|v| v.name == name)
            .filter(|v| trusted(v))
    };
    let sup = |name: &str| find(name).and_then(|v| v.superior_normal.as_ref().map(normal));
    let inf = |name: &str| find(name).and_then(|v| v.inferior_normal.as_ref().map(normal));
    let lumbar_lordosis_deg = sup("L1")
        .zip(sup("sacrum"))
        .map(|(l1, s1)| sagittal_deg(s1) - sagittal_deg(l1));
    let thoracic_kyphosis_deg = sup("T4")
        .zip(inf("T12"))
        .map(|(t4, t12)| sagittal_deg(t12) - sagittal_deg(t4))
        .map(f64::abs);
    // A vertebra cut by the scan's edge, or irregular, has unreliable
    // endplates.
    let mobile: Vec<&Vertebra> = vertebrae
        .iter()
        .filter(|v| {
            v.name != "sacrum" && trusted(v) && !v.flags.iter().any(|f| matches!(f, Flag::Partial))
        })
        .collect();
    let mut cobb: Option<EndplateAngle> = None;
    for (i, upper) in mobile.iter().enumerate() {
        let Some(s) = upper.superior_normal.as_ref().map(normal) else {
            continue;
        };
        // A curve spans at least three vertebrae: end vertebrae are two
        // or more levels apart (next to each other it is a segmental angle).
        for lower in mobile.iter().skip(i + 2) {
            let Some(f) = lower.inferior_normal.as_ref().map(normal) else {
                continue;
            };
            let degrees = (coronal_deg(s) - coronal_deg(f)).abs();
            if cobb.as_ref().is_none_or(|c| degrees > c.degrees) {
                cobb = Some(EndplateAngle {
                    degrees,
                    from: upper.name.clone(),
                    to: lower.name.clone(),
                });
            }
        }
    }
    let segmental = vertebrae
        .windows(2)
        .filter(|pair| pair.iter().all(trusted))
        .filter_map(|pair| {
            let (a, b) = (
                pair[0].superior_normal.as_ref()?,
                pair[1].superior_normal.as_ref()?,
            );
            Some(EndplateAngle {
                degrees: sagittal_deg(normal(b)) - sagittal_deg(normal(a)),
                from: pair[0].name.clone(),
                to: pair[1].name.clone(),
            })
        })
        .collect();
    Angles {
        lumbar_lordosis_deg,
        thoracic_kyphosis_deg,
        cobb,
        segmental,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit normal tilted `deg` towards the patient's left (+x), in the
    /// coronal plane.
    fn tilted(deg: f64) -> [f64; 3] {
        let r = deg.to_radians();
        [r.sin(), 0.0, r.cos()]
    }

    #[test]
    fn an_endplate_normal_pointing_down_gives_the_lines_angle() {
        let anterior = DVec3::NEG_Y;
        let mut upper = Vertebra::bare("L1", &[]);
        upper.superior_normal = Some(tilted(20.0));
        let between = Vertebra::bare("L2", &[]);
        let mut lower = Vertebra::bare("L3", &[]);
        // Tilted 15° the other way, its normal pointing down.
        lower.inferior_normal = Some(tilted(-15.0).map(|c| -c));
        let cobb = angles(&[upper, between, lower], anterior).cobb.unwrap();
        assert!((cobb.degrees - 35.0).abs() < 1e-9, "{cobb:?}");
    }

    #[test]
    fn an_irregular_vertebra_gives_no_segmental_angle() {
        let anterior = DVec3::NEG_Y;
        let with_top = |name: &str, flags: &[Flag]| {
            let mut v = Vertebra::bare(name, flags);
            v.superior_normal = Some([0.0, 0.0, 1.0]);
            v
        };
        let irregular = Flag::Irregular { degrees: 40.0 };
        let spine = [
            with_top("L1", &[]),
            with_top("L2", &[irregular]),
            with_top("L3", &[]),
            with_top("L4", &[]),
        ];
        let pairs: Vec<(String, String)> = angles(&spine, anterior)
            .segmental
            .into_iter()
            .map(|a| (a.from, a.to))
            .collect();
        assert_eq!(pairs, [("L3".to_owned(), "L4".to_owned())]);
    }
}
