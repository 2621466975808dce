//! The spine's angles (lordosis, kyphosis, Cobb, segmental) from the
//! named vertebrae's endplates.

use glam::DVec3;

use crate::measure::{Flag, coronal_deg_facing, sagittal_deg_facing};
use crate::report::{Angles, EndplateAngle, Vertebra};

fn normal(v: &[f64; 3]) -> DVec3 {
    DVec3::from_array(*v)
}

/// The spine's angles from the named vertebrae's endplates, in the planes
/// of a patient whose anterior is `anterior` (see [`crate::Spine::anterior`]).
pub fn angles(vertebrae: &[Vertebra], anterior: DVec3) -> Angles {
    let sagittal_deg = |n: DVec3| sagittal_deg_facing(n, anterior);
    let coronal_deg = |n: DVec3| coronal_deg_facing(n, anterior);
    // An irregular vertebra's endplates are not trusted for any angle.
    let find = |name: &str| {
        vertebrae
            .iter()
            .find(|v| v.name == name)
            .filter(|v| !v.flags.iter().any(|f| matches!(f, Flag::Irregular { .. })))
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
            v.name != "sacrum"
                && !v
                    .flags
                    .iter()
                    .any(|f| matches!(f, Flag::Partial | Flag::Irregular { .. }))
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
