#!/usr/bin/env python3
"""Builds tests/fixtures/jpeg/: small JPEGs and PIL's decoding of each, which pvr's JPEG
decoder must reproduce exactly (src/data/jpeg_tests.rs).

The picture is synthetic (smooth gradients, sharp edges, noise) so that chroma upsampling and
the IDCT's rounding both show; its sides are not multiples of the MCU, so edge blocks count too.
Each `<name>.jpg` has `<name>.npy`: `numpy.asarray(Image.open(jpg).convert("RGB"))`, uint8
[height, width, 3]. `manifest.json` records the Pillow and libjpeg-turbo versions used.

Needs Pillow and numpy from PyPI:
    python3 -m venv .venv-pil && .venv-pil/bin/pip install pillow numpy
    .venv-pil/bin/python scripts/make-jpeg-fixtures.py
The tests themselves need no Python.
"""

import json
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "jpeg"


def picture(width=45, height=29):
    rng = np.random.default_rng(20240617)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / 6.0) * np.cos(y / 9.0)
    g = 255 * x / width
    b = np.where((x - 20) ** 2 + (y - 14) ** 2 < 90, 230.0, 25.0)
    rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    img = picture()
    variants = {
        "ycc444": (img, dict(quality=90, subsampling=0)),
        "ycc422": (img, dict(quality=85, subsampling=1)),
        "ycc420": (img, dict(quality=75, subsampling=2)),
        "ycc420-progressive": (img, dict(quality=80, subsampling=2, progressive=True)),
        "ycc420-q30": (img, dict(quality=30, subsampling=2)),
        "grey": (img.convert("L"), dict(quality=88)),
        "grey-progressive": (img.convert("L"), dict(quality=70, progressive=True)),
        "cmyk": (img.convert("CMYK"), dict(quality=90)),
    }
    for name, (source, options) in variants.items():
        path = OUT / f"{name}.jpg"
        source.save(path, **options)
        decoded = np.asarray(Image.open(path).convert("RGB"))
        np.save(OUT / f"{name}.npy", np.ascontiguousarray(decoded, dtype=np.uint8))
    manifest = {
        "made_by": "scripts/make-jpeg-fixtures.py",
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "fixtures": sorted(variants),
    }
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
