#!/usr/bin/env python3
"""Builds the PyTorch fixtures under tests/fixtures/torch/ that pvr's weight-import tests read.

Each architecture is built with torchvision's own modules at a small width (so every file stays
well under 2 MB), with fixed seeds and non-trivial batch-norm statistics, and saved as a `.pth`
state dict and a `.safetensors` file, together with fixed inputs and PyTorch's eval-mode logits
(`<name>.io.safetensors`: tensors `input` [N, 3, H, W] and `logits` [N, classes]). One ResNet is
pruned with torch.nn.utils.prune, so its state dict holds `weight_orig`/`weight_mask` pairs.
`manifest.json` records what each fixture is.

Needs torch, torchvision and safetensors from PyPI (CPU is enough):
    python3 -m venv .venv-torch && .venv-torch/bin/pip install torch torchvision safetensors
    .venv-torch/bin/python scripts/make-torch-fixtures.py
The tests themselves need no Python.
"""

import json
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune
from safetensors.torch import save_file
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.swin_transformer import (
    PatchMergingV2,
    SwinTransformer,
    SwinTransformerBlockV2,
)
from torchvision.models.vision_transformer import VisionTransformer

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "torch"


class SmallResNet(ResNet):
    """torchvision's ResNet with a configurable base width (torchvision fixes it at 64) and
    optionally pvr's small-image stem (3x3 stride-1 conv, no max-pool). Module names are
    torchvision's, since the blocks and layers are built by torchvision's own code."""

    def __init__(self, block, layers, width, num_classes, small_stem):
        super().__init__(block, layers, num_classes=num_classes)
        # Rebuild every stage at the requested width with torchvision's _make_layer.
        self.inplanes = width
        if small_stem:
            self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)


def randomize_norms(model, generator):
    """Batch-norm affine parameters and running statistics away from their identity defaults,
    so that a swapped or ignored one changes the logits."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, nn.LayerNorm)):
            with torch.no_grad():
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 0.5)
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 0.4 - 0.2)
                if isinstance(module, nn.BatchNorm2d):
                    module.running_mean.copy_(
                        torch.rand(module.running_mean.shape, generator=generator) - 0.5
                    )
                    module.running_var.copy_(
                        torch.rand(module.running_var.shape, generator=generator) + 0.5
                    )
                    module.num_batches_tracked.fill_(17)


def randomize_transformer(model, generator):
    """torchvision starts the classifier (and many biases) at zero, which would make the logits
    constant: give every bias and the head small random values."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias") or name.startswith("heads.head") or name.startswith("head."):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.1)


def prune_conv_and_linear(model, amount):
    """Global L1 pruning of every conv and linear weight, leaving torch.nn.utils.prune's
    `weight_orig`/`weight_mask` pairs in the state dict."""
    targets = [
        (module, "weight")
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.Linear))
    ]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=amount)


FIXTURES = [
    # name, builder, input side, pvr spec fields
    dict(
        name="resnet18_w8_imagenet",
        build=lambda: SmallResNet(BasicBlock, [2, 2, 2, 2], 8, 10, small_stem=False),
        image_size=64,
        spec=dict(arch="resnet18", width=8, stem="imagenet", num_classes=10),
    ),
    dict(
        name="resnet50_w4_small",
        build=lambda: SmallResNet(Bottleneck, [3, 4, 6, 3], 4, 10, small_stem=True),
        image_size=16,
        spec=dict(arch="resnet50", width=4, stem="small", num_classes=10),
    ),
    dict(
        name="vit_w32_p8",
        # torchvision's VisionTransformer at small size: pvr's `vit` family (MLP 4x wide).
        build=lambda: VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
            mlp_dim=128, num_classes=10,
        ),
        image_size=32,
        spec=dict(arch="vit", width=32, patch_size=8, layers=2, heads=2, num_classes=10),
        transformer=True,
    ),
    dict(
        name="swin_v2_w16_p2",
        # torchvision's SwinTransformer with its V2 block and merging (as swin_v2_t), small:
        # 16 px, 2 px patches, 4x4 windows, two stages (the second too small to shift).
        build=lambda: SwinTransformer(
            patch_size=[2, 2], embed_dim=16, depths=[2, 2], num_heads=[1, 2],
            window_size=[4, 4], stochastic_depth_prob=0.0, num_classes=10,
            block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2,
        ),
        image_size=16,
        spec=dict(
            arch="swin", width=16, patch_size=2, depths=[2, 2], heads=1, window_size=4,
            num_classes=10,
        ),
        transformer=True,
    ),
    dict(
        name="resnet18_w4_pruned",
        build=lambda: SmallResNet(BasicBlock, [2, 2, 2, 2], 4, 10, small_stem=True),
        image_size=16,
        spec=dict(arch="resnet18", width=4, stem="small", num_classes=10),
        prune=0.6,
    ),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for index, fixture in enumerate(FIXTURES):
        torch.manual_seed(1000 + index)
        generator = torch.Generator().manual_seed(2000 + index)
        model = fixture["build"]()
        randomize_norms(model, generator)
        if fixture.get("transformer"):
            randomize_transformer(model, generator)
        if "prune" in fixture:
            prune_conv_and_linear(model, fixture["prune"])
        model.eval()
        size = fixture["image_size"]
        inputs = torch.randn(3, 3, size, size, generator=generator)
        with torch.no_grad():
            logits = model(inputs)
        state = model.state_dict()
        name = fixture["name"]
        torch.save(state, OUT / f"{name}.pth")
        save_file({k: v.contiguous() for k, v in state.items()}, OUT / f"{name}.safetensors")
        save_file({"input": inputs, "logits": logits}, OUT / f"{name}.io.safetensors")
        manifest[name] = dict(
            fixture["spec"],
            image_size=size,
            pruned_share=fixture.get("prune", 0.0),
            tensors=len(state),
            torch=torch.__version__,
        )
        for suffix in [".pth", ".safetensors", ".io.safetensors"]:
            size_bytes = os.path.getsize(OUT / f"{name}{suffix}")
            assert size_bytes < 2_000_000, f"{name}{suffix} is {size_bytes} bytes"
            print(f"{name}{suffix}: {size_bytes} bytes")
    # A torchvision reference train.py checkpoint nests the state dict under "model", beside
    # optimizer state and plain Python values.
    state = torch.load(OUT / f"{FIXTURES[0]['name']}.pth")
    checkpoint = {"model": state, "epoch": 89, "args": {"lr": 0.1, "model": "resnet18"}}
    torch.save(checkpoint, OUT / "resnet18_w8_imagenet.trainpy.pth")
    manifest["resnet18_w8_imagenet.trainpy"] = dict(of="resnet18_w8_imagenet", key="model")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def full_size(out):
    """torchvision's own four constructors at paper size with random weights (nothing is
    downloaded), for the ignored test `full_size_torchvision_models_reproduce_pytorch`:
    `make-torch-fixtures.py --full DIR`, then
    `PVR_TORCHVISION_FULL=DIR cargo test --release --test torch_weights -- --ignored`.
    About 600 MB; not committed."""
    import torchvision.models as tvm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    models = {
        "resnet18": (tvm.resnet18, 224, dict(arch="resnet18", width=64, stem="imagenet")),
        "resnet50": (tvm.resnet50, 224, dict(arch="resnet50", width=64, stem="imagenet")),
        "vit_b_32": (tvm.vit_b_32, 224, dict(arch="vit_b_32")),
        "swin_v2_t": (tvm.swin_v2_t, 256, dict(arch="swin_v2_t")),
    }
    manifest = {}
    for index, (name, (build, size, spec)) in enumerate(models.items()):
        torch.manual_seed(3000 + index)
        generator = torch.Generator().manual_seed(4000 + index)
        model = build()
        randomize_norms(model, generator)
        if name.startswith(("vit", "swin")):
            randomize_transformer(model, generator)
        model.eval()
        inputs = torch.randn(2, 3, size, size, generator=generator)
        with torch.no_grad():
            logits = model(inputs)
        torch.save(model.state_dict(), out / f"{name}.pth")
        save_file({"input": inputs, "logits": logits}, out / f"{name}.io.safetensors")
        manifest[name] = dict(spec, image_size=size, num_classes=1000)
        print(name, sum(p.numel() for p in model.parameters()), "parameters")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        full_size(sys.argv[2])
    else:
        main()
