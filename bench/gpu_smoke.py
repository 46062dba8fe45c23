"""Every family's journey on a CUDA GPU, through the `genstudio` command as a user runs it: one JSON object.

    python bench/gpu_smoke.py --digits DIR [--steps 30] [--out DIR] [--only dcgan,draw,...]

The test suite runs on CPUs; this is the check that the CUDA paths work (tensors made on the right device inside
each network, AMP on by default on CUDA, exports from CUDA-trained models, ONNX next to a CUDA torch). Each step is a
subprocess of `python -m genstudio ...` with `--device cuda`; the report lists each command's exit status, its
seconds and, on failure, its last lines of stderr. Data: a digits folder (class subfolders) given with --digits, a
captioned shapes set made here with `genstudio data shapes`, and a mask drawn here.
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
from PIL import Image


def journeys(root: Path, digits: Path, steps: int, device: str = "cuda") -> dict[str, list[list[str]]]:
    """Family -> its commands (argument lists after `genstudio`), run in order; a family stops at its first failure."""
    m = lambda name: str(root / name)  # noqa: E731
    shapes, mask, inputs = m("shapes"), m("mask.png"), m("inputs")
    train = ["--steps", str(steps), "--device", device, "-b", "16", "--sample-every", "1000000"]
    return {
        "dcgan": [["train", "dcgan", "--data", str(digits), "--out", m("dcgan"), "-r", "32", *train],
                  ["generate", m("dcgan"), "--count", "8", "--out", m("dcgan-out"), "--device", device, "--grid"],
                  ["export", m("dcgan")],
                  ["generate", m("dcgan"), "--count", "8", "--out", m("dcgan-onnx"), "--runtime", "onnx"],
                  ["walk", m("dcgan"), "--seeds", "1,2", "--frames", "6", "--out", m("walk.gif"), "--device", device]],
        "cgan": [["train", "cgan", "--data", str(digits), "--out", m("cgan"), "-r", "32", *train],
                 ["generate", m("cgan"), "--per-class", "2", "--layout", "folders", "--out", m("cgan-set"),
                  "--device", device]],
        "vae": [["train", "vae", "--data", str(digits), "--out", m("vae"), "-r", "32", *train],
                ["reconstruct", m("vae"), inputs, "--out", m("vae-rec"), "--device", device],
                ["eval", m("vae"), "--data", str(digits), "--metrics", "elbo,nll", "--count", "64", "--k", "4",
                 "--device", device]],
        "draw": [["train", "draw", "--data", str(digits), "--out", m("draw"), "-r", "32", *train],
                 ["draw-steps", m("draw"), "--count", "4", "--out", m("draw.gif"), "--device", device],
                 ["eval", m("draw"), "--data", str(digits), "--metrics", "elbo,nll", "--count", "64", "--k", "4",
                  "--device", device],
                 ["export", m("draw")]],
        "text2image": [["data", "shapes", shapes, "--count", "128", "-r", "32"],
                       ["train", "text2image", "--data", shapes, "--out", m("t2i"), "-r", "32", *train],
                       ["generate", m("t2i"), "--caption", "a red circle", "--caption", "a small blue square",
                        "--count", "4", "--out", m("t2i-out"), "--device", device],
                       ["export", m("t2i")],
                       ["generate", m("t2i"), "--caption", "a red circle", "--count", "4", "--out", m("t2i-onnx"),
                        "--runtime", "onnx"]],
        "restore": [["train", "restore", "--data", str(digits), "--out", m("restore"), "-r", "32", *train],
                    ["restore", m("restore"), inputs, "--task", "inpaint", "--mask", mask, "--out", m("inpainted"),
                     "--device", device],
                    ["restore", m("restore"), inputs, "--task", "upscale", "--out", m("upscaled"), "--device", device],
                    ["export", m("restore")]],
        "stylegan2": [["train", "stylegan2", "--data", str(digits), "--out", m("sg2"), "-r", "32", "--set",
                       "channel_max=64", *train],
                      ["generate", m("sg2"), "--count", "8", "--truncation", "0.7", "--mix-with", "3", "--mix-from",
                       "2", "--out", m("sg2-out"), "--device", device],
                      ["export", m("sg2")]],
        "progan": [["train", "progan", "--data", str(digits), "--out", m("progan"), "-r", "32", *train],
                   ["generate", m("progan"), "--count", "8", "--out", m("progan-out"), "--device", device]],
        "cyclegan": [["train", "cyclegan", "--data", str(digits / "0"), "--data-b", str(digits / "1"), "--out",
                      m("cyclegan"), "-r", "32", *train],
                     ["translate", m("cyclegan"), inputs, "--direction", "b2a", "--out", m("translated"),
                      "--device", device]],
        "gatys": [["stylize", "gatys", inputs, "--style", str(next(iter(sorted(digits.rglob("*.png"))))),
                   "--set", "features=random", "--set", "steps=20", "--out", m("gatys"), "--device", device]],
    }


def prepare(root: Path, digits: Path) -> None:
    """Four input digits (upscaled to 64 px) and a 64 px box mask."""
    (root / "inputs").mkdir(parents=True)
    for index, path in enumerate(sorted(digits.rglob("*.png"))[:4]):
        Image.open(path).convert("RGB").resize((64, 64)).save(root / "inputs" / f"d{index}.png")
    mask = np.zeros((64, 64), np.uint8)
    mask[20:44, 16:40] = 255
    Image.fromarray(mask).save(root / "mask.png")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", default="")
    parser.add_argument("--device", default="cuda", help="cuda; cpu checks the commands themselves on a CPU")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per command")
    args = parser.parse_args(argv)
    root = args.out or Path(tempfile.mkdtemp(prefix="gpu-smoke-"))
    prepare(root, args.digits)
    wanted = [name for name in args.only.split(",") if name]
    report: dict = {"families": {}}
    for family, commands in journeys(root, args.digits, args.steps, args.device).items():
        if wanted and family not in wanted:
            continue
        results = []
        for command in commands:
            start = time.perf_counter()
            try:
                done = subprocess.run([sys.executable, "-m", "genstudio", *command], capture_output=True, text=True,
                                      timeout=args.timeout)
                rc, err = done.returncode, done.stderr
            except subprocess.TimeoutExpired as exc:
                rc, err = "timeout", str(exc.stderr or "")
            result = {"command": " ".join(command[:2]), "rc": rc, "seconds": round(time.perf_counter() - start, 1)}
            if rc != 0:
                result["stderr"] = err.strip().splitlines()[-6:]
            results.append(result)
            if rc != 0:
                break
        report["families"][family] = {"ok": all(r["rc"] == 0 for r in results), "steps": results}
        print(json.dumps({family: report["families"][family]}), file=sys.stderr, flush=True)
    report["ok"] = [name for name, value in report["families"].items() if value["ok"]]
    report["failed"] = [name for name, value in report["families"].items() if not value["ok"]]
    print(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
