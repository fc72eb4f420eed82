//! Checks of `[lost]` that types alone cannot express.

use crate::data::shapes::MIN_IMAGE_SIZE;
use crate::models::Architecture;
use crate::spec::{LostDataset, MAX_BATCH, MAX_IMAGES, Problems, Spec};

/// Problems with `[lost]`, as (dotted key, message).
pub fn validate(spec: &Spec) -> Problems {
    let mut problems = Problems::new();
    let Some(lost) = &spec.lost else {
        return problems;
    };
    let mut check = |ok: bool, key: &str, message: String| problems.check(ok, key, message);
    match lost.dataset {
        // Without `path` the LOST stages fail when they run, and `pvr check` says what to put
        // where: the plan needs no data.
        LostDataset::Voc => {}
        LostDataset::Shapes => {
            check(
                lost.path.is_none() && lost.path_env.is_none(),
                "lost.path",
                "`path` is for `dataset = \"voc\"`; the shapes scenes are generated".into(),
            );
            let size = lost.image_size.unwrap_or(spec.data.image_size);
            check(
                (MIN_IMAGE_SIZE..=1024).contains(&size),
                "lost.image_size",
                format!(
                    "{size} px is outside what the shapes renderer draws ({}..=1024)",
                    MIN_IMAGE_SIZE
                ),
            );
        }
    }
    if let Ok(arch) = spec.model.arch.parse::<Architecture>() {
        check(
            !lost.dilate || !arch.is_transformer(),
            "lost.dilate",
            format!(
                "{} has no strided last stage to dilate (only ResNets do)",
                arch.name()
            ),
        );
    }
    check(
        !lost.split.is_empty() && !lost.split.contains(['/', '\\']),
        "lost.split",
        format!("`{}` is not a split name such as `trainval`", lost.split),
    );
    check(
        lost.images.is_none_or(|n| (1..=MAX_IMAGES).contains(&n)),
        "lost.images",
        format!("must be in 1..={MAX_IMAGES} (leave it out for every image)"),
    );
    check(
        lost.k >= 1,
        "lost.k",
        "must be at least 1 (LOST's default is 100)".into(),
    );
    if let Some(side) = lost.resize {
        check(
            (8..=2048).contains(&side),
            "lost.resize",
            format!("{side} px is not in 8..=2048"),
        );
    }
    check(
        (1..=MAX_BATCH).contains(&lost.batch_size),
        "lost.batch_size",
        format!("{} is not in 1..={MAX_BATCH}", lost.batch_size),
    );
    check(
        lost.bootstrap <= 100_000,
        "lost.bootstrap",
        format!("{} resamples is more than 100000", lost.bootstrap),
    );
    check(
        lost.examples <= 32,
        "lost.examples",
        format!("{} example images is more than 32", lost.examples),
    );
    problems
}
