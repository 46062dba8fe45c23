"""Restoration benchmark: the restore plugin against classical baselines on held-out images. Prints one JSON object.

  inpainting  held-out digits (64 px) and photo crops (64 px from a photo kept out of training), the same seeded
              free-form + box masks (genstudio_restore.degrade.free_form_mask) for every method; PSNR and SSIM
              inside the hole (SSIM: the mean of torchmetrics' SSIM map over the hole's pixels) for the restore
              model, latent-inpaint (digits: projection into a VAE trained on the same digits, Bora et al. 2017)
              and OpenCV's Telea (2004) inpainting (opencv-python-headless, the dev extra) as the classical floor;
  speed       seconds per 256 x 256 inpainting on the CPU (torch, and the ONNX export on onnxruntime);
  upscaling   2x on the held-out images: PSNR of the model against bicubic (both from the same 32 px input).

Each model is trained here (`--steps`, lite size, `--set` for more settings) on `--device`; the scores and the speed
are measured on the CPU whatever trained it. A CPU run worth its minutes: `--steps 150 --set width=8
--vae-steps 0`; on a GPU: `--device cuda --steps 5000`.
Usage: python bench/restore.py [--steps 400] [--images 32] [--seed 0] [--device cpu] [--data ../shared/data]
       [--batch 8] [--set KEY=VALUE ...] [--vae-steps 300] [--latent-steps 100] [--only digits|photos]
       [--no-timing] [--ema-decay D] [--threads 1]

Figures at the defaults (restore 0.3, 400 steps, width 16; on 2 torch threads, as the default was then, the CPU
shared with two other benchmarks: 31 min, most of it threads waiting on each other; one thread is the default now):
holes PSNR / SSIM digits 19.65 / 0.757 (Telea 18.85 / 0.716, latent-inpaint 19.79 / 0.774), photos 28.83 / 0.825
(Telea 28.55 / 0.817); 2x digits 51.25 (bicubic 50.30), photos 34.49 (bicubic 34.47: level at 400 steps); seconds
per 256 px inpainting 1.23 torch, 0.14 onnxruntime. Photos at the defaults on one thread (93 s): holes 28.77, 2x
34.49, 0.117 s torch; the 0.2 recipe (`--set task_balance=pixels --ema-decay 0`) there: holes 28.54 (Telea 28.55),
2x 33.92; 0.3 without the EMA: 28.73, 34.49.
Figures (restore 0.3, CPU, one torch thread, `--steps 1500 --set width=8 --vae-steps 0 --threads 1`, 5 min):
holes PSNR digits 23.92 dB (Telea 18.85), photos 28.67 (Telea 28.55); 2x digits 54.03 (bicubic 50.30), photos
34.85 (bicubic 34.47). Restore 0.2 at the same settings (one pixel mean over every task, the live weights): photos
holes 28.81, 2x 34.14, below bicubic (digits, as reported before: holes 19.99, 2x 50.37). Photos only
(`--only photos --no-timing`), 2x / holes: task_balance=pixels live 34.14 / 28.81, pixels + EMA 34.53 / 28.62,
scale live 34.83 / 28.71, scale + EMA (0.3) 34.85 / 28.67, tasks=upscale alone 34.88.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data from the repository; --data
SIDE = 64
DEVICE = "cpu"  # where the models train (--device); inference and timing stay on the CPU
BATCH = 8
THREADS = 1
FIT_OPTIONS: dict = {}  # more of fit's options (--ema-decay)


def digits(split: str, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    files = sorted((DATA / "digits" / split).rglob("*.png"))
    chosen = rng.choice(len(files), size=min(count, len(files)), replace=False)
    return [np.asarray(Image.open(files[i]).convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC))
            for i in chosen]


def crops(photo: Path, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    image = Image.open(photo).convert("RGB")
    image = image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)  # some detail per crop
    pixels = np.asarray(image)
    out = []
    for _ in range(count):
        top, left = rng.integers(0, pixels.shape[0] - SIDE), rng.integers(0, pixels.shape[1] - SIDE)
        out.append(pixels[top:top + SIDE, left:left + SIDE].copy())
    return out


def save_all(images: list[np.ndarray], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{index:04d}.png")
    return folder


def train(data: Path, out: Path, backend: str, steps: int, sets: list[str]) -> Path:
    from genstudio.operations.train import train as run

    run(backend=backend, data=data, out=out, steps=steps, resolution=SIDE, batch_size=BATCH, device=DEVICE,
        assignments=sets, sample_every=10**9, checkpoint_every=10**9, threads=THREADS, **FIT_OPTIONS)
    return out


def hole_scores(restored: np.ndarray, clean: np.ndarray, hole: np.ndarray) -> tuple[float, float]:
    """PSNR and SSIM (torchmetrics' map, Wang et al. 2004) over the hole's pixels, images uint8 H x W x 3."""
    import torch
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    a, b = restored.astype(np.float64) / 255, clean.astype(np.float64) / 255
    mse = float(((a - b) ** 2)[hole].mean())
    psnr = 10 * np.log10(1 / max(mse, 1e-10))
    ta = torch.from_numpy(a.transpose(2, 0, 1)[None]).float()
    tb = torch.from_numpy(b.transpose(2, 0, 1)[None]).float()
    _, full = ssim(ta, tb, data_range=1.0, return_full_image=True)
    return psnr, float(full[0].mean(0).numpy()[hole].mean())


def run_model(model, images: list[np.ndarray], masks: list[np.ndarray], task: str, runtime: str = "torch",
              config: dict | None = None) -> list[np.ndarray]:
    from genstudio.batch.restore import Masks, open_restorer

    restorer = open_restorer(str(model), task=task, masks=Masks(file=Path("unused")) if task == "inpaint" else None,
                             device="cpu", runtime=runtime, provider="cpu" if runtime == "onnx" else "auto",
                             config=config)
    out = []
    for image, mask in zip(images, masks, strict=True):
        planes = [image.transpose(2, 0, 1) / 255]
        if task == "inpaint":
            planes.append(mask[None].astype(np.float32))
        batch = np.concatenate(planes)[None].astype(np.float32)
        out.append((np.clip(restorer.run(batch)[0], 0, 1).transpose(1, 2, 0) * 255).round().astype(np.uint8))
    return out


def telea(images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
    import cv2

    return [cv2.inpaint(image, (mask * 255).astype(np.uint8), 3, cv2.INPAINT_TELEA)
            for image, mask in zip(images, masks, strict=True)]


def mean_scores(results: list[np.ndarray], clean: list[np.ndarray], masks: list[np.ndarray]) -> dict[str, float]:
    pairs = [hole_scores(r, c, m.astype(bool)) for r, c, m in zip(results, clean, masks, strict=True)]
    return {"psnr_hole": round(float(np.mean([p for p, _ in pairs])), 2),
            "ssim_hole": round(float(np.mean([s for _, s in pairs])), 4)}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean()) / 255 ** 2
    return 10 * np.log10(1 / max(mse, 1e-10))


def upscale_scores(model, clean: list[np.ndarray]) -> dict[str, float]:
    small = [np.asarray(Image.fromarray(c).resize((SIDE // 2, SIDE // 2), Image.Resampling.BICUBIC)) for c in clean]
    bicubic = [np.asarray(Image.fromarray(s).resize((SIDE, SIDE), Image.Resampling.BICUBIC)) for s in small]
    ours = run_model(model, small, [None] * len(small), "upscale")
    return {"psnr_model": round(float(np.mean([psnr(o, c) for o, c in zip(ours, clean, strict=True)])), 2),
            "psnr_bicubic": round(float(np.mean([psnr(b, c) for b, c in zip(bicubic, clean, strict=True)])), 2)}


def seconds_per_256(model, runtime: str) -> float:
    from genstudio_restore.degrade import free_form_mask

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
    mask = free_form_mask(256, 256, rng)
    run_model(model, [image], [mask], "inpaint", runtime)  # warm-up (session, first call)
    started = time.perf_counter()
    repeats = 3
    run_model(model, [image] * repeats, [mask] * repeats, "inpaint", runtime)
    return round((time.perf_counter() - started) / repeats, 3)


def main() -> None:
    import genstudio_restore
    import torch
    from genstudio_restore.degrade import free_form_mask

    from genstudio.export import export_model

    global DATA, DEVICE, BATCH, THREADS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--vae-steps", type=int, default=300, help="0: no latent-inpaint on digits")
    parser.add_argument("--images", type=int, default=32, help="held-out images per set")
    parser.add_argument("--latent-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="where the models train: cpu, cuda, cuda:N, mps")
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder (digits/, content/)")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                        help="more restore settings, e.g. width=8 (repeatable)")
    parser.add_argument("--only", choices=("digits", "photos"), default=None, help="run one set (both by default)")
    parser.add_argument("--no-timing", dest="timing", action="store_false",
                        help="skip the ONNX export and the 256 px timing")
    parser.add_argument("--ema-decay", type=float, default=None, help="fit's ema_decay (default: fit's own)")
    parser.add_argument("--threads", type=int, default=THREADS, help="torch CPU threads (on a CPU shared with other "
                        "work, 1 can be many times faster than 2: small ops wait on each other's threads)")
    args = parser.parse_args()
    DATA, DEVICE, BATCH, THREADS = args.data.resolve(), args.device, args.batch, args.threads
    if args.ema_decay is not None:
        FIT_OPTIONS["ema_decay"] = args.ema_decay
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    sets = ["size=lite", "tasks=inpaint,upscale", "perceptual=auto", "lr=0.002", *args.sets]
    tasks = [value for key, _, value in (text.partition("=") for text in sets) if key.strip() == "tasks"][-1]
    report: dict = {"settings": {"restore": genstudio_restore.__version__, "steps": args.steps, "side": SIDE,
                                 "held_out": args.images, "size": "lite", "seed": args.seed, "device": DEVICE,
                                 "batch": BATCH, "set": sets,
                                 "torch_threads": args.threads, **FIT_OPTIONS}}
    photos = sorted(p for p in (DATA / "content").iterdir() if p.suffix in (".png", ".jpg"))
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        data = {
            "digits": (digits("train", 600, rng), digits("test", args.images, rng)),
            "photos": ([c for p in photos[:-1] for c in crops(p, 150, rng)], crops(photos[-1], args.images, rng)),
        }
        report["settings"]["photo_held_out"] = photos[-1].name
        for name, (train_images, test_images) in data.items():
            if args.only and name != args.only:
                continue
            model = train(save_all(train_images, work / name / "train"), work / name / "model", "restore",
                          args.steps, sets)
            masks = [free_form_mask(SIDE, SIDE, np.random.default_rng(1000 + i)) for i in range(len(test_images))]
            holed = [(img * (1 - m[..., None])).astype(np.uint8) for img, m in zip(test_images, masks, strict=True)]
            entry = {"telea": mean_scores(telea(holed, masks), test_images, masks),
                     "hole_fraction": round(float(np.mean([m.mean() for m in masks])), 3)}
            if "inpaint" in tasks:
                entry["restore"] = mean_scores(run_model(model, holed, masks, "inpaint"), test_images, masks)
            if name == "digits" and args.vae_steps:  # the route with no restoration training: a VAE of the digits
                vae = train(work / name / "train", work / name / "vae", "vae", args.vae_steps, [])
                config = {"source": str(vae), "steps": args.latent_steps, "restarts": 4}
                entry["latent_inpaint"] = mean_scores(run_model("latent-inpaint", holed, masks, "inpaint",
                                                                config=config), test_images, masks)
            if "upscale" in tasks:
                entry["upscale_2x"] = upscale_scores(model, test_images)
            report[name] = entry
            if name == "photos" and args.timing and "inpaint" in tasks:
                export_model(model)
                report["seconds_per_256px_inpaint"] = {"torch": seconds_per_256(model, "torch"),
                                                       "onnx": seconds_per_256(model, "onnx")}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
