"""Style-transfer benchmark on shared/data/content and shared/data/styles, CPU only: prints one JSON object.

    python bench/style.py [--quality-size 128] [--train-steps 100] [--gatys-steps 20] [--out DIR]

Offline, so every loss network is `features=random` (a seeded random VGG19, the documented lower-quality mode;
no ImageNet VGG19 is available here), and the JSON says so.

What it measures:
- quality, per backend: for each content image, the output's content loss and style (Gram) loss, both measured
  with one fixed independent feature network (a VGG19 with another seed than the one the backends optimise
  with), next to the two reference points the targets compare with: the style loss of the content image itself
  (target: output <= half of it) and the content loss of the style image (target: output below it). Content
  loss: relative squared error at relu4_2 against the content image; style loss: relative Gram error at relu1_1
  .. relu5_1 against the style image. All backends use one style (the one fast-style is trained for); adain is
  also measured on every content image with another style each ("adain_arbitrary");
- fast-style (lite) and adain (lite decoder) are trained here with genstudio's runtime on the 5 content images
  (and the 7 styles for adain) for --train-steps steps of 2 images at 64 px (a 2-core CPU shared with other
  work allows no more; the quality checks run at --quality-size, 128 px by default, for the same reason); gatys
  optimises each image in 2 scales (--gatys-steps, then half as many at full size);
- speed at 512 x 512 on this CPU (2 threads), seconds per image, in PyTorch eager and through onnxruntime after
  `genstudio export` (the product's inference path, parity checked): fast-style (standard, lite), adain
  (standard and lite decoders, style encoded at 256 px on every call) and, eager only, gatys (one step including
  the target pass, and 150 times that: an upper bound for the default). Targets: fast-style lite >= 5 images/s
  through onnxruntime; fast-style and adain under 2 s. Other processes may share the CPU, so these timings are
  upper bounds; the JSON records the load average;
- a sheet image (content, style, gatys, fast-style, adain per row) in --out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MEASURE_SEED = 2024  # the independent measuring network: VGG19 with another seed than features=random's
CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
TRAIN_SIZE = 64


def load_images(folder: Path, max_size: int) -> dict[str, torch.Tensor]:
    from genstudio_style.images import fit_size, to_batch

    return {path.stem: fit_size(to_batch(path)[0], max_size)[0] for path in sorted(folder.iterdir())
            if path.suffix.lower() in (".png", ".jpg", ".jpeg")}


class Judge:
    """Content and style losses on an independent random VGG19 (not the one the backends use)."""

    def __init__(self):
        from genstudio_style.vgg import VGGFeatures, layer_index, random_vgg_state

        state = random_vgg_state(layer_index("relu5_1"), MEASURE_SEED)
        self.vgg = VGGFeatures(state, "relu5_1", {"seed": MEASURE_SEED})

    @torch.no_grad()
    def losses(self, image: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> dict[str, float]:
        from genstudio_style.images import resize_to
        from genstudio_style.losses import gram_matrix, style_loss

        image = resize_to(image[None], tuple(content.shape[-2:]))
        layers = [CONTENT_LAYER, *STYLE_LAYERS]
        out, ref = self.vgg(image, layers), self.vgg(content[None], [CONTENT_LAYER])
        side = max(content.shape[-2:]) / max(style.shape[-2:])
        style = resize_to(style[None], (round(style.shape[-2] * side), round(style.shape[-1] * side)))
        targets = {name: gram_matrix(f) for name, f in self.vgg(style, list(STYLE_LAYERS)).items()}
        grams = {name: gram_matrix(out[name]) for name in STYLE_LAYERS}
        content_loss = torch.mean((out[CONTENT_LAYER] - ref[CONTENT_LAYER]) ** 2) / torch.mean(ref[CONTENT_LAYER] ** 2)
        return {"content": float(content_loss),
                "style": float(style_loss(grams, targets, dict.fromkeys(STYLE_LAYERS, 1.0)))}


def judge_outputs(judge: Judge, outputs: dict, contents: dict, styles: dict) -> dict:
    """Mean losses of the outputs and of the references (content image's style loss, style image's content loss)."""
    rows = []
    for (content_name, style_name), image in outputs.items():
        content, style = contents[content_name], styles[style_name]
        ours = judge.losses(image, content, style)
        rows.append({"content": content_name, "style": style_name, "output_content_loss": ours["content"],
                     "output_style_loss": ours["style"],
                     "content_image_style_loss": judge.losses(content, content, style)["style"],
                     "style_image_content_loss": judge.losses(style, content, style)["content"]})
    mean = {key: sum(row[key] for row in rows) / len(rows) for key in rows[0] if key not in ("content", "style")}
    mean["style_target_met"] = mean["output_style_loss"] <= 0.5 * mean["content_image_style_loss"]
    mean["content_target_met"] = mean["output_content_loss"] < mean["style_image_content_loss"]
    return {"mean": mean, "pairs": rows}


def train(backend: str, config: dict, steps: int, out: Path, device: str = "cpu") -> float:
    from genstudio.data import ImageFolderDataset
    from genstudio.plugins import get_registry
    from genstudio.training import fit

    spec = get_registry().backend(backend)
    dataset = ImageFolderDataset(DATA / "content", TRAIN_SIZE, 3, cache=False)
    start = time.perf_counter()
    fit(spec, spec.schema.resolve(config), dataset, out, steps=steps, batch_size=2, device=device,
        sample_every=steps, sample_count=8, checkpoint_every=steps)
    return time.perf_counter() - start


def seconds_per_image(fn, repeats: int = 2) -> float:
    fn()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def onnx_seconds_per_image(folder: Path, size: int, threads: int) -> dict:
    """A model folder through the product's path: `genstudio export` (parity checked), then onnxruntime's CPU
    provider on one size x size content image (and, for adain, a size x size style scaled as stylize does: the
    style is encoded on every call, as for a new style)."""
    import numpy as np

    from genstudio.export import export_model
    from genstudio.models import load_model
    from genstudio.onnx_runtime import open_session

    record = export_model(folder)
    module = load_model(folder).module
    session = open_session(folder / record["graphs"]["model"]["file"], "cpu", threads=threads, cache=False)
    feeds = {"content": torch.rand(1, 3, size, size).numpy()}
    if "style" in session.input_names:
        feeds["style"] = module.prepare_style(torch.rand(3, size, size)).numpy()
    if "alpha" in session.input_names:
        feeds["alpha"] = np.ones(1, np.float32)
    return {"seconds": round(seconds_per_image(lambda: session.run(feeds), repeats=3), 3),
            "parity_max_abs_error": record["graphs"]["model"]["max_abs_error"]["cpu"]}


def speed(fast_dir: Path, adain_dir: Path, work: Path, threads: int) -> dict:
    from genstudio_style.api import load_stylizer
    from genstudio_style.backend import GATYS

    from genstudio.models import save_model
    from genstudio.plugins import get_registry

    registry = get_registry()
    x = torch.rand(3, 512, 512)
    style = torch.rand(3, 512, 512)
    fresh = {}  # the standard sizes, untrained (speed does not depend on training)
    for backend, config in (("fast-style", {"size": "standard"}), ("adain", {"features": "random"})):
        spec = registry.backend(backend)
        resolved = spec.schema.resolve(config)
        fresh[backend] = _fresh(work / f"{backend}-standard")
        save_model(fresh[backend], spec, resolved, spec.load().build(resolved).state_dict())
    fast_lite, adain_lite = load_stylizer(fast_dir), load_stylizer(adain_dir)
    fast_standard, adain_standard = load_stylizer(fresh["fast-style"]), load_stylizer(fresh["adain"])
    gatys = GATYS.build(registry.backend("gatys").schema.resolve({"features": "random"}))
    step = seconds_per_image(lambda: gatys.stylize(x, style, steps=1), repeats=1)  # + the one-off target pass
    lite_onnx = onnx_seconds_per_image(fast_dir, 512, threads)
    return {
        "torch_eager": {
            "fast_style_standard_s": seconds_per_image(lambda: fast_standard.stylize(x)),
            "fast_style_lite_s": seconds_per_image(lambda: fast_lite.stylize(x)),
            "adain_standard_decoder_s": seconds_per_image(lambda: adain_standard.stylize(x, style)),
            "adain_lite_decoder_s": seconds_per_image(lambda: adain_lite.stylize(x, style)),
            "gatys_one_step_s": step,
            "gatys_default_150_steps_s_upper_bound": step * 150,
        },
        "onnxruntime": {
            "fast_style_standard": onnx_seconds_per_image(fresh["fast-style"], 512, threads),
            "fast_style_lite": {**lite_onnx, "images_per_s": round(1 / lite_onnx["seconds"], 2),
                                "target_images_per_s": 5},
            "adain_standard_decoder": onnx_seconds_per_image(fresh["adain"], 512, threads),
            "adain_lite_decoder": onnx_seconds_per_image(adain_dir, 512, threads),
            "target_seconds_fast_style_and_adain": 2.0,
        },
    }


def write_sheet(path: Path, rows: list[list[torch.Tensor]]) -> None:
    """One row per content image: content, style, gatys, fast-style, adain (160 x 160 tiles)."""
    from genstudio_style.images import resize_to, to_output
    from torchvision.utils import make_grid

    tiles = [resize_to(image[None], (160, 160))[0] for row in rows for image in row]
    grid = make_grid(torch.stack(tiles), nrow=len(rows[0]), padding=2, pad_value=1.0)  # 3 x H' x W'
    path.parent.mkdir(parents=True, exist_ok=True)
    to_output(grid[None], as_pil=True).save(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quality-size", type=int, default=128, help="longer side of the quality-check images")
    parser.add_argument("--train-steps", type=int, default=100, help="training steps of fast-style and adain")
    parser.add_argument("--gatys-steps", type=int, default=20, help="gatys L-BFGS steps at the coarse scale")
    parser.add_argument("--style", default="candy", help="the style fast-style is trained for (file stem)")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads")
    parser.add_argument("--train-device", default="cpu", help="where fast-style and adain train (cpu, cuda)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "genstudio-bench-style",
                        help="folder for the sheet image and the trained models")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from genstudio_style.api import load_stylizer

    contents = load_images(DATA / "content", args.quality_size)
    styles = load_images(DATA / "styles", args.quality_size)
    style = args.style
    judge, result = Judge(), {}
    started = time.perf_counter()

    gatys = load_stylizer("gatys", config={"features": "random", "scales": 2, "steps": args.gatys_steps})
    begin = time.perf_counter()
    gatys_out = {(name, style): gatys.stylize(image, styles[style]) for name, image in contents.items()}
    result["gatys"] = {**judge_outputs(judge, gatys_out, contents, styles),
                       "seconds_per_image_at_quality_size": (time.perf_counter() - begin) / len(contents)}

    fast_dir = args.out / "fast-style-lite"
    fast_config = {"features": "random", "size": "lite", "resolution": TRAIN_SIZE, "lr": 3e-3,
                   "style_size": args.quality_size,
                   "style_image": str(next((DATA / "styles").glob(style + ".*")))}
    train_s = train("fast-style", fast_config, args.train_steps, _fresh(fast_dir), args.train_device)
    fast = load_stylizer(fast_dir)
    fast_out = {(name, style): fast.stylize(image) for name, image in contents.items()}
    result["fast_style_lite"] = {**judge_outputs(judge, fast_out, contents, styles), "train_seconds": train_s}

    adain_dir = args.out / "adain-lite"
    adain_config = {"features": "random", "decoder": "lite", "resolution": TRAIN_SIZE, "lr": 5e-4,  # 1e-4 too slow
                    "style_dir": str(DATA / "styles")}
    train_s = train("adain", adain_config, args.train_steps, _fresh(adain_dir), args.train_device)
    adain = load_stylizer(adain_dir)
    adain_out = {(name, style): adain.stylize(image, styles[style]) for name, image in contents.items()}
    result["adain_lite"] = {**judge_outputs(judge, adain_out, contents, styles), "train_seconds": train_s}
    names = sorted(styles)
    arbitrary = {(name, names[i % len(names)]): adain.stylize(image, styles[names[i % len(names)]])
                 for i, (name, image) in enumerate(contents.items())}
    result["adain_lite_arbitrary"] = judge_outputs(judge, arbitrary, contents, styles)["mean"]

    sheet = args.out / "sheet.png"
    write_sheet(sheet, [[contents[n], styles[style], gatys_out[(n, style)], fast_out[(n, style)],
                         adain_out[(n, style)]] for n in contents])
    result["speed_512px"] = speed(fast_dir, adain_dir, args.out, args.threads)
    print(json.dumps({
        "features": "random (seeded VGG19; lower-quality offline mode: no ImageNet VGG19 on this machine)",
        "measured_with": f"independent random VGG19, seed {MEASURE_SEED}: content {CONTENT_LAYER}, "
                         f"style Gram {','.join(STYLE_LAYERS)}",
        "quality_size": args.quality_size, "train_steps": args.train_steps, "train_size": TRAIN_SIZE,
        "gatys_steps_per_scale": args.gatys_steps, "style": style,
        "cpu": {"threads": args.threads, "cores": os.cpu_count(), "load_average": os.getloadavg()},
        **result, "sheet": str(sheet), "seconds": time.perf_counter() - started,
    }, indent=2))
    return 0


def _fresh(folder: Path) -> Path:
    import shutil

    if folder.exists():
        shutil.rmtree(folder)
    return folder


if __name__ == "__main__":
    sys.exit(main())
