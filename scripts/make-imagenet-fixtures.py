#!/usr/bin/env python3
"""Builds tests/fixtures/imagenet/: small MATLAB files shaped like the ImageNet devkit's
`meta.mat` (ILSVRC2012_devkit_t12/data/meta.mat), written by scipy's MAT v5 writer, which pvr's
reader (src/data/mat5.rs) must parse.

`synsets` is a struct array with the devkit's fields in its order (ILSVRC2012_ID, WNID, words,
gloss, num_children, children, wordnet_height, num_train_images): three leaves whose IDs are
not in WordNet-id order (the devkit's IDs are not torchvision's indices) and one inner node.
The same variables are saved uncompressed (`meta-v5.mat`) and compressed (`meta-v7.mat`,
MATLAB's default); `mixed.mat` holds a cell array, a char matrix and integer classes.

`meta-1k.mat` (compressed) has the 1000 ImageNet-1k leaves with the names in
src/data/imagenet_1k.tsv, numbered 1..1000 in a fixed shuffled order (not the real devkit's),
plus one inner node: tests build flat validation folders with devkit ground truth from it.

Needs scipy and numpy from PyPI:
    python3 -m venv .venv-mat && .venv-mat/bin/pip install scipy numpy
    .venv-mat/bin/python scripts/make-imagenet-fixtures.py
"""

from pathlib import Path

import numpy as np
import scipy.io as sio

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "imagenet"

FIELDS = [
    "ILSVRC2012_ID",
    "WNID",
    "words",
    "gloss",
    "num_children",
    "children",
    "wordnet_height",
    "num_train_images",
]


def synsets():
    rows = [
        (1, "n02119789", "kit fox, Vulpes macrotis", "small grey fox", 0, [], 0, 1300),
        (2, "n01440764", "tench, Tinca tinca", "freshwater fish", 0, [], 0, 1300),
        (3, "n15075141", "toilet tissue", "a soft thin paper", 0, [], 0, 1300),
        (1001, "n00001740", "entity", "that which exists", 3, [1, 2, 3], 19, 0),
    ]
    array = np.zeros((len(rows), 1), dtype=[(f, object) for f in FIELDS])
    for i, row in enumerate(rows):
        for field, value in zip(FIELDS, row):
            if isinstance(value, list):
                value = np.array(value, dtype=np.float64).reshape(1, -1)
            elif isinstance(value, int):
                value = np.float64(value)
            array[i, 0][field] = value
    return array


def meta_1k():
    tsv = Path(__file__).resolve().parent.parent / "src" / "data" / "imagenet_1k.tsv"
    classes = [line.split("\t") for line in tsv.read_text().splitlines()]
    order = np.random.default_rng(2012).permutation(len(classes))
    array = np.zeros((len(classes) + 1, 1), dtype=[(f, object) for f in FIELDS])
    for rank, index in enumerate(order):
        wnid, name = classes[index]
        row = (rank + 1, wnid, name, "", 0, np.zeros((1, 0)), 0, 1300)
        for field, value in zip(FIELDS, row):
            array[rank, 0][field] = np.float64(value) if isinstance(value, int) else value
    root = (1001, "n00001740", "entity", "", len(classes), np.zeros((1, 0)), 19, 0)
    for field, value in zip(FIELDS, root):
        array[len(classes), 0][field] = np.float64(value) if isinstance(value, int) else value
    return array


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    variables = {"synsets": synsets()}
    sio.savemat(OUT / "meta-v5.mat", variables, do_compression=False)
    sio.savemat(OUT / "meta-v7.mat", variables, do_compression=True)
    sio.savemat(OUT / "meta-1k.mat", {"synsets": meta_1k()}, do_compression=True)
    cell = np.empty((1, 3), dtype=object)
    cell[0, 0] = "abc"
    cell[0, 1] = np.arange(4, dtype=np.int16).reshape(2, 2)
    cell[0, 2] = np.array([[]])
    sio.savemat(
        OUT / "mixed.mat",
        {
            "cell": cell,
            "chars": np.array(["ab", "cd"]),
            "bytes": np.array([[1, 2, 250]], dtype=np.uint8),
            "single": np.float32(1.5),
        },
    )


if __name__ == "__main__":
    main()
