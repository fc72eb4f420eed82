"""The PyTorch side of scripts/bench-vs-torch.sh: one job per call, the same work as pvr's bench
configuration of the same name (shapes, batch sizes, steps, warm-up, optimizer), random weights
and inputs. Prints one JSON line of measured rates.

    python scripts/bench_torch.py JOB      (JOB: see JOBS at the bottom)

Threads come from PVR_BENCH_THREADS (default 2).
"""

import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

THREADS = int(os.environ.get("PVR_BENCH_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)


# ---------------------------------------------------------------- models


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.down is None else self.down(x)))


class SmallResNet18(nn.Module):
    """ResNet-18 with a configurable width and pvr's `small` stem (3x3 stride 1, no max-pool)."""

    def __init__(self, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, cin = [], width
        for i in range(4):
            cout = width * 2**i
            stride = 1 if i == 0 else 2
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)))
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def no_inplace(model):
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return model


# ---------------------------------------------------------------- timing


def timed(fn, steps):
    fn()  # warm-up, as pvr's benches do
    started = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - started


def train_and_infer(model, size, batch, steps, classes, transformer=False):
    x = torch.randn(batch, 3, size, size)
    y = torch.arange(batch) % classes
    if transformer:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05, eps=1e-8)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    model.train()

    def step():
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()

    train = steps * batch / timed(step, steps)
    model.eval()

    def infer():
        with torch.inference_mode():
            model(x).numpy()

    return {"train": train, "infer": steps * batch / timed(infer, steps)}


def small_resnet(width, size, batch, steps):
    return train_and_infer(SmallResNet18(width, 10), size, batch, steps, 10)


def tv(name, size, batch, steps, transformer=False):
    model = getattr(torchvision.models, name)(num_classes=1000)
    return train_and_infer(model, size, batch, steps, 1000, transformer)


# ---------------------------------------------------------------- attribution


def attribution(method):
    """benches/attribution.rs `paper`: ResNet-18, 224 px, 1000 classes, 4 images per call for
    GradCAM and Guided GradCAM, 1 image for IG (50 Gauss-Legendre steps, internal batch 25);
    one warm-up call, then one timed call."""
    from captum.attr import GuidedGradCam, IntegratedGradients, LayerAttribution, LayerGradCam

    model = no_inplace(torchvision.models.resnet18(num_classes=1000)).eval()
    count = 1 if method == "ig" else 4
    x = torch.randn(count, 3, 224, 224)
    targets = list(range(count))
    if method == "gradcam":
        cam = LayerGradCam(model, model.layer4)

        def run():
            maps = cam.attribute(x, target=targets, relu_attributions=True)
            LayerAttribution.interpolate(maps, (224, 224), "bilinear").detach().numpy()

    elif method == "guided_gradcam":
        guided = GuidedGradCam(model, model.layer4)

        def run():
            guided.attribute(x, target=targets).detach().numpy()

    else:
        ig = IntegratedGradients(model)

        def run():
            ig.attribute(
                x,
                baselines=torch.zeros_like(x),
                target=targets,
                n_steps=50,
                method="gausslegendre",
                internal_batch_size=25,
            ).detach().numpy()

    return {"images_per_s": count / timed(run, 1)}


# ---------------------------------------------------------------- LOST


def lost():
    """benches/lost.rs `resnet50-voc-dilated`: ResNet-50, last stage dilated (stride 16), a
    500 x 375 image padded to 512 x 384, layer-normalised patch features, LOST (k = 100)."""
    net = torchvision.models.resnet50(
        num_classes=1000, replace_stride_with_dilation=[False, False, True]
    ).eval()
    body = nn.Sequential(*list(net.children())[:-2])
    images = [torch.rand(1, 3, 375, 500) for _ in range(3)]

    def discover(image):
        with torch.inference_mode():
            padded = F.pad(image, (0, 512 - 500, 0, 384 - 375))
            fmap = body(padded)
            _, c, rows, cols = fmap.shape
            flat = fmap.reshape(1, -1)
            flat = (flat - flat.mean()) / torch.sqrt(flat.var(unbiased=False) + 1e-5)
            feats = flat.reshape(c, rows * cols).T
            sim = feats @ feats.T
            degree = (sim >= 0).sum(1)
            order = torch.argsort(degree, stable=True)
            seed = int(order[0])
            potentials = order[:100]
            similar = potentials[sim[seed, potentials] > 0]
            omap = (sim[:, similar].sum(1) > 0).reshape(rows, cols).numpy()
        # The connected component of the seed (4-neighbourhood) and its box.
        stack, seen = [(seed // cols, seed % cols)], set()
        while stack:
            r, q = stack.pop()
            if (r, q) in seen or not (0 <= r < rows and 0 <= q < cols) or not omap[r, q]:
                continue
            seen.add((r, q))
            stack += [(r + 1, q), (r - 1, q), (r, q + 1), (r, q - 1)]
        ys, xs = zip(*seen) if seen else ((0,), (0,))
        return min(xs), min(ys), max(xs), max(ys)

    discover(images[0])
    started = time.perf_counter()
    for image in images:
        discover(image)
    return {"images_per_s": len(images) / (time.perf_counter() - started)}


# ---------------------------------------------------------------- model-vs-human


def ha_contrast():
    """benches/ha.rs `stage --dataset contrast --images 100`: the quickstart model (ResNet-18,
    width 8, 32 px) on the 8 contrast conditions x 100 images, greyscale then contrast
    reduction, batches of 128, softmax decisions."""
    model = SmallResNet18(8, 10).eval()
    base = torch.rand(100, 3, 32, 32)
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    conditions = [1.0, 0.5, 0.3, 0.15, 0.1, 0.05, 0.03, 0.01]

    def run():
        with torch.inference_mode():
            for c in conditions:
                grey = (base * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1)
                images = (1 - c) / 2 + c * grey
                for start in range(0, len(images), 128):
                    probs = F.softmax(model(images[start : start + 128]), dim=1)
                    probs.argmax(1).numpy()

    started = time.perf_counter()
    run()
    return {"images_per_s": 100 * len(conditions) / (time.perf_counter() - started)}


JOBS = {
    "resnet18-w64-32": lambda: small_resnet(64, 32, 32, 3),
    "quickstart": lambda: small_resnet(8, 32, 64, 8),
    "resnet50-w64-224": lambda: tv("resnet50", 224, 8, 2),
    "vit_b_32-224": lambda: tv("vit_b_32", 224, 8, 2, transformer=True),
    "swin_v2_t-224": lambda: tv("swin_v2_t", 224, 8, 2, transformer=True),
    "gradcam": lambda: attribution("gradcam"),
    "guided_gradcam": lambda: attribution("guided_gradcam"),
    "ig": lambda: attribution("ig"),
    "lost-resnet50-voc-dilated": lost,
    "ha-contrast": ha_contrast,
}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in JOBS:
        sys.exit(f"usage: bench_torch.py JOB, JOB one of: {' '.join(JOBS)}")
    print(json.dumps({"job": sys.argv[1], **JOBS[sys.argv[1]]()}))
