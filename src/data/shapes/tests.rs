use super::*;
use crate::data::mask_bbox;

fn dataset(seed: u64, split: Split, size: usize, len: usize) -> ShapesDataset {
    ShapesDataset::new(ShapesConfig {
        seed,
        image_size: size,
        len,
        split,
        ..ShapesConfig::default()
    })
    .unwrap()
}

#[test]
fn deterministic_in_any_order_and_thread() {
    let ds = dataset(7, Split::Train, 32, 64);
    let forward: Vec<Sample> = (0..64).map(|i| ds.get(i).unwrap()).collect();
    let backward: Vec<Sample> = (0..64).rev().map(|i| ds.get(i).unwrap()).collect();
    for (i, s) in forward.iter().enumerate() {
        assert_eq!(*s, backward[63 - i]);
        assert_eq!(*s, ds.get(i).unwrap());
    }
    let threaded: Vec<Sample> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let ds = &ds;
                scope.spawn(move || {
                    (t..64)
                        .step_by(4)
                        .map(|i| (i, ds.get(i).unwrap()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Sample)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, s)| s).collect()
    });
    assert_eq!(threaded, forward);
    // A second, independently constructed dataset with the same config agrees bit for bit.
    let again = dataset(7, Split::Train, 32, 64);
    assert_eq!(again.get(17).unwrap(), forward[17]);
}

#[test]
fn seed_and_split_change_samples() {
    let a = dataset(1, Split::Train, 32, 10);
    let b = dataset(2, Split::Train, 32, 10);
    let v = dataset(1, Split::Val, 32, 10);
    for i in 0..10 {
        let s = a.get(i).unwrap();
        assert_ne!(s.image, b.get(i).unwrap().image);
        assert_ne!(s.image, v.get(i).unwrap().image);
    }
}

#[test]
fn mask_and_box_are_consistent() {
    for size in [16, 24, 32, 64] {
        for split in [Split::Train, Split::Val] {
            let n = if size <= 24 { 1500 } else { 300 };
            let ds = dataset(3, split, size, n);
            for i in 0..n {
                let s = ds.get(i).unwrap();
                let mask = s.mask.as_ref().unwrap();
                assert_eq!(mask.len(), size * size);
                assert!(mask.iter().all(|m| *m <= 1));
                assert!(mask.contains(&1), "empty mask at {size}px index {i}");
                assert_eq!(s.boxes.len(), 1);
                let b = s.boxes[0];
                assert_eq!(Some(b), mask_bbox(mask, size), "box not tight");
                assert!(b[0] >= 0.0 && b[1] >= 0.0 && b[2] <= size as f32 && b[3] <= size as f32);
                assert!(b[0] < b[2] && b[1] < b[3]);
                // The box contains the object centre (up to one pixel of quantisation).
                let scene = ds.scene(i);
                let (cx, cy) = (scene.center.0 * size as f32, scene.center.1 * size as f32);
                assert!(b[0] - 1.0 <= cx && cx <= b[2] + 1.0, "{b:?} vs x {cx}");
                assert!(b[1] - 1.0 <= cy && cy <= b[3] + 1.0, "{b:?} vs y {cy}");
                assert_eq!(s.label, scene.shape);
            }
        }
    }
}

#[test]
fn pixels_in_unit_range_and_sizes_any() {
    for size in [16, 17, 31, 48, 96] {
        let ds = dataset(5, Split::Train, size, 20);
        for i in 0..20 {
            let s = ds.get(i).unwrap();
            assert_eq!((s.image.width, s.image.height), (size, size));
            assert_eq!(s.image.data.len(), 3 * size * size);
            assert!(s.image.data.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }
    let big = dataset(5, Split::Train, 256, 1).get(0).unwrap();
    assert!(big.image.data.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn labels_roughly_balanced() {
    let ds = dataset(11, Split::Train, 32, 1000);
    let mut counts = [0usize; 10];
    for i in 0..1000 {
        counts[ds.scene(i).shape] += 1;
    }
    for c in counts {
        assert!((60..=140).contains(&c), "{counts:?}");
    }
}

fn class_texture(t: TextureId) -> usize {
    match t {
        TextureId::Class(k) => k,
        other => panic!("object texture {other:?} is not a class texture"),
    }
}

#[test]
fn texture_correlation_matches_config() {
    for (corr, split) in [(0.8, Split::Train), (0.8, Split::Val), (0.5, Split::Train)] {
        let ds = ShapesDataset::new(ShapesConfig {
            texture_correlation: corr,
            split,
            ..ShapesConfig::default()
        })
        .unwrap();
        let n = 4000;
        let mut own = 0;
        let mut other_counts = [0usize; 10];
        for i in 0..n {
            let scene = ds.scene(i);
            let t = class_texture(scene.object_texture);
            if t == scene.shape {
                own += 1;
            } else {
                other_counts[t] += 1;
            }
        }
        let measured = own as f32 / n as f32;
        assert!(
            (measured - corr).abs() < 0.05,
            "measured {measured} vs {corr}"
        );
        // The mismatched textures spread over all classes.
        assert!(other_counts.iter().all(|c| *c > 0), "{other_counts:?}");
    }
    for corr in [0.0, 1.0] {
        let ds = ShapesDataset::new(ShapesConfig {
            texture_correlation: corr,
            ..ShapesConfig::default()
        })
        .unwrap();
        for i in 0..500 {
            let scene = ds.scene(i);
            let same = class_texture(scene.object_texture) == scene.shape;
            assert_eq!(same, corr == 1.0);
        }
    }
}

#[test]
fn correlation_changes_only_textures() {
    let a = ShapesDataset::new(ShapesConfig::default()).unwrap();
    let b = ShapesDataset::new(ShapesConfig {
        texture_correlation: 0.3,
        ..ShapesConfig::default()
    })
    .unwrap();
    for i in 0..50 {
        let (sa, sb) = (a.scene(i), b.scene(i));
        assert_eq!(
            (sa.shape, sa.center, sa.scale, sa.rotation, sa.background),
            (sb.shape, sb.center, sb.scale, sb.rotation, sb.background)
        );
    }
}

#[test]
fn held_out_never_used_and_background_differs_from_object() {
    for split in [Split::Train, Split::Val] {
        let ds = dataset(13, split, 32, 5000);
        for i in 0..5000 {
            let scene = ds.scene(i);
            let mut all = vec![scene.object_texture, scene.background];
            all.extend(scene.distractors.iter().map(|d| d.texture));
            assert!(
                !all.iter().any(|t| matches!(t, TextureId::HeldOut(_))),
                "{scene:?}"
            );
            assert_ne!(scene.background, scene.object_texture);
            assert!(matches!(scene.background, TextureId::Background(_)));
            assert!(scene.distractors.len() <= 3);
            // Distractors never wear the object's texture either.
            assert!(
                scene
                    .distractors
                    .iter()
                    .all(|d| d.texture != scene.object_texture)
            );
        }
    }
}

#[test]
fn distractors_are_not_in_the_mask() {
    let ds = dataset(21, Split::Train, 48, 200);
    let mut seen = 0;
    for i in 0..200 {
        let scene = ds.scene(i);
        let mask = ds.get(i).unwrap().mask.unwrap();
        assert_eq!(
            mask,
            shape_mask(scene.shape, scene.center, scene.scale, scene.rotation, 48)
        );
        seen += scene.distractors.len();
    }
    assert!(seen > 100, "distractors are drawn ({seen})");
    let none = ShapesDataset::new(ShapesConfig {
        distractors: 0,
        ..ShapesConfig::default()
    })
    .unwrap();
    assert!((0..100).all(|i| none.scene(i).distractors.is_empty()));
}

#[test]
fn fingerprint_stable_and_sensitive() {
    let a = dataset(1, Split::Train, 32, 100).fingerprint();
    assert_eq!(a.len(), 64);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(a, dataset(1, Split::Train, 32, 100).fingerprint());
    for other in [
        dataset(2, Split::Train, 32, 100),
        dataset(1, Split::Val, 32, 100),
        dataset(1, Split::Train, 64, 100),
        dataset(1, Split::Train, 32, 101),
    ] {
        assert_ne!(a, other.fingerprint());
    }
}

#[test]
fn config_validation_and_serde() {
    assert!(
        ShapesDataset::new(ShapesConfig {
            image_size: 8,
            ..Default::default()
        })
        .is_err()
    );
    assert!(
        ShapesDataset::new(ShapesConfig {
            texture_correlation: 1.5,
            ..Default::default()
        })
        .is_err()
    );
    let ds = dataset(0, Split::Train, 16, 3);
    assert!(ds.get(3).is_err());
    assert_eq!(ds.num_classes(), 10);
    assert_eq!(ds.class_names()[9], "hexagon");
    let partial: ShapesConfig = serde_json::from_str(r#"{"seed": 5, "split": "val"}"#).unwrap();
    assert_eq!(partial.seed, 5);
    assert_eq!(partial.split, Split::Val);
    assert_eq!(partial.texture_correlation, 0.8);
    assert!(serde_json::from_str::<ShapesConfig>(r#"{"sede": 5}"#).is_err());
    let scene = ds.scene(0);
    let back: SceneSpec = serde_json::from_str(&serde_json::to_string(&scene).unwrap()).unwrap();
    assert_eq!(back, scene);
}

/// Generation speed, for humans: `cargo test --release -- --ignored --nocapture speed`.
#[test]
#[ignore]
fn speed() {
    for size in [32, 64, 128] {
        let n = 20_000 * 32 * 32 / (size * size);
        let ds = dataset(0, Split::Train, size, n);
        let start = std::time::Instant::now();
        let mut checksum = 0.0;
        for i in 0..n {
            checksum += ds.get(i).unwrap().image.data[0];
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{size}px: {:.0} images/s (checksum {checksum})",
            n as f64 / secs
        );
    }
}
