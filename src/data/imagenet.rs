//! The ImageNet-1k classes: WordNet ids and torchvision's names, in the standard order.
//!
//! Index `i` is the `i`-th WordNet id in sorted order, which is the label torchvision's
//! ImageFolder gives `train/<wnid>/` and the index of every published ImageNet classifier's
//! output. `imagenet_1k.tsv` holds `wnid<TAB>name` per line in that order: the ids from timm's
//! `imagenet_synsets.txt` and the names from torchvision's `_IMAGENET_CATEGORIES`
//! (`torchvision/models/_meta.py`), both read from their PyPI wheels (timm 1.0.31, torchvision
//! 0.29.2).

use std::collections::HashMap;
use std::sync::OnceLock;

/// Number of ImageNet-1k classes.
pub const NUM_CLASSES: usize = 1000;

const TABLE: &str = include_str!("imagenet_1k.tsv");

/// One ImageNet-1k class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagenetClass {
    /// WordNet id, e.g. `n01440764`.
    pub wnid: &'static str,
    /// torchvision's name, e.g. `tench`.
    pub name: &'static str,
}

/// The 1000 classes, index = label.
pub fn imagenet_classes() -> &'static [ImagenetClass] {
    static CLASSES: OnceLock<Vec<ImagenetClass>> = OnceLock::new();
    CLASSES.get_or_init(|| {
        TABLE
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .map(|(wnid, name)| ImagenetClass { wnid, name })
            .collect()
    })
}

/// The label of WordNet id `wnid`, if it is an ImageNet-1k class.
pub fn imagenet_index(wnid: &str) -> Option<usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            imagenet_classes()
                .iter()
                .enumerate()
                .map(|(i, class)| (class.wnid, i))
                .collect()
        })
        .get(wnid)
        .copied()
}

/// torchvision's name of label `index`.
pub fn imagenet_name(index: usize) -> Option<&'static str> {
    imagenet_classes().get(index).map(|class| class.name)
}

/// Checks that `classes` (the class folders or ground-truth ids found under `tree`) are exactly
/// the 1000 ImageNet-1k WordNet ids, naming the tree and what differs.
pub fn check_imagenet_classes(tree: &str, classes: &[String]) -> anyhow::Result<()> {
    let unknown: Vec<&str> = classes
        .iter()
        .map(String::as_str)
        .filter(|c| imagenet_index(c).is_none())
        .collect();
    let missing: Vec<&str> = {
        let found: std::collections::HashSet<&str> = classes.iter().map(String::as_str).collect();
        imagenet_classes()
            .iter()
            .map(|class| class.wnid)
            .filter(|wnid| !found.contains(wnid))
            .collect()
    };
    if unknown.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let few = |list: &[&str]| {
        let shown = list.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if list.len() > 5 {
            format!("{shown}, ... ({} in all)", list.len())
        } else {
            shown
        }
    };
    let mut problems = Vec::new();
    if !unknown.is_empty() {
        problems.push(format!("not ImageNet-1k classes: {}", few(&unknown)));
    }
    if !missing.is_empty() {
        problems.push(format!("ImageNet-1k classes missing: {}", few(&missing)));
    }
    anyhow::bail!(
        "{tree}: its {} classes are not the 1000 ImageNet-1k WordNet ids (n01440764 ... \
         n15075141): {}",
        classes.len(),
        problems.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_sorted_unique_wnids() {
        let classes = imagenet_classes();
        assert_eq!(classes.len(), NUM_CLASSES);
        assert!(classes.windows(2).all(|w| w[0].wnid < w[1].wnid));
        assert!(
            classes
                .iter()
                .all(|c| { c.wnid.len() == 9 && c.wnid.starts_with('n') && !c.name.is_empty() })
        );
    }

    #[test]
    fn known_entries() {
        for (index, wnid, name) in [
            (0, "n01440764", "tench"),
            (1, "n01443537", "goldfish"),
            (134, "n02012849", "crane bird"),
            (207, "n02099601", "golden retriever"),
            (281, "n02123045", "tabby"),
            (404, "n02690373", "airliner"),
            (517, "n03126707", "crane"),
            (851, "n04404412", "television"),
            (999, "n15075141", "toilet tissue"),
        ] {
            assert_eq!(imagenet_classes()[index], ImagenetClass { wnid, name });
            assert_eq!(imagenet_index(wnid), Some(index));
            assert_eq!(imagenet_name(index), Some(name));
        }
        assert_eq!(imagenet_index("n00000000"), None);
        assert_eq!(imagenet_name(1000), None);
    }

    #[test]
    fn foreign_trees_are_named_with_what_differs() {
        let all: Vec<String> = imagenet_classes()
            .iter()
            .map(|c| c.wnid.to_string())
            .collect();
        check_imagenet_classes("data/train", &all).unwrap();
        let mut odd = all[..998].to_vec();
        odd.push("cats".into());
        let err = check_imagenet_classes("data/train", &odd)
            .unwrap_err()
            .to_string();
        assert!(err.contains("data/train"), "{err}");
        assert!(err.contains("not ImageNet-1k classes: cats"), "{err}");
        assert!(err.contains("missing: n13133613, n15075141"), "{err}");
    }
}
