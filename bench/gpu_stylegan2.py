"""StyleGAN2 training speed on a CUDA GPU, AMP off and on, and ONNX Runtime's CUDA provider against torch: one JSON.

    python bench/gpu_stylegan2.py [--resolutions 64,128] [--amp off,bf16,fp16] [--batch 32] [--seconds 25]
                                  [--channel-max 512] [--out DIR]

What it measures (issue 14's GPU figures):
- seconds per thousand training images (s/kimg) of `stylegan2` through the product's own training runtime
  (`genstudio.training.fit`: the real task with lazy R1 every 16 D steps, path length every 4 G steps, style
  mixing, EMA, ADA off), at each resolution and AMP mode, over `--seconds` of steady-state steps after a warm-up
  (the first steps build cuDNN plans and are left out; the clock is read after `torch.cuda.synchronize()`).
  NVlabs report 12.8 s/kimg at 128 px on one V100 with their custom CUDA ops (stylegan2-ada-pytorch README,
  "Expected training time"); ours runs in plain torch ops, no compiler.
- `genstudio generate` of a trained 128 px model: torch on CUDA against onnxruntime's CUDA provider, images/s over
  the same request (PNG encoding included, as a user sees it), and the largest pixel difference between the two.

The data is synthetic (smooth random colour fields, seeded): training speed does not depend on what the images
show, and the device machine holds no dataset.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


class Fields:
    """`count` smooth random RGB images of `side` px (bilinear-upsampled 4 x 4 noise): what fit reads."""

    def __init__(self, count: int, side: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        coarse = torch.rand(count, 3, 4, 4, generator=generator)
        self.images = torch.nn.functional.interpolate(coarse, size=(side, side), mode="bilinear",
                                                      align_corners=False).clamp(0, 1)
        self.labels = torch.zeros(count, dtype=torch.long)
        self.classes = ["fields"]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        return self.images[index], 0


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def train_speed(resolution: int, amp: str, batch: int, seconds: float, channel_max: int, out: Path,
                warmup_steps: int = 20, device: str = "cuda") -> dict:
    """s/kimg of stylegan2 at `resolution` with `amp`, measured between steps after `warmup_steps`."""
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    spec = get_registry().backend("stylegan2")
    config = spec.schema.resolve({"resolution": resolution, "channels": 3, "channel_max": channel_max,
                                  "augment": "off"})
    marks: list[tuple[int, float]] = []
    calls = [0]

    def clock() -> bool:  # polled between steps
        calls[0] += 1
        if calls[0] == warmup_steps:
            _sync()
            marks.append((calls[0], time.perf_counter()))
        elif calls[0] > warmup_steps and calls[0] % 8 == 0:
            _sync()
            marks.append((calls[0], time.perf_counter()))
            return marks[-1][1] - marks[0][1] >= seconds
        return False

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    summary = fit(spec, config, Fields(batch * 8, resolution), out, steps=10**7, batch_size=batch, seed=0,
                  device=device, amp=amp, checkpoint_every=10**9, sample_every=10**9, sample_count=0,
                  log_every=50, abort=clock)
    (first_step, first), (last_step, last) = marks[0], marks[-1]
    images = (last_step - first_step) * batch
    return {"resolution": resolution, "amp": amp, "batch": batch, "timed_steps": last_step - first_step,
            "s_per_kimg": round((last - first) / images * 1000, 2),
            "images_per_second": round(images / (last - first), 1),
            "peak_memory_gib": (round(torch.cuda.max_memory_allocated() / 2**30, 2)
                                if torch.cuda.is_available() else None),
            "total_steps": summary.steps}


def generate_speed(model: Path, out: Path, count: int) -> dict:
    """`genstudio generate` through torch on CUDA and onnxruntime's CUDA provider: images/s and pixel agreement."""
    subprocess.run([sys.executable, "-m", "genstudio", "export", str(model)], check=True, capture_output=True)
    result: dict = {}
    runs = (("torch_cuda", ["--runtime", "torch", "--device", "cuda"]),
            ("onnx_cuda", ["--runtime", "onnx", "--provider", "cuda"]),  # refused where onnxruntime has no CUDA
            ("onnx_cpu", ["--runtime", "onnx", "--provider", "cpu"]))
    for name, args in runs:
        for attempt in ("warm", "timed"):  # the first run pays for session creation and kernel selection
            folder = out / f"{name}-{attempt}"
            done = subprocess.run([sys.executable, "-m", "genstudio", "generate", str(model), "--count", str(count),
                                   "--seed", "3", "--out", str(folder), "--json", *args],
                                  capture_output=True, text=True)
            if done.returncode:
                break
        if done.returncode:
            result[name] = {"refused": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}
            continue
        summary = json.loads(done.stdout)
        result[name] = {"images_per_second": summary["images_per_second"], "runtime": summary["runtime"],
                        "device": summary["device"], "notes": summary.get("notes", [])}
        if name != "torch_cuda":
            result[name]["max_pixel_difference_to_torch"] = _worst(out / "torch_cuda-timed", folder)
    return result


def _worst(a_folder: Path, b_folder: Path) -> int:
    """The largest 8-bit difference between same-named PNGs of two folders."""
    from PIL import Image

    worst = 0
    for path in sorted(a_folder.glob("*.png")):
        a = np.asarray(Image.open(path), dtype=np.int16)
        b = np.asarray(Image.open(b_folder / path.name), dtype=np.int16)
        worst = max(worst, int(np.abs(a - b).max()))
    return worst


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", default="64,128")
    parser.add_argument("--amp", default="off,bf16,fp16")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--generate-count", type=int, default=256)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("bench/gpu_stylegan2.py needs a CUDA GPU")
    torch.backends.cudnn.benchmark = True
    root = args.out or Path(tempfile.mkdtemp(prefix="gpu-stylegan2-"))
    report: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "runs": []}
    last_model = None
    for resolution in [int(r) for r in args.resolutions.split(",")]:
        for amp in args.amp.split(","):
            folder = root / f"sg-{resolution}-{amp}"
            try:
                report["runs"].append(train_speed(resolution, amp, args.batch, args.seconds, args.channel_max,
                                                  folder))
                last_model = folder
            except Exception as exc:  # one failed mode is a figure too
                report["runs"].append({"resolution": resolution, "amp": amp, "error": f"{type(exc).__name__}: {exc}"})
            print(json.dumps(report["runs"][-1]), file=sys.stderr, flush=True)
    if last_model is not None and args.generate_count:
        try:
            report["generate"] = {"model": last_model.name, "count": args.generate_count,
                                  **generate_speed(last_model, root / "generate", args.generate_count)}
        except (subprocess.CalledProcessError, OSError, ValueError) as exc:
            report["generate"] = {"error": f"{type(exc).__name__}: {str(getattr(exc, 'stderr', '') or exc)[-2000:]}"}
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
