"""Input-pipeline benchmark helper for scripts/loader-vs-torchvision.sh.

  python loader_bench.py make ROOT COUNT      ImageNet-sized JPEGs in ROOT/train/<class>/
  python loader_bench.py torchvision ROOT W.. torchvision's DataLoader on them, per worker count

The images have ImageNet's typical sizes (the short side mostly 333-500 px, a few larger) and
smooth colour fields with grain, so that they compress like photographs (~85 KB on average at
quality 90), not like noise or flat colour.
"""

import os
import random
import sys
import time


def make(root, count):
    from PIL import Image

    rng = random.Random(0)
    sizes = [(500, 375), (500, 333), (375, 500), (500, 500), (640, 480), (800, 600), (333, 500)]
    for index in range(count):
        width, height = sizes[index % len(sizes)]
        coarse = Image.new("RGB", (16, 12))
        coarse.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(16 * 12)])
        image = coarse.resize((width, height), Image.BICUBIC)
        grain = Image.effect_noise((width, height), 24).convert("RGB")
        image = Image.blend(image, grain, 0.25)
        folder = os.path.join(root, "train", f"n{index % 10:08d}")
        os.makedirs(folder, exist_ok=True)
        image.save(os.path.join(folder, f"img_{index:05d}.JPEG"), quality=90)
    os.makedirs(os.path.join(root, "val"), exist_ok=True)


def torchvision_rate(root, workers, batch=64, epochs=3):
    import torch
    from torchvision import datasets, transforms

    torch.set_num_threads(1)
    transform = transforms.Compose(
        [
            transforms.RandomResizedCrop(224),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )
    dataset = datasets.ImageFolder(os.path.join(root, "train"), transform)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, shuffle=True, num_workers=workers, persistent_workers=True
    )
    started = time.perf_counter()
    images = 0
    for _ in range(epochs):
        for pixels, _labels in loader:
            images += pixels.shape[0]
    rate = images / (time.perf_counter() - started)
    print(f"torchvision workers={workers} images={images} images/s={rate:.1f} per-worker={rate / workers:.1f}")


if __name__ == "__main__":
    command, root = sys.argv[1], sys.argv[2]
    if command == "make":
        make(root, int(sys.argv[3]))
    elif command == "torchvision":
        for workers in [int(w) for w in sys.argv[3:]] or [1, 2]:
            torchvision_rate(root, workers)
    else:
        sys.exit(f"unknown command {command}")
