//! Checks of `[ha]` that types alone cannot express.

use std::collections::HashSet;

use crate::spec::{Problems, Spec, check_images};

pub fn validate(spec: &Spec) -> Problems {
    let mut problems = Problems::new();
    let Some(ha) = &spec.ha else {
        return problems;
    };
    let mut seen = HashSet::new();
    let repeated: Vec<&str> = ha
        .datasets
        .iter()
        .filter(|d| !seen.insert(**d))
        .map(|d| d.name())
        .collect();
    problems.check(
        !ha.datasets.is_empty() && repeated.is_empty(),
        "ha.datasets",
        if ha.datasets.is_empty() {
            "needs at least one dataset (leave the key out for all 17)".into()
        } else {
            format!("lists {} more than once", repeated.join(", "))
        },
    );
    if let Some(images) = ha.images_per_condition {
        check_images(&mut problems, "ha.images_per_condition", images);
    }
    problems.check(
        (10..=100_000).contains(&ha.bootstrap_samples),
        "ha.bootstrap_samples",
        format!("{} is not in 10..=100000", ha.bootstrap_samples),
    );
    problems
}
