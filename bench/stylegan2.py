"""StyleGAN2 against DCGAN on the digits (CPU), small-data ADA on and off, ONNX against eager: one JSON object.

    python bench/stylegan2.py [--minutes 3] [--small-per-class 30] [--small-steps 400] [--threads 1]
                              [--samples 1000] [--data ../shared/data/digits] [--out DIR]
                              [--parts equal,small,onnx] [--models dcgan,stylegan2] [--stylegan2-batch-size 16]

What it measures (32 x 32 grayscale, the digits as bench/gan.py reads them):
- equal wall time: `dcgan` (genstudio's default recipe, ngf = ndf = 32 as in bench/gan.py), `stylegan2`
  (its default recipe at a CPU-sized width: channel_base 1024 / channel_max 32, so 32 feature maps at every
  resolution like the DCGAN, w = z = 128, a 2-layer mapping network, ADA by the `auto` rule) and the same network
  with the paper's recipe (`PAPER`: path length 2, lr 0.0025, ADA over 500k images; --skip-paper leaves it out)
  each train for `--minutes` of wall time (the runtime's abort check stops them); judge-FID: the FID on the
  features of the small digit classifier bench/gan.py trains (its helpers are imported) against digits/test;
  images/s of each. The issue asks for 15 and 30 minutes per model; on the shared 2-core machine this was written
  on that is too long, so the budget is a flag and the default is a few minutes.
- small data: `--small-per-class` images per class drawn from digits/train (seeded; the issue's 200 per class is
  more than digits/train holds, about 150), stylegan2 with `augment=ada` (p moving at `--ada-images`, by default
  the backend's) and with `augment=off`, the same `--small-steps` steps each; judge-FID against digits/test, and
  where p ended.
- ONNX against eager: the stylegan2 model exported (parity checked), images/s of `generate` through the same
  Sampler on torch and on onnxruntime, batch 1 and 32, and the largest pixel difference between the two runtimes
  with truncation 0.7 (cutoff 4) and style mixing from layer 4.

The CPU's 2 cores are shared with other work, so wall-time budgets are noisy; `--threads 1` is the default.

Findings (`--minutes 2 --small-steps 300`, one seed, a 2-core CPU shared with other work, load 8-10): judge-FID at
equal wall time dcgan 26.9 (1094 steps, 291 img/s), stylegan2 with its defaults 172.5 (299 steps, 80 img/s), with
the paper's recipe 271.5 (182 steps, 48 img/s: path length costs 40% of the throughput and slows the start). The
defaults' reasons are in genstudio_stylegan2's docstring. At these budgets stylegan2 stays far behind the DCGAN: a
step costs ~4x as much (modulated 3x3 convolutions at full width at 32 px, a residual D, R1) and the style-based
generator starts slowly; the issue's 15/30-minute comparison needs a quieter machine. Small data (300 images, 300
steps): ADA 177.5 (p 0.23), off 170.4: no gain yet at 300 steps (the paper's gains come after many epochs).
ONNX: batch 1 3.6x eager, batch 32 0.78x; truncation + mixing within 1/255 of torch.

The issue's budgets (`--parts equal --minutes 15|30 --skip-paper`, one thread each, load 3-5): judge-FID at 15
minutes dcgan 13.4 (6548 steps) vs stylegan2 209.1 (1924 steps); at 30 minutes dcgan 7.53 (16539) vs stylegan2 11.44
(6813): stylegan2 closes most of the gap but is not lower. Small data at the issue's size (`--parts small
--small-per-class 150 --small-steps 2000`): ADA 187.4 (p 0.05) vs off 366.2, 1.95x lower FID with ADA. ONNX (15-min
model): batch 1 2.98x eager, batch 32 1.55x, truncation + mixing 0 pixels apart.

The equal-time stylegan2 run trains at batch 16 with lr 0.002 (`--stylegan2-batch-size`, SHORT_RUN); the other runs
keep batch 32 and the backend's lr 0.001. Five-minute runs side by side on a quiet machine (one seed each, ~1100
steps at batch 32): lr 0.001 366, 0.0015 409, 0.002 209, 0.003 287; at lr 0.002, batch 16 91 (2120 steps, 113
img/s: the same images/s, twice the updates; ADA off 78) and batch 8 15.2 (4089 steps, 109 img/s). Narrower
high-resolution layers, the paper's min(base / r, max) with base 256 (8 maps at 32 px, 64 at 4 px) or 512, run
2.1x / 1.2x faster but scored 414 / 300 at lr 0.002. Per image on one thread a stylegan2 step costs ~5x a dcgan
step (profiled: the 3x3 convolutions at 32 x 32 with 32 maps, forward and backward, are ~60%; the 1 x 1 ToRGB and
the bilinear up-sampling's backward follow).

At 30 minutes on a quiet machine, stylegan2 at batch 16, both side by side (`--models dcgan` and `--models
stylegan2 --parts equal,onnx` in two processes, one thread each): dcgan 6.44 (38556 steps of 32, 709 img/s) vs
stylegan2 13.29 (14110 steps of 16, 131 img/s), judged by one judge trained afresh (the runs' own report lost the
figures to a since-fixed bug): the target (stylegan2 lower at 30 minutes) missed. ONNX on that model: batch 1
3.27x eager, batch 32 2.17x, parity 1.5e-6, truncation + mixing 0 pixels apart.
At batch 8, the same pairing: dcgan 6.01 (39406 steps, 700 img/s) vs stylegan2 17.69 (25156 steps of 8, 112
img/s): batch 8 leads at 5 minutes (15.2) but does not improve by 30, so 16 is the default; still missed.
Why it stays missed: the digits' own floor, FID of digits/train against digits/test on the judge's features, is
4.86, and the DCGAN reaches 6.0-6.4. Two more 30-minute stylegan2 runs side by side (batch 16 and 8), each keeping
extra EMAs of G: batch 16 12.24 (11828 steps, 105 img/s), batch 8 14.30 (22827 steps); the EMA decays 0.9997 and
0.9999 next to the runtime's 0.999 score 12.25 / 13.80 (the EMA's warm-up, (1 + t) / (10 + t), caps all three
alike this early); the live G of the earlier batch-8 model scores 24.9 against its EMA's 17.8. A longer average is
not the lever; images per second are.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gan import DEFAULT_DATA, WIDTH, features, load, sample_ours, train_judge  # noqa: E402  (bench/gan.py's helpers)

STYLEGAN2 = {"channel_base": 1024, "channel_max": 32, "latent_dim": 128, "w_dim": 128, "mapping_layers": 2}
SHORT_RUN = {"lr": 0.002}  # the equal-time run's learning rate, with --stylegan2-batch-size (see the docstring)
PAPER = {"pl_weight": 2.0, "style_mixing": 0.9, "lr": 0.0025, "ada_images": 500_000}  # Karras 2020a/b's recipe


class Subset:
    """`per_class` images of each class of an ImageFolderDataset, drawn with a seed (what fit reads)."""

    def __init__(self, dataset, per_class: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        chosen = []
        for klass in range(len(dataset.classes)):
            members = torch.nonzero(dataset.labels == klass).view(-1)
            chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
        keep = torch.cat(chosen)
        self.images, self.labels, self.classes = dataset.images[keep], dataset.labels[keep], dataset.classes

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index].float() / 255.0, int(self.labels[index])


def train(backend: str, dataset, out: Path, batch_size: int, *, seconds: float | None = None,
          steps: int | None = None, **settings) -> dict:
    """Train for `seconds` of wall time (checked between steps) or `steps` steps; the model is saved either way."""
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    spec = get_registry().backend(backend)
    config = spec.schema.resolve({"resolution": 32, "channels": 1, **settings})
    deadline: list[float] = []

    def out_of_time() -> bool:
        if seconds is None:
            return False
        if not deadline:
            deadline.append(time.perf_counter() + seconds)  # from the first step, after the set-up
        return time.perf_counter() >= deadline[0]

    summary = fit(spec, config, dataset, out, steps=steps or 10**7, batch_size=batch_size, seed=0, device="cpu",
                  checkpoint_every=10**9, sample_every=10**9, sample_count=0, log_every=10, abort=out_of_time)
    result = {"steps": summary.steps, "train_seconds": round(summary.seconds, 1),
              "images_per_second": round(summary.images_per_second, 1)}
    if backend == "stylegan2":
        result["augment_p"] = round(summary.final_losses.get("augment_p", 0.0), 4)
        result["r_t"] = round(summary.final_losses.get("r_t", 0.0), 3)
    return result


def judge_fid(judge, model_dir: Path, count: int, test_features: torch.Tensor) -> float:
    from genstudio.metrics.distances import fid

    return round(fid(features(judge, sample_ours(model_dir, count)), test_features), 3)


def onnx_against_eager(model_dir: Path, repeats: int = 3) -> dict:
    """Export, then time the Sampler on both runtimes (batch 1 and 32) and compare their pixels."""
    from genstudio.export import export_model
    from genstudio.generate_folder import open_sampler
    from genstudio.generation import Mixing

    record = export_model(model_dir)
    samplers = {runtime: open_sampler(model_dir, device="cpu", runtime=runtime) for runtime in ("torch", "onnx")}
    result: dict = {"parity_max_abs_error": record["graphs"]["model"]["max_abs_error"]}
    for batch in (1, 32):
        for runtime, sampler in samplers.items():
            list(sampler.samples(0, list(range(batch)), batch_size=batch))  # warm up
            started = time.perf_counter()
            for repeat in range(repeats):
                list(sampler.samples(repeat + 1, list(range(batch)), batch_size=batch))
            result[f"{runtime}_images_per_second_batch{batch}"] = round(
                repeats * batch / (time.perf_counter() - started), 1)
        result[f"onnx_speedup_batch{batch}"] = round(result[f"onnx_images_per_second_batch{batch}"]
                                                     / result[f"torch_images_per_second_batch{batch}"], 2)
    options = {"truncation": 0.7, "truncation_cutoff": 4, "mixing": Mixing(9, 4)}
    images = {runtime: torch.stack([torch.as_tensor(s.image)
                                    for s in sampler.samples(3, list(range(16)), **options)])
              for runtime, sampler in samplers.items()}
    to_uint8 = {runtime: (batch * 255).round() for runtime, batch in images.items()}
    result["truncation_and_mixing_max_pixel_difference"] = int((to_uint8["torch"] - to_uint8["onnx"]).abs().max())
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training wall time per model (equal-time part)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="batch of the dcgan, the paper-recipe and the small-data runs")
    parser.add_argument("--stylegan2-batch-size", type=int, default=16,
                        help="batch of the equal-time stylegan2 run (with lr 0.002: more updates per image)")
    parser.add_argument("--small-per-class", type=int, default=30, help="images per class for the small-data part")
    parser.add_argument("--small-steps", type=int, default=400, help="steps of each small-data run")
    parser.add_argument("--ada-images", type=int, default=None,
                        help="ADA speed in the small-data runs (images for p to go 0 -> 1); default: the backend's")
    parser.add_argument("--samples", type=int, default=1000, help="generated images per FID")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--judge-epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=None, help="keep the trained models here")
    parser.add_argument("--parts", default="equal,small,onnx",
                        help="which parts to run, comma-separated: equal (equal wall time), small (ADA on/off), onnx")
    parser.add_argument("--skip-paper", action="store_true",
                        help="leave out the equal-time run of stylegan2 with the paper's recipe")
    parser.add_argument("--models", default="dcgan,stylegan2,stylegan2_paper_recipe",
                        help="which equal-time runs, comma-separated (one per process lets two run side by side "
                             "under the same load)")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    models = {model.strip() for model in args.models.split(",") if model.strip()}
    if not models <= {"dcgan", "stylegan2", "stylegan2_paper_recipe"}:
        parser.error("--models takes dcgan, stylegan2 and stylegan2_paper_recipe")
    if "onnx" in parts and "stylegan2" not in models:
        parser.error("--parts onnx exports the equal-time stylegan2: --models must include stylegan2")
    if not parts <= {"equal", "small", "onnx"} or ("onnx" in parts and "equal" not in parts):
        parser.error("--parts takes equal, small and onnx (onnx exports the equal-time stylegan2: it needs equal)")
    torch.set_num_threads(args.threads)

    from genstudio.metrics.distances import fid

    started = time.perf_counter()
    dataset, train_x, train_y = load(args.data / "train")
    _, test_x, test_y = load(args.data / "test")
    judge, judge_acc = train_judge(train_x, train_y, test_x, test_y, epochs=args.judge_epochs)
    test_f = features(judge, test_x)
    small = Subset(dataset, args.small_per_class)
    report: dict = {
        "benchmark": "stylegan2-digits-cpu",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "data": {"train": len(train_x), "test": len(test_x), "small": len(small), "resolution": 32},
        "settings": {"minutes_per_model": args.minutes, "batch_size": args.batch_size,
                     "stylegan2_batch_size": args.stylegan2_batch_size, "stylegan2_short_run": SHORT_RUN,
                     "samples": args.samples,
                     "dcgan_width": WIDTH, "stylegan2": STYLEGAN2, "paper_recipe": PAPER,
                     "small_steps": args.small_steps, "small_ada_images": args.ada_images},
        "judge": {"test_accuracy": round(judge_acc, 4), "features": "digit classifier penultimate layer (128)",
                  "fid_train_vs_test": round(fid(features(judge, train_x), test_f), 3),
                  "fid_small_vs_test": round(fid(features(judge, small.images.float() / 255), test_f), 3)},
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        equal: dict = {}
        runs = (("dcgan", "dcgan", {"ngf": WIDTH, "ndf": WIDTH}),
                ("stylegan2", "stylegan2", {**STYLEGAN2, **SHORT_RUN}),
                ("stylegan2_paper_recipe", "stylegan2", {**STYLEGAN2, **PAPER}))
        chosen = models - ({"stylegan2_paper_recipe"} if args.skip_paper else set())
        for name, backend, settings in (run for run in runs if "equal" in parts and run[0] in chosen):
            out = root / f"{name}-equal-time"
            batch = args.stylegan2_batch_size if name == "stylegan2" else args.batch_size
            equal[name] = train(backend, dataset, out, batch, seconds=args.minutes * 60, **settings)
            equal[name]["batch_size"] = batch
            equal[name]["fid"] = judge_fid(judge, out, args.samples, test_f)
        if {"dcgan", "stylegan2"} <= equal.keys():
            equal["stylegan2_minus_dcgan_fid"] = round(equal["stylegan2"]["fid"] - equal["dcgan"]["fid"], 3)
        if equal:
            report["equal_wall_time"] = equal
        data_small: dict = {}
        for mode in ("ada", "off") if "small" in parts else ():
            out = root / f"stylegan2-small-{mode}"
            data_small[mode] = train("stylegan2", small, out, args.batch_size, steps=args.small_steps,
                                     **STYLEGAN2, augment=mode,
                                     **({} if args.ada_images is None else {"ada_images": args.ada_images}))
            data_small[mode]["fid"] = judge_fid(judge, out, args.samples, test_f)
        if data_small:
            data_small["fid_ratio_off_over_ada"] = round(data_small["off"]["fid"] / data_small["ada"]["fid"], 3)
            report["small_data"] = data_small
        if "onnx" in parts:
            report["onnx_vs_eager"] = onnx_against_eager(root / "stylegan2-equal-time")
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(), indent=2) + "\n")
