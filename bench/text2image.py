"""text2image benchmark on CPU: prints one JSON object.

    python bench/text2image.py [--digit-steps 3000] [--shape-steps 1500] [--resolution 16] [--part digits|shapes|all]

What it measures (issue 17):
- captioned digits (shared/data/digits/train, grey, --resolution px): every image is written with captions made from
  its class in four phrasings ("a 7", "the digit seven", "a handwritten 7", "number seven"); four other phrasings
  ("the digit 7", "a handwritten seven", "number 7", "a seven") are held out of training. text2image is trained
  through genstudio's train operation (captions read from image.txt files, vocabulary derived from them), then
  images are generated through the Sampler (`genstudio generate --caption`'s path) from the held-out phrasings and
  from the training ones, and a digit classifier trained here on the real digits (bench/gan.py's DigitNet) judges
  them: accuracy against the caption's digit (target >= 0.90 on the held-out phrasings); its own test accuracy is
  the ceiling.
- captioned shapes (genstudio_shapes.dataset, 32 px): text2image trained on a set of --shapes images; a judge with
  two heads (colour of 5, shape of 3) trained here on another rendered set scores images generated from the
  captions of a third, unseen set: colour and shape accuracy against the render parameters the captions name, and
  the judge's own accuracy on real images of that third set (the ceiling).

Figures (text2image 0.2.0, this CPU, one torch thread, widths 16): digits 16 px, judge test accuracy 0.96 --
3000 steps (88 s of training): held-out phrasings 1.0 (every phrasing 1.0), training phrasings 0.98; 1500 steps
(76 s): held-out 0.90 (0.82 to 1.0 by phrasing), training 0.96. text2image 0.1.0 (Reed et al.'s concatenating
discriminator, lr 2e-4, no word dropout) scored 0.11 at 1500 steps, chance. Shapes 32 px, 1500 steps (140 s): colour
1.0, shape 0.31, against the judge's 1.0 / 0.40 on real images (its shape head is the weak part, near chance 0.33).
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
sys.path.insert(0, str(REPO / "bench"))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "digits"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TRAIN_PHRASINGS = ("a {n}", "the digit {w}", "a handwritten {n}", "number {w}")
HELD_OUT_PHRASINGS = ("the digit {n}", "a handwritten {w}", "number {n}", "a {w}")
SMALL = {"ngf": 16, "ndf": 16, "latent_dim": 32, "word_dim": 16, "text_width": 32, "embed_dim": 32, "max_tokens": 16}


def phrase(template: str, digit: int) -> str:
    return template.format(n=digit, w=WORDS[digit])


def write_captioned_digits(source: Path, out: Path) -> int:
    """Copy the digits into `out`/<class>/ with image.txt holding the training phrasings."""
    import shutil

    count = 0
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        digit = int(folder.name)
        (out / folder.name).mkdir(parents=True)
        for image in sorted(folder.glob("*.png")):
            shutil.copyfile(image, out / folder.name / image.name)
            text = "\n".join(phrase(t, digit) for t in TRAIN_PHRASINGS) + "\n"
            (out / folder.name / image.name).with_suffix(".txt").write_text(text, encoding="utf-8")
            count += 1
    return count


def train(data: Path, out: Path, steps: int, resolution: int, **settings) -> dict:
    from genstudio.operations.train import train as train_operation

    assignments = [f"{key}={value}" for key, value in {**SMALL, **settings}.items()]
    started = time.perf_counter()
    summary = train_operation(backend="text2image", data=data, out=out, steps=steps, resolution=resolution,
                              batch_size=64, seed=0, device="cpu", assignments=assignments,
                              checkpoint_every=10**9, sample_every=10**9, threads=1)
    return {"steps": steps, "wall_seconds": round(time.perf_counter() - started, 1),
            "images_per_second": round(summary.images_per_second, 1),
            "final_losses": {k: round(v, 3) for k, v in summary.final_losses.items()}}


def generate(model: Path, caption: str, count: int, seed: int = 0) -> torch.Tensor:
    """`count` images of `caption` through the Sampler (what `genstudio generate --caption` runs)."""
    from genstudio.generate_folder import open_sampler

    sampler = open_sampler(model, device="cpu", runtime="torch")
    (text,), _ = sampler.resolve_captions(caption)
    return torch.stack([s.image for s in sampler.samples(seed, list(range(count)), caption=text)])


def digits_part(args, root: Path) -> dict:
    from gan import accuracy, train_judge

    from genstudio.data import ImageFolderDataset

    def load(folder):
        dataset = ImageFolderDataset(folder, args.resolution, 1, cache=False)
        return dataset.images.float() / 255.0, dataset.labels.long()

    train_x, train_y = load(args.data / "train")
    test_x, test_y = load(args.data / "test")
    judge, judge_accuracy = train_judge(train_x, train_y, test_x, test_y)
    data = root / "digits"
    images = write_captioned_digits(args.data / "train", data)
    report = {"images": images, "resolution": args.resolution, "train_phrasings": list(TRAIN_PHRASINGS),
              "held_out_phrasings": list(HELD_OUT_PHRASINGS), "judge_test_accuracy": round(judge_accuracy, 4)}
    report["training"] = train(data, root / "digits-model", args.digit_steps, args.resolution)
    for name, phrasings in (("held_out", HELD_OUT_PHRASINGS), ("train", TRAIN_PHRASINGS)):
        per_phrasing = {}
        correct = total = 0
        for template in phrasings:
            fakes = torch.cat([generate(root / "digits-model", phrase(template, d), args.per_caption, seed=d)
                               for d in range(10)])
            wanted = torch.arange(10).repeat_interleave(args.per_caption)
            score = accuracy(judge, fakes, wanted)
            per_phrasing[template] = round(score, 4)
            correct += score * len(wanted)
            total += len(wanted)
        report[f"{name}_accuracy"] = round(correct / total, 4)
        report[f"{name}_by_phrasing"] = per_phrasing
    return report


class ShapeJudge(nn.Module):
    def __init__(self, colours: int, shapes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 16 x 16
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64 x 8 x 8
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())  # 256
        self.colour, self.shape = nn.Linear(256, colours), nn.Linear(256, shapes)

    def forward(self, x):
        h = self.features(x)
        return self.colour(h), self.shape(h)


def shapes_targets(folder: Path):
    import numpy as np
    from genstudio_shapes.dataset import COLOURS, SHAPES, read_params
    from PIL import Image

    params = read_params(folder)
    images = torch.stack([torch.from_numpy(np.array(Image.open(folder / p.file).convert("RGB")))
                          .permute(2, 0, 1).float() / 255 for p in params])
    colours = torch.tensor([list(COLOURS).index(p.colour) for p in params])
    shapes = torch.tensor([SHAPES.index(p.shape) for p in params])
    return params, images, colours, shapes


def train_shape_judge(images, colours, shapes, epochs: int = 25) -> ShapeJudge:
    from genstudio_shapes.dataset import COLOURS, SHAPES

    torch.manual_seed(0)
    net = ShapeJudge(len(COLOURS), len(SHAPES))
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    for _ in range(epochs):
        order = torch.randperm(len(images))
        for start in range(0, len(images), 64):
            batch = order[start:start + 64]
            colour_logits, shape_logits = net(images[batch])
            loss = nn.functional.cross_entropy(colour_logits, colours[batch]) + \
                nn.functional.cross_entropy(shape_logits, shapes[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return net.eval()


@torch.no_grad()
def judge_shapes(net, images, colours, shapes) -> tuple[float, float]:
    colour_logits, shape_logits = net(images)
    return (float((colour_logits.argmax(1) == colours).float().mean()),
            float((shape_logits.argmax(1) == shapes).float().mean()))


def shapes_part(args, root: Path) -> dict:
    from genstudio_shapes.dataset import write_captioned_shapes

    write_captioned_shapes(root / "shapes-train", args.shapes, 32, seed=0)
    write_captioned_shapes(root / "shapes-judge", 1200, 32, seed=1)
    write_captioned_shapes(root / "shapes-test", 150, 32, seed=2)
    _, judge_x, judge_c, judge_s = shapes_targets(root / "shapes-judge")
    judge = train_shape_judge(judge_x, judge_c, judge_s)
    params, test_x, test_c, test_s = shapes_targets(root / "shapes-test")
    ceiling = judge_shapes(judge, test_x, test_c, test_s)
    report = {"train_images": args.shapes, "resolution": 32, "test_captions": len(params),
              "judge_real_accuracy": {"colour": round(ceiling[0], 4), "shape": round(ceiling[1], 4)}}
    report["training"] = train(root / "shapes-train", root / "shapes-model", args.shape_steps, 32)
    fakes = torch.cat([generate(root / "shapes-model", p.captions[0], 1, seed=i) for i, p in enumerate(params)])
    colour, shape = judge_shapes(judge, fakes, test_c, test_s)
    report["generated_accuracy"] = {"colour": round(colour, 4), "shape": round(shape, 4)}
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digit-steps", type=int, default=3000)
    parser.add_argument("--shape-steps", type=int, default=1500)
    parser.add_argument("--resolution", type=int, default=16, help="digits: 16 or 32 px")
    parser.add_argument("--shapes", type=int, default=1200, help="images in the shapes training set")
    parser.add_argument("--per-caption", type=int, default=20, help="images generated per digit and phrasing")
    parser.add_argument("--part", choices=("digits", "shapes", "all"), default="all")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report: dict = {"benchmark": "text2image-cpu", "device": "cpu", "torch_threads": 1,
                    "settings": SMALL}
    with tempfile.TemporaryDirectory() as tmp:
        if args.part in ("digits", "all"):
            report["digits"] = digits_part(args, Path(tmp))
        if args.part in ("shapes", "all"):
            report["shapes"] = shapes_part(args, Path(tmp))
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
