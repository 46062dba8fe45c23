"""GAN family benchmark on real data (shared/data/digits, 32 x 32 grayscale, CPU): prints one JSON object.

    python bench/gan.py [--steps 1000] [--batch-size 64] [--data ../shared/data/digits] [--out DIR]

What it measures:
- `dcgan` and `cgan` trained with genstudio's runtime for --steps steps with the default recipe (spectral norm,
  DiffAugment, EMA): wall time and training images/s;
- FID against digits/test on the features of a small digit classifier trained here first (Inception weights are
  not available offline, and Inception features are a poor judge of 8 x 8 digits anyway); the classifier's own
  test accuracy and the FID of digits/train against digits/test (the floor a perfect generator would reach);
- for `cgan`, the classifier's accuracy on images generated for each requested label (target >= 0.90);
- throughput against a plain DCGAN loop written straightforwardly here (pytorch/examples style: same
  architecture, batch, optimiser and loss, no DiffAugment, batch norm in D): genstudio's `dcgan` trained with the
  same recipe, so the ratio measures the runtime itself (target ours / reference >= 1.0).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "digits"
RESOLUTION = 32
WIDTH = 32  # ngf = ndf: small enough for a CPU benchmark in minutes


def load(folder: Path):
    from genstudio.data import ImageFolderDataset

    dataset = ImageFolderDataset(folder, RESOLUTION, 1, cache=False)
    return dataset, dataset.images.float() / 255.0, dataset.labels.long()


# -- the judge: a small digit classifier whose penultimate layer gives the FID features ------------------------


class DigitNet(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 16 x 16
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 8 x 8
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),  # 64 x 2 x 2
            nn.Flatten(), nn.Linear(256, 128), nn.ReLU(),  # 128: the FID features
        )
        self.head = nn.Linear(128, classes)

    def forward(self, x):
        return self.head(self.features(x))


def train_judge(images, labels, test_images, test_labels, epochs: int = 15, seed: int = 0):
    torch.manual_seed(seed)
    net = DigitNet()
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), 64):
            batch = order[start:start + 64]
            x = images[batch]
            shift = torch.randint(-2, 3, (2,))  # small translations: the generator's digits are not centred exactly
            x = torch.roll(x, (int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = nn.functional.cross_entropy(net(x), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    net.eval()
    return net, accuracy(net, test_images, test_labels)


@torch.no_grad()
def accuracy(net, images, labels) -> float:
    return float((net(images).argmax(1) == labels).float().mean())


@torch.no_grad()
def features(net, images) -> torch.Tensor:
    return torch.cat([net.features(images[i:i + 256]) for i in range(0, len(images), 256)])


# -- genstudio's training and sampling ----------------------------------------------------------------------------


def train_ours(backend: str, dataset, out: Path, steps: int, batch_size: int, **settings):
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    spec = get_registry().backend(backend)
    config = {"resolution": RESOLUTION, "channels": 1, "ngf": WIDTH, "ndf": WIDTH, **settings}
    if backend == "cgan":
        config["num_classes"] = len(dataset.classes)
    config = spec.schema.resolve(config)
    started = time.perf_counter()
    summary = fit(spec, config, dataset, out, steps=steps, batch_size=batch_size, seed=0, device="cpu",
                  checkpoint_every=10**9, sample_every=10**9, sample_count=64)
    wall = time.perf_counter() - started
    return {"steps": steps, "wall_seconds": round(wall, 2), "train_seconds": round(summary.seconds, 2),
            "images_per_second": round(summary.images_per_second, 1), "final_losses": summary.final_losses}


def sample_ours(model_dir: Path, count: int, label: int | None = None, seed: int = 0) -> torch.Tensor:
    from genstudio import generation
    from genstudio.models import load_model

    module = load_model(model_dir).module
    return torch.stack([s.image for s in generation.generate(module, seed, range(count), label=label)])


# -- the plain reference loop ------------------------------------------------------------------------------------


def reference_networks(latent_dim: int = 100):
    """DCGAN at 32 x 32 written out, the same layers as genstudio's dcgan with ngf = ndf = WIDTH and batch norm."""
    g = nn.Sequential(
        nn.ConvTranspose2d(latent_dim, WIDTH * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(WIDTH * 4), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH * 4, WIDTH * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH * 2), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH * 2, WIDTH, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH), nn.ReLU(True),
        nn.ConvTranspose2d(WIDTH, 1, 4, 2, 1, bias=False), nn.Tanh(),
    )
    d = nn.Sequential(
        nn.Conv2d(1, WIDTH, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(WIDTH, WIDTH * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(WIDTH * 2, WIDTH * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(WIDTH * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(WIDTH * 4, 1, 4, 1, 0),
    )
    return g, d


def train_reference(images, steps: int, batch_size: int, latent_dim: int = 100) -> dict:
    torch.manual_seed(0)
    g, d = reference_networks(latent_dim)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images * 2 - 1), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    step, started = 0, time.perf_counter()
    while step < steps:
        for (real,) in loader:
            n = real.shape[0]
            fake = g(torch.randn(n, latent_dim, 1, 1))
            loss_d = bce(d(real).view(-1), torch.ones(n)) + bce(d(fake.detach()).view(-1), torch.zeros(n))
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            loss_g = bce(d(fake).view(-1), torch.ones(n))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            step += 1
            if step == steps:
                break
    seconds = time.perf_counter() - started
    return {"steps": steps, "train_seconds": round(seconds, 2), "images_per_second": round(steps * batch_size / seconds,
                                                                                          1)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000, help="generated images per FID")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="keep the trained models here")
    args = parser.parse_args(argv)

    from genstudio.metrics.distances import fid

    started = time.perf_counter()
    train_set, train_x, train_y = load(args.data / "train")
    _, test_x, test_y = load(args.data / "test")
    judge, judge_acc = train_judge(train_x, train_y, test_x, test_y)
    test_f = features(judge, test_x)
    report: dict = {
        "benchmark": "gan-digits-cpu",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "data": {"train": len(train_x), "test": len(test_x), "resolution": RESOLUTION},
        "settings": {"steps": args.steps, "batch_size": args.batch_size, "ngf": WIDTH, "ndf": WIDTH},
        "judge": {"test_accuracy": round(judge_acc, 4), "features": "digit classifier penultimate layer (128)",
                  "fid_train_vs_test": round(fid(features(judge, train_x), test_f), 3)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        report["dcgan"] = train_ours("dcgan", train_set, root / "dcgan", args.steps, args.batch_size)
        report["dcgan"]["fid"] = round(fid(features(judge, sample_ours(root / "dcgan", args.samples)), test_f), 3)

        report["cgan"] = train_ours("cgan", train_set, root / "cgan", args.steps, args.batch_size)
        per_label = args.samples // 10
        fakes = torch.cat([sample_ours(root / "cgan", per_label, label=c) for c in range(10)])
        wanted = torch.arange(10).repeat_interleave(per_label)
        report["cgan"]["label_accuracy"] = round(accuracy(judge, fakes, wanted), 4)
        report["cgan"]["fid"] = round(fid(features(judge, fakes), test_f), 3)

        matched = train_ours("dcgan", train_set, root / "matched", args.steps, args.batch_size,
                             spectral_norm=False, diffaugment="none", loss="nonsaturating")
    reference = train_reference(train_x, args.steps, args.batch_size)
    report["throughput"] = {
        "ours_same_recipe": matched,
        "reference_loop": reference,
        "ratio": round(matched["images_per_second"] / reference["images_per_second"], 3),
    }
    report["targets"] = {"cgan_label_accuracy>=0.90": report["cgan"]["label_accuracy"] >= 0.90,
                         "throughput_ratio>=1.0": report["throughput"]["ratio"] >= 1.0}
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
