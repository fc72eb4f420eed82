//! Which ImageNet-1k classes stand for each PASCAL VOC class: the table behind the `target` mask
//! policy (score a map only against the pixels of the class the model is explaining).
//!
//! ImageNet indices are the standard 0..999 (synsets sorted by WordNet id). A VOC class lists the
//! ImageNet classes that are an instance of it; ImageNet has no `person` class, so `person` maps
//! to the three classes that are people (ballplayer, groom, scuba diver), and classes with no
//! counterpart in VOC (most of ImageNet) map to nothing: a map explaining them has an empty target
//! mask and an undefined score, which the report counts. The names are torchvision's, given next
//! to each index; a test checks every one against the embedded class list
//! ([`super::imagenet`]), so a wrong index fails.

/// The PASCAL VOC class names by mask index (index 0 is the background, 1..=20 the objects).
pub const VOC_CLASSES: [&str; 21] = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
];

/// The twenty object classes, in the standard order (VOC XML names; mask indices 1..=20).
pub const VOC_OBJECT_CLASSES: &[&str] = {
    let (_, objects) = VOC_CLASSES.split_at(1);
    objects
};

/// `(VOC class index, [(ImageNet index, ImageNet name)])`, VOC classes 1..=20 in order.
pub const VOC_TO_IMAGENET: [(u8, &[(u16, &str)]); 20] = [
    (1, &[(404, "airliner"), (895, "warplane")]), // aeroplane
    (2, &[(444, "bicycle-built-for-two"), (671, "mountain bike")]), // bicycle
    (3, BIRDS),                                   // bird
    (
        4, // boat
        &[
            (472, "canoe"),
            (484, "catamaran"),
            (510, "container ship"),
            (554, "fireboat"),
            (576, "gondola"),
            (625, "lifeboat"),
            (628, "liner"),
            (724, "pirate"),
            (780, "schooner"),
            (814, "speedboat"),
            (833, "submarine"),
            (871, "trimaran"),
            (914, "yawl"),
        ],
    ),
    (
        5, // bottle
        &[
            (440, "beer bottle"),
            (720, "pill bottle"),
            (737, "pop bottle"),
            (898, "water bottle"),
            (907, "wine bottle"),
        ],
    ),
    (
        6,
        &[(654, "minibus"), (779, "school bus"), (874, "trolleybus")],
    ), // bus
    (
        7, // car
        &[
            (407, "ambulance"),
            (436, "beach wagon"),
            (468, "cab"),
            (511, "convertible"),
            (609, "jeep"),
            (627, "limousine"),
            (656, "minivan"),
            (661, "Model T"),
            (717, "pickup"),
            (751, "racer"),
            (817, "sports car"),
        ],
    ),
    (
        8, // cat
        &[
            (281, "tabby"),
            (282, "tiger cat"),
            (283, "Persian cat"),
            (284, "Siamese cat"),
            (285, "Egyptian cat"),
        ],
    ),
    (
        9, // chair
        &[
            (423, "barber chair"),
            (559, "folding chair"),
            (765, "rocking chair"),
            (857, "throne"),
        ],
    ),
    (10, &[(345, "ox"), (346, "water buffalo"), (347, "bison")]), // cow
    (11, &[(532, "dining table")]),                               // diningtable
    (12, DOGS),                                                   // dog
    (13, &[(339, "sorrel")]),                                     // horse
    (14, &[(665, "moped"), (670, "motor scooter")]),              // motorbike
    (
        15,
        &[(981, "ballplayer"), (982, "groom"), (983, "scuba diver")],
    ), // person
    (16, &[(738, "pot")]),                                        // pottedplant
    (17, &[(348, "ram"), (349, "bighorn")]),                      // sheep
    (18, &[(831, "studio couch")]),                               // sofa
    (
        19, // train
        &[
            (466, "bullet train"),
            (547, "electric locomotive"),
            (565, "freight car"),
            (705, "passenger car"),
            (820, "steam locomotive"),
        ],
    ),
    (
        20,
        &[(664, "monitor"), (782, "screen"), (851, "television")],
    ), // tvmonitor
];

/// ImageNet's birds: 7 (cock) ..= 24 (great grey owl), 80 (black grouse) ..= 100 (black swan),
/// 127 (white stork) ..= 146 (albatross).
const BIRDS: &[(u16, &str)] = &[
    (7, "cock"),
    (8, "hen"),
    (9, "ostrich"),
    (10, "brambling"),
    (11, "goldfinch"),
    (12, "house finch"),
    (13, "junco"),
    (14, "indigo bunting"),
    (15, "robin"),
    (16, "bulbul"),
    (17, "jay"),
    (18, "magpie"),
    (19, "chickadee"),
    (20, "water ouzel"),
    (21, "kite"),
    (22, "bald eagle"),
    (23, "vulture"),
    (24, "great grey owl"),
    (80, "black grouse"),
    (81, "ptarmigan"),
    (82, "ruffed grouse"),
    (83, "prairie chicken"),
    (84, "peacock"),
    (85, "quail"),
    (86, "partridge"),
    (87, "African grey"),
    (88, "macaw"),
    (89, "sulphur-crested cockatoo"),
    (90, "lorikeet"),
    (91, "coucal"),
    (92, "bee eater"),
    (93, "hornbill"),
    (94, "hummingbird"),
    (95, "jacamar"),
    (96, "toucan"),
    (97, "drake"),
    (98, "red-breasted merganser"),
    (99, "goose"),
    (100, "black swan"),
    (127, "white stork"),
    (128, "black stork"),
    (129, "spoonbill"),
    (130, "flamingo"),
    (131, "little blue heron"),
    (132, "American egret"),
    (133, "bittern"),
    (134, "crane bird"),
    (135, "limpkin"),
    (136, "European gallinule"),
    (137, "American coot"),
    (138, "bustard"),
    (139, "ruddy turnstone"),
    (140, "red-backed sandpiper"),
    (141, "redshank"),
    (142, "dowitcher"),
    (143, "oystercatcher"),
    (144, "pelican"),
    (145, "king penguin"),
    (146, "albatross"),
];

/// ImageNet's dogs: 151 (Chihuahua) ..= 268 (Mexican hairless), the 118 breeds; listed by range.
const DOGS: &[(u16, &str)] = &[(151, "Chihuahua"), (268, "Mexican hairless")];

/// The inclusive index ranges a table entry stands for: every entry is one class, except the dog
/// entry, whose two endpoints span the 118 breeds between them.
fn ranges(voc: u8) -> Vec<(u16, u16)> {
    let entries = VOC_TO_IMAGENET
        .iter()
        .find(|(v, _)| *v == voc)
        .map_or(&[][..], |(_, e)| *e);
    if voc == 12 {
        vec![(DOGS[0].0, DOGS[1].0)]
    } else {
        entries.iter().map(|&(i, _)| (i, i)).collect()
    }
}

/// The VOC class an ImageNet class belongs to, if any.
pub fn voc_class_of_imagenet(imagenet: usize) -> Option<u8> {
    (1..=20u8).find(|&voc| {
        ranges(voc)
            .iter()
            .any(|&(lo, hi)| (lo as usize..=hi as usize).contains(&imagenet))
    })
}

/// The name of VOC class `index`.
pub fn voc_class_name(index: u8) -> &'static str {
    VOC_CLASSES.get(index as usize).copied().unwrap_or("void")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_imagenet_class_maps_to_at_most_one_voc_class() {
        let mut owner = [0u8; 1000];
        for voc in 1..=20u8 {
            for (lo, hi) in ranges(voc) {
                assert!(lo <= hi && hi < 1000, "{voc}: {lo}..={hi}");
                for i in lo..=hi {
                    assert_eq!(owner[i as usize], 0, "ImageNet {i} is in two VOC classes");
                    owner[i as usize] = voc;
                }
            }
        }
        assert!(
            (1..=20u8).all(|voc| owner.contains(&voc)),
            "a VOC class maps to nothing"
        );
        assert_eq!(owner.iter().filter(|&&v| v == 12).count(), 118);
    }

    #[test]
    fn every_entry_names_its_imagenet_class() {
        use crate::data::imagenet::{imagenet_classes, imagenet_name};
        for (voc, entries) in VOC_TO_IMAGENET {
            for &(index, name) in entries {
                assert_eq!(
                    imagenet_name(index as usize),
                    Some(name),
                    "VOC class {voc}: ImageNet {index}"
                );
            }
        }
        for range in [7..=24, 80..=100, 127..=146] {
            assert!(
                range
                    .clone()
                    .all(|i| BIRDS.iter().any(|&(b, _)| b as usize == i))
            );
        }
        // The dog breeds run from the Chihuahua to the Mexican hairless; a wolf follows.
        assert_eq!(imagenet_classes()[151].wnid, "n02085620");
        assert_eq!(imagenet_name(269), Some("timber wolf"));
        assert_eq!(imagenet_name(150), Some("sea lion"));
    }

    #[test]
    fn known_classes_map_as_expected() {
        assert_eq!(voc_class_of_imagenet(281), Some(8)); // tabby -> cat
        assert_eq!(voc_class_of_imagenet(207), Some(12)); // golden retriever -> dog
        assert_eq!(voc_class_of_imagenet(404), Some(1)); // airliner -> aeroplane
        assert_eq!(voc_class_of_imagenet(0), None); // tench
        assert_eq!(voc_class_of_imagenet(999), None); // toilet tissue
        assert_eq!(voc_class_name(15), "person");
    }
}
