//! The torchvision recipe keys through the CLI: they train, they enter the stage keys, and
//! RandomResizedCrop reads ImageFolder pictures whole.

mod common;

use common::{ONE_ROUND_STAGES, TINY, Workspace, labels_with};
use pvr::exec::StageStatus;

#[test]
fn recipe_keys_train_and_change_exactly_the_training_stages() {
    let ws = Workspace::new();
    ws.write_spec("tiny.toml", TINY);
    ws.run_ok("tiny.toml", &["--set", "prune.rounds=1"]);
    let recipe = [
        "--set",
        "prune.rounds=1",
        "--set",
        "train.label_smoothing=0.1",
        "--set",
        "train.clip_grad_norm=0.5",
        "--set",
        "train.augment.mixup_alpha=0.2",
        "--set",
        "train.augment.cutmix_alpha=1.0",
        "--set",
        "train.augment.crop_padding=0",
        "--set",
        "train.augment.random_resized_crop={}",
        "--set",
        "train.schedule={ kind = \"cosine\", warmup_epochs = 1, warmup_start_factor = 0.1, update = \"epoch\" }",
    ];
    let run = ws.run_ok("tiny.toml", &recipe);
    assert_eq!(labels_with(&run, StageStatus::Ran), ONE_ROUND_STAGES);
    let again = ws.run_ok("tiny.toml", &recipe);
    assert_eq!(again.count(StageStatus::Cached), 6);
}

#[test]
fn random_resized_crop_trains_on_imagefolder_pictures_of_any_size() {
    let ws = Workspace::new();
    for (class, color) in [("cat", [200u8, 30, 30]), ("dog", [30, 30, 200])] {
        for (split, count) in [("train", 6), ("val", 2)] {
            let dir = ws.path().join("data").join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..count {
                // Pictures of different sizes and aspects, as in real data.
                let (w, h) = (40 + 7 * i, 30 + 5 * (i % 3));
                image::RgbImage::from_fn(w, h, |x, _| {
                    let shade = (x * 255 / w) as u8;
                    image::Rgb([color[0] / 2 + shade / 2, color[1], color[2]])
                })
                .save(dir.join(format!("{i}.png")))
                .unwrap();
            }
        }
    }
    ws.write_spec(
        "folder.toml",
        r#"[experiment]
name = "folder"

[data]
source = "imagefolder"
path = "data"
image_size = 16

[model]
width = 4

[train]
epochs = 1
batch_size = 4
augment = { crop_padding = 0, random_resized_crop = { scale = [0.25, 1.0] } }
"#,
    );
    let run = ws.run_ok("folder.toml", &[]);
    assert_eq!(run.count(StageStatus::Ran), 3);
}
