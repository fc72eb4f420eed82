//! Recipe presets: `[train] recipe = "torchvision-resnet"` fills every `[train]` key the file
//! (or a `--set`) does not give with torchvision's reference values. The presets are TOML files
//! in `src/spec/presets/`, each documenting its source and what pvr does not reproduce.

/// (name, `[train]` table text).
const PRESETS: [(&str, &str); 3] = [
    (
        "torchvision-resnet",
        include_str!("presets/torchvision-resnet.toml"),
    ),
    (
        "torchvision-vit",
        include_str!("presets/torchvision-vit.toml"),
    ),
    (
        "torchvision-swin",
        include_str!("presets/torchvision-swin.toml"),
    ),
];

pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(name, _)| *name).collect()
}

/// The preset's `[train]` values.
pub fn find(name: &str) -> Option<toml::Table> {
    PRESETS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, text)| text.parse().expect("presets are valid TOML (tested)"))
}

/// Fills `train` with the preset's values where it has none. Tables merge key by key (so
/// `--set train.optimizer.lr=0.05` keeps the preset's momentum), except a table whose `kind`
/// differs from the preset's, which replaces it whole (an `adamw` optimizer takes nothing from
/// an `sgd` preset).
pub fn fill_defaults(train: &mut toml::Table, preset: &toml::Table) {
    for (key, default) in preset {
        match (train.get_mut(key), default) {
            (None, _) => {
                train.insert(key.clone(), default.clone());
            }
            (Some(toml::Value::Table(given)), toml::Value::Table(default)) => {
                let same_kind = match (given.get("kind"), default.get("kind")) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if same_kind {
                    fill_defaults(given, default);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{OptimizerSpec, ScheduleSpec, TrainSpec};

    #[test]
    fn every_preset_is_a_valid_train_section() {
        for name in names() {
            let table = find(name).unwrap();
            let train: TrainSpec = toml::from_str(&toml::to_string(&table).unwrap())
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(train.augment.random_resized_crop.is_some(), "{name}");
        }
        assert!(find("torchvision-densenet").is_none());
    }

    #[test]
    fn torchvision_values() {
        let parse = |name: &str| -> TrainSpec {
            toml::from_str(&toml::to_string(&find(name).unwrap()).unwrap()).unwrap()
        };
        let resnet = parse("torchvision-resnet");
        assert_eq!((resnet.epochs, resnet.batch_size), (90, 256));
        assert!(matches!(
            resnet.optimizer,
            OptimizerSpec::Sgd {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 1e-4,
                nesterov: false
            }
        ));
        assert!(matches!(
            resnet.schedule,
            ScheduleSpec::Step {
                every: 30,
                gamma: 0.1,
                ..
            }
        ));
        let vit = parse("torchvision-vit");
        assert_eq!(
            (vit.epochs, vit.label_smoothing, vit.clip_grad_norm),
            (300, 0.11, Some(1.0))
        );
        assert_eq!(
            (vit.augment.mixup_alpha, vit.augment.cutmix_alpha),
            (0.2, 1.0)
        );
        assert_eq!(vit.schedule.warmup_and_update().1, Some(0.033));
        let swin = parse("torchvision-swin");
        assert_eq!(
            (swin.label_smoothing, swin.clip_grad_norm),
            (0.1, Some(5.0))
        );
        assert_eq!(
            (swin.augment.mixup_alpha, swin.augment.cutmix_alpha),
            (0.8, 1.0)
        );
        assert!(matches!(
            swin.schedule,
            ScheduleSpec::Cosine { min_lr: 1e-5, .. }
        ));
    }

    #[test]
    fn given_values_win_and_tables_merge_by_kind() {
        let mut train: toml::Table = "epochs = 2\noptimizer = { kind = \"sgd\", lr = 0.05 }"
            .parse()
            .unwrap();
        fill_defaults(&mut train, &find("torchvision-resnet").unwrap());
        assert_eq!(train["epochs"].as_integer(), Some(2));
        assert_eq!(train["batch_size"].as_integer(), Some(256));
        assert_eq!(train["optimizer"]["lr"].as_float(), Some(0.05));
        assert_eq!(train["optimizer"]["weight_decay"].as_float(), Some(1e-4));
        let mut train: toml::Table = "optimizer = { kind = \"adamw\", lr = 0.001 }"
            .parse()
            .unwrap();
        fill_defaults(&mut train, &find("torchvision-resnet").unwrap());
        assert!(train["optimizer"].get("momentum").is_none());
    }
}
