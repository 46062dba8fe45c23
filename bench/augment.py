"""Does a cgan trained on a small set enlarge that set usefully? Prints one JSON object.

    python bench/augment.py [--per-class 20] [--generated 200] [--gan-steps 1200] [--seeds 3] [--data DIR]

The claim (issue 18, from the seeds): generated images enlarge a training set for a recognition model. Measured on
real data (shared/data/digits, 8 x 8 handwritten digits upscaled to 32 x 32 grayscale, CPU):
1. --per-class real digits per class are drawn from digits/train (seeded) into a class-folder dataset;
2. `cgan` (genstudio's, default recipe: projection discriminator (Miyato & Koyama 2018), spectral norm,
   DiffAugment (Zhao et al. 2020) for small data, EMA) is trained on just those with genstudio.operations.train;
3. `genstudio generate`'s path (generate_to_folder with per_class, layout folders, mix_real) writes --generated
   digits per class beside copies of the real ones: the augmented dataset, with its manifest;
4. the same small CNN is trained, for the same number of steps and with the same small random translations, on
   (a) the real digits only, (b) the augmented folder as written (real + generated, every image drawn alike, so
   10 generated for 1 real), (c) real and generated mixed half and half in each batch, (d) generated only; its
   accuracy on digits/test (297 digits) is averaged over --seeds classifier seeds. gain = (b) - (a) and
   gain_balanced = (c) - (a), reported whatever their sign.
Also reported: the cgan's label accuracy (its generated digits judged by a classifier trained on all of
digits/train, i.e. does a "7" look like a 7) and the wall time of each stage.

Findings (defaults, seed 0, 2 shared CPU cores under load ~8, 1 torch thread, 8 minutes of which 6 train the cgan):
the cgan's digits are recognisable (label accuracy 1.00 by a judge at 0.99 on digits/test), yet they do not help:
real only 0.939 +- 0.022, the augmented folder as written 0.895 +- 0.023 (gain -0.045: ten generated digits per
real one drown the real ones), half and half per batch 0.930 +- 0.008 (gain -0.009, within noise), generated only
0.841. A generator trained on the same 20 digits per class adds no information about the digits they lack; here
it only narrows what the recogniser sees. An earlier run with 400 classifier steps: 0.961 / 0.902 / - / 0.844.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "digits"
RESOLUTION = 32


class SmallCNN(nn.Module):
    """The recogniser: three conv blocks and a linear head on 16 x 16 input (the digits were 8 x 8: nothing is lost),
    small enough to train in seconds on a CPU."""

    def __init__(self, classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.AvgPool2d(2),  # 1 x 16 x 16
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 8 x 8
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 4 x 4
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),  # 32 x 2 x 2
            nn.Flatten(), nn.Dropout(0.2), nn.Linear(128, classes),
        )

    def forward(self, x):
        return self.net(x)


def load(folder: Path):
    """(images in [0, 1], labels, class names) through genstudio.data (the image allowlist, 32 x 32 grayscale)."""
    from genstudio.data import ImageFolderDataset

    dataset = ImageFolderDataset(folder, RESOLUTION, 1, cache=False)
    return dataset.images.float() / 255.0, dataset.labels.long(), list(dataset.classes)


def fit_classifier(images, labels, steps: int, seed: int, batch_size: int = 64, extra=None) -> nn.Module:
    """The recogniser trained for `steps` batches drawn uniformly from (images, labels); with `extra` (images,
    labels), half of each batch comes from each set instead (balanced mixing)."""
    torch.manual_seed(seed)
    net = SmallCNN()
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        if extra is None:
            batch = torch.randint(0, len(images), (min(batch_size, len(images)),), generator=generator)
            x, y = images[batch], labels[batch]
        else:
            half = batch_size // 2
            a = torch.randint(0, len(images), (half,), generator=generator)
            b = torch.randint(0, len(extra[0]), (batch_size - half,), generator=generator)
            x, y = torch.cat([images[a], extra[0][b]]), torch.cat([labels[a], extra[1][b]])
        shift = torch.randint(-2, 3, (2,), generator=generator)  # small translations, the same for every variant
        x = torch.roll(x, (int(shift[0]), int(shift[1])), dims=(2, 3))
        loss = nn.functional.cross_entropy(net(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return net.eval()


@torch.no_grad()
def accuracy(net, images, labels) -> float:
    return float((net(images).argmax(1) == labels).float().mean())


def real_subset(train: Path, per_class: int, out: Path, seed: int) -> Path:
    """per_class files of each class folder of `train`, drawn with `seed`, copied to out/<class>/."""
    rng = random.Random(seed)
    for folder in sorted(p for p in train.iterdir() if p.is_dir()):
        files = sorted(folder.glob("*.png"))
        (out / folder.name).mkdir(parents=True)
        for path in rng.sample(files, min(per_class, len(files))):
            shutil.copyfile(path, out / folder.name / path.name)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=20, help="real digits per class")
    parser.add_argument("--generated", type=int, default=200, help="generated digits per class")
    parser.add_argument("--gan-steps", type=int, default=1200)
    parser.add_argument("--gan-width", type=int, default=32, help="cgan ngf = ndf")
    parser.add_argument("--gan-batch", type=int, default=32)
    parser.add_argument("--classifier-steps", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: a shared machine)")
    parser.add_argument("--seeds", type=int, default=3, help="classifier seeds averaged")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="keep the subset, model and augmented set here")
    args = parser.parse_args(argv)

    from genstudio.generate_folder import generate_to_folder
    from genstudio.operations.train import train

    torch.set_num_threads(args.threads)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    test_x, test_y, test_classes = load(args.data / "test")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        real = real_subset(args.data / "train", args.per_class, root / "real", seed=0)

        clock = time.perf_counter()
        summary = train(backend="cgan", data=real, out=root / "cgan", steps=args.gan_steps, resolution=RESOLUTION,
                        batch_size=args.gan_batch, device="cpu", seed=0, threads=args.threads,
                        checkpoint_every=10**9, sample_every=10**9,
                        assignments=[f"ngf={args.gan_width}", f"ndf={args.gan_width}"])
        timings["train_cgan"] = round(time.perf_counter() - clock, 1)

        clock = time.perf_counter()
        generated = generate_to_folder(root / "cgan", root / "augmented", per_class=args.generated,
                                       layout="folders", mix_real=real, device="cpu", runtime="torch")
        timings["generate"] = round(time.perf_counter() - clock, 1)
        manifest = json.loads(Path(generated.manifest).read_text())

        real_x, real_y, classes = load(real)
        aug_x, aug_y, aug_classes = load(root / "augmented")
        assert classes == aug_classes == test_classes, (classes, aug_classes, test_classes)
        is_real = torch.tensor([Path(p).name.startswith("real-") for p in _files(root / "augmented")])
        gen_x, gen_y = aug_x[~is_real], aug_y[~is_real]

        clock = time.perf_counter()
        full_x, full_y, _ = load(args.data / "train")
        judge = fit_classifier(full_x, full_y, args.classifier_steps * 2, seed=100)
        judge_accuracy = accuracy(judge, test_x, test_y)
        label_accuracy = accuracy(judge, gen_x, gen_y)

        variants = {"real": (real_x, real_y, None), "real_plus_generated": (aug_x, aug_y, None),
                    "real_plus_generated_balanced": (real_x, real_y, (gen_x, gen_y)),
                    "generated_only": (gen_x, gen_y, None)}
        results: dict[str, list[float]] = {name: [] for name in variants}
        for seed in range(args.seeds):
            for name, (x, y, extra) in variants.items():
                net = fit_classifier(x, y, args.classifier_steps, seed, extra=extra)
                results[name].append(accuracy(net, test_x, test_y))
        timings["classifiers"] = round(time.perf_counter() - clock, 1)

    def stats(values: list[float]) -> dict:
        return {"mean": round(statistics.mean(values), 4),
                "std": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
                "runs": [round(v, 4) for v in values]}

    gain = statistics.mean(results["real_plus_generated"]) - statistics.mean(results["real"])
    gain_balanced = statistics.mean(results["real_plus_generated_balanced"]) - statistics.mean(results["real"])
    report = {
        "benchmark": "augment-digits-cpu",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "data": {"real_per_class": args.per_class, "real_total": len(real_x), "generated_per_class": args.generated,
                 "augmented_total": len(aug_x), "test": len(test_x), "resolution": RESOLUTION},
        "cgan": {"steps": args.gan_steps, "width": args.gan_width, "batch_size": args.gan_batch,
                 "train_seconds": round(summary.seconds, 1),
                 "label_accuracy": round(label_accuracy, 4),
                 "label_judge_test_accuracy": round(judge_accuracy, 4)},
        "manifest": {"generated": manifest["generated"], "real_files": len(manifest["real"]["files"])},
        "classifier": {"steps": args.classifier_steps, "seeds": args.seeds, "batch_size": 64},
        "test_accuracy": {name: stats(values) for name, values in results.items()},
        "gain": round(gain, 4),  # the augmented folder as written, every image drawn alike
        "gain_balanced": round(gain_balanced, 4),  # half of each batch real, half generated
        "verdict": _verdict(gain),
        "verdict_balanced": _verdict(gain_balanced),
        "seconds": {**timings, "total": round(time.perf_counter() - started, 1)},
    }
    print(json.dumps(report))
    return report


def _verdict(gain: float) -> str:
    return "helps" if gain > 0.01 else "hurts" if gain < -0.01 else "no clear effect (within 1 point)"


def _files(folder: Path) -> list[Path]:
    """The files genstudio.data reads from a class-folder dataset, in its order."""
    from genstudio.data import scan_folder

    return scan_folder(folder).files


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
