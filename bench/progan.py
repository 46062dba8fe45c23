"""Progressive growing against DCGAN at equal wall time on the digits (CPU): prints one JSON object.

    python bench/progan.py [--seconds 90] [--threads 1] [--samples 1000] [--data ../shared/data/digits] [--out DIR]

What it measures, at 32 x 32 (the digits as bench/gan.py reads them) and at 64 x 64 (the same images upscaled):
- `dcgan` (genstudio's default recipe, ngf = ndf = 32 as in bench/gan.py) and `progan` (its defaults: WGAN-GP with
  drift, equalized learning rate, pixel norm, minibatch std; ngf = ndf = 64; a growth schedule sized so that the
  last stage is reached around half way through the budget) are each trained for the same `--seconds` of wall
  time (the runtime's abort check stops them; the model is saved as after a cancel);
- at 32 x 32 also `progan` without growing (stage_images 1: the full-size networks from the first step), which
  separates what growing does from what the rest of the recipe does;
- judge-FID: the FID on the features of the small digit classifier bench/gan.py trains (its helpers are imported),
  against digits/test at 32 x 32; 64 x 64 samples are average-pooled to 32 x 32 for the judge, so both sizes are
  scored on the same scale. The classifier's own accuracy and the train-vs-test FID (the floor) are reported.
- for progan, the step at which each stage began, and the stage and alpha it ended in.

The 2 CPU cores of the machine this was written on are shared with other work, so wall-time budgets are noisy;
`--threads 1` (the default) is much faster there than 2 oversubscribed threads.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gan import DEFAULT_DATA, WIDTH, features, sample_ours, train_judge  # noqa: E402  (bench/gan.py's helpers)

PROGAN_WIDTH = 64
STAGE_IMAGES = {32: 3000, 64: 1300}  # growth ends about half way through 90 s on one CPU thread (batch 64)


def load(folder: Path, resolution: int):
    from genstudio.data import ImageFolderDataset

    dataset = ImageFolderDataset(folder, resolution, 1, cache=False)
    return dataset, dataset.images.float() / 255.0, dataset.labels.long()


def train_for(backend: str, dataset, out: Path, seconds: float, batch_size: int, **settings) -> dict:
    """Train until `seconds` of wall time have passed (checked between steps), then save as a cancel does."""
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    spec = get_registry().backend(backend)
    config = spec.schema.resolve({"resolution": dataset.resolution, "channels": 1, **settings})
    deadline: list[float] = []

    def out_of_time() -> bool:
        if not deadline:
            deadline.append(time.perf_counter() + seconds)  # from the first step, after the set-up
        return time.perf_counter() >= deadline[0]

    summary = fit(spec, config, dataset, out, steps=10**7, batch_size=batch_size, seed=0, device="cpu",
                  checkpoint_every=10**9, sample_every=10**9, sample_count=0, log_every=1, abort=out_of_time)
    result = {"steps": summary.steps, "train_seconds": round(summary.seconds, 1),
              "images_per_second": round(summary.images_per_second, 1)}
    if backend == "progan":
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        starts: dict[str, int] = {}
        for row in rows:
            starts.setdefault(f"{int(row['resolution'])}px", int(row["step"]) - 1)
        result.update(stage_started_at_step=starts, final_resolution=int(rows[-1]["resolution"]),
                      final_alpha=round(rows[-1]["alpha"], 3), stage_images=config["stage_images"])
    return result


def judge_fid(judge, model_dir: Path, count: int, test_features: torch.Tensor) -> float:
    from genstudio.metrics.distances import fid

    images = sample_ours(model_dir, count)
    if images.shape[-1] != 32:
        images = F.adaptive_avg_pool2d(images, 32)  # the judge reads 32 x 32
    return round(fid(features(judge, images), test_features), 3)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="training wall time per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=1000, help="generated images per FID")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--judge-epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="keep the trained models here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from genstudio.metrics.distances import fid

    started = time.perf_counter()
    _, train_x, train_y = load(args.data / "train", 32)
    _, test_x, test_y = load(args.data / "test", 32)
    judge, judge_acc = train_judge(train_x, train_y, test_x, test_y, epochs=args.judge_epochs)
    test_f = features(judge, test_x)
    report: dict = {
        "benchmark": "progan-vs-dcgan-digits-cpu",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "data": {"train": len(train_x), "test": len(test_x), "resolutions": [32, 64]},
        "settings": {"seconds_per_model": args.seconds, "batch_size": args.batch_size, "samples": args.samples,
                     "dcgan_width": WIDTH, "progan_width": PROGAN_WIDTH},
        "judge": {"test_accuracy": round(judge_acc, 4), "features": "digit classifier penultimate layer (128)",
                  "fid_train_vs_test": round(fid(features(judge, train_x), test_f), 3)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for resolution in (32, 64):
            dataset = load(args.data / "train", resolution)[0]
            runs = {
                "dcgan": ("dcgan", {"ngf": WIDTH, "ndf": WIDTH}),
                "progan": ("progan", {"ngf": PROGAN_WIDTH, "ndf": PROGAN_WIDTH,
                                      "stage_images": STAGE_IMAGES[resolution]}),
            }
            if resolution == 32:
                runs["progan_no_growing"] = ("progan", {"ngf": PROGAN_WIDTH, "ndf": PROGAN_WIDTH, "stage_images": 1})
            results = {}
            for name, (backend, settings) in runs.items():
                out = root / f"{name}-{resolution}"
                results[name] = train_for(backend, dataset, out, args.seconds, args.batch_size, **settings)
                results[name]["fid"] = judge_fid(judge, out, args.samples, test_f)
            report[f"{resolution}px"] = results
    report["progan_minus_dcgan_fid"] = {f"{r}px": round(report[f"{r}px"]["progan"]["fid"]
                                                        - report[f"{r}px"]["dcgan"]["fid"], 3) for r in (32, 64)}
    report["growing_minus_no_growing_fid_32px"] = round(report["32px"]["progan"]["fid"]
                                                        - report["32px"]["progan_no_growing"]["fid"], 3)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
