use std::path::Path;

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/imagenet")
            .join(name),
    )
    .unwrap()
}

fn variable<'a>(vars: &'a [(String, MatValue)], name: &str) -> &'a MatValue {
    &vars.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn devkit_shaped_synsets_compressed_or_not() {
    for file in ["meta-v5.mat", "meta-v7.mat"] {
        let vars = read_mat(&fixture(file)).unwrap();
        let synsets = variable(&vars, "synsets");
        let ids: Vec<f64> = synsets
            .field("ILSVRC2012_ID")
            .unwrap()
            .iter()
            .map(|v| v.scalar().unwrap())
            .collect();
        assert_eq!(ids, [1.0, 2.0, 3.0, 1001.0], "{file}");
        let wnids: Vec<&MatValue> = synsets.field("WNID").unwrap();
        assert_eq!(wnids[0], &MatValue::Char("n02119789".into()), "{file}");
        assert_eq!(wnids[2], &MatValue::Char("n15075141".into()), "{file}");
        let words = synsets.field("words").unwrap();
        assert_eq!(words[1], &MatValue::Char("tench, Tinca tinca".into()));
        let children = synsets.field("children").unwrap();
        assert_eq!(
            children[3],
            &MatValue::Numeric {
                dims: vec![1, 3],
                values: vec![1.0, 2.0, 3.0]
            }
        );
        assert!(matches!(children[0], MatValue::Numeric { values, .. } if values.is_empty()));
        assert_eq!(
            synsets.field("num_children").unwrap()[3].scalar(),
            Some(3.0)
        );
        assert!(synsets.field("nope").is_none());
    }
}

#[test]
fn cells_chars_and_integer_classes() {
    let vars = read_mat(&fixture("mixed.mat")).unwrap();
    let MatValue::Cell(cell) = variable(&vars, "cell") else {
        panic!("not a cell")
    };
    assert_eq!(cell[0], MatValue::Char("abc".into()));
    // Column-major, as MATLAB stores [[0, 1], [2, 3]].
    assert_eq!(
        cell[1],
        MatValue::Numeric {
            dims: vec![2, 2],
            values: vec![0.0, 2.0, 1.0, 3.0]
        }
    );
    // Two rows "ab" and "cd", column by column.
    assert_eq!(variable(&vars, "chars"), &MatValue::Char("acbd".into()));
    assert_eq!(
        variable(&vars, "bytes"),
        &MatValue::Numeric {
            dims: vec![1, 3],
            values: vec![1.0, 2.0, 250.0]
        }
    );
    assert_eq!(variable(&vars, "single").scalar(), Some(1.5));
}

#[test]
fn broken_files_are_errors_not_panics() {
    assert!(read_mat(b"short").is_err());
    let mut header = vec![b' '; 128];
    header[126..128].copy_from_slice(b"MI");
    let err = read_mat(&header).unwrap_err().to_string();
    assert!(err.contains("little-endian"), "{err}");
    let whole = fixture("meta-v5.mat");
    for cut in [200, 600, whole.len() - 3] {
        assert!(read_mat(&whole[..cut]).is_err(), "cut at {cut}");
    }
    let compressed = fixture("meta-v7.mat");
    let mut damaged = compressed.clone();
    for byte in &mut damaged[150..170] {
        *byte ^= 0x5A;
    }
    assert!(read_mat(&damaged).is_err());
}
