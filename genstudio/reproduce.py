"""Re-create an image from the provenance it carries: `genstudio reproduce IMAGE --out FILE`.

Each operation that writes provenance registers how to redo it (`REPRODUCERS`, keyed by the record's
`operation`). The result is compared with the original pixel by pixel: on the same runtime and provider the
pixels are identical; across devices they may differ in the last bit and the report says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genstudio.errors import UserError


@dataclass
class Reproduction:
    original: str
    out: str
    operation: str
    identical: bool  # same pixels as the original
    max_difference: int  # largest per-channel difference, 0..255
    runtime: str
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _provider_of(record: dict[str, Any]) -> str:
    device = str(record.get("device", ""))
    if "Tensorrt" in device:
        return "tensorrt"
    return "cuda" if "CUDA" in device else "cpu"


def _torch_device_of(record: dict[str, Any]) -> str:
    device = str(record.get("device", "cpu")).split(" ")[0]
    return device if device.startswith(("cuda", "mps")) else "cpu"


def _reproduce_generate(record: dict[str, Any], out: Path, model: str | None,
                        **_files: str | None) -> tuple[Any, dict[str, Any]]:  # no input files to find
    from genstudio import generation
    from genstudio.generate_folder import open_sampler

    params = record.get("parameters") or {}
    folder = model or record.get("model")
    if not folder:
        raise UserError("the image does not say which model folder made it; pass --model")
    runtime = record.get("runtime", "torch")
    sampler = open_sampler(folder, device=_torch_device_of(record) if runtime == "torch" else "cpu", runtime=runtime,
                           provider=_provider_of(record), truncation=float(params.get("truncation", 1.0)))
    if sampler.loaded.card.weights_sha256 != record.get("model_sha256"):
        raise UserError(f"{folder} is not the model that made this image (its weights' sha256 differs); pass the "
                        "right folder with --model")
    seed, index = int(params["seed"]), int(params["index"])
    label = params.get("label")
    truncation = float(params.get("truncation", 1.0))
    (sample,) = generation.generate(sampler.module, seed, [index], label=label, truncation=truncation,
                                    device=sampler.torch_device or "cpu")
    return sample.image, sampler.record(seed, index, label, truncation)


def _located(recorded: str | None, given: str | None, sha256: str | None, what: str, option: str) -> Path:
    """The file that was `what` (given again with `option`, or where the record says), checked by its sha256."""
    from genstudio.fileio import sha256_file

    path = given or recorded
    if not path or not Path(path).is_file():
        raise UserError(f"the {what} {path or '(not recorded)'} is not there any more; pass it with {option}")
    if sha256 and sha256_file(path) != sha256:
        raise UserError(f"{path} is not the {what} that made this image (its sha256 differs); pass the right file "
                        f"with {option}")
    return Path(path)


def _reproduce_stylize(record: dict[str, Any], out: Path, model: str | None, source: str | None = None,
                       style: str | None = None) -> tuple[Any, dict[str, Any]]:
    import tempfile

    from genstudio.batch.stylize import stylize_folder
    from genstudio.provenance import read_provenance

    params = dict(record.get("parameters") or {})
    batch = record.get("batch") or {}
    content = _located(record.get("input"), source, record.get("input_sha256"), "input image", "--input")
    style_path = (_located(record.get("style"), style, record.get("style_sha256"), "style image", "--style")
                  if record.get("style_sha256") else None)
    target = model or record.get("model")
    if not target:
        raise UserError("the image does not say which model or backend made it; pass --model")
    runtime = record.get("runtime", "torch")
    # The pipeline itself, on this one file, into a scratch folder beside --out (nothing is written elsewhere);
    # PNG there whatever the original's format: the pixels before any lossy encoding come back exactly.
    with tempfile.TemporaryDirectory(prefix=".genstudio-reproduce-", dir=out.parent) as scratch:
        summary = stylize_folder(
            str(target), [content], scratch, style=style_path, strength=float(params.get("strength", 1.0)),
            preserve_color=bool(params.get("preserve_color", False)),
            config=None if Path(str(target)).is_dir() else params.get("config"),
            device=_torch_device_of(record) if runtime == "torch" else "cpu", runtime=runtime,
            provider=_provider_of(record), max_size=batch.get("max_size"), tile=batch.get("tile"),
            overlap=batch.get("overlap") or 32, fmt="png", overwrite=True, workers=1)
        if summary.failed or summary.written != 1:
            reason = summary.failed[0]["reason"] if summary.failed else "nothing was written"
            raise UserError(f"re-running the stylizer failed: {reason}")
        (made,) = [p for p in Path(scratch).rglob("*.png")]
        new_record = read_provenance(made) or {}
        if record.get("model_sha256") != new_record.get("model_sha256"):
            raise UserError(f"{target} is not the model that made this image (its weights' sha256 differs); pass "
                            "the right folder with --model")
        with Image.open(made) as image:
            pixels = np.asarray(image.convert("RGB")).copy()
    new_record["batch"] = {**new_record.get("batch", {}), "format": batch.get("format", "png"),
                           "quality": batch.get("quality")}
    return pixels, new_record


REPRODUCERS: dict[str, Callable[..., tuple[Any, dict[str, Any]]]] = {
    "generate": _reproduce_generate,
    "stylize": _reproduce_stylize,
}

def reproduce(image: str | os.PathLike[str], out: str | os.PathLike[str], *, model: str | None = None,
              source: str | None = None, style: str | None = None, overwrite: bool = False) -> Reproduction:
    """Re-create `image` from its provenance into `out` (in the original's format) and compare the pixels.
    `model`, `source` and `style` point at the model folder, input image and style image when they moved."""
    from genstudio.batch.writer import FORMATS, provenance_of, write_result
    from genstudio.provenance import to_uint8

    image, out = Path(image), Path(out)
    record, fmt = provenance_of(image)
    if record is None:
        raise UserError(f"{image} carries no genstudio provenance (a PNG's own, or a JPEG/WebP's .json sidecar)")
    operation = record.get("operation", "generate" if "seed" in (record.get("parameters") or {}) else "")
    if operation not in REPRODUCERS:
        raise UserError(f"{image}: reproducing {operation or 'this kind of'} images is not supported")
    if FORMATS.get(out.suffix.lower(), "png") != fmt:
        raise UserError(f"--out must have the original's format ({fmt}), so the pixels compare like for like")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    if out.resolve() == image.resolve():
        raise UserError("--out must not be the original image")
    out.parent.mkdir(parents=True, exist_ok=True)
    pixels, new_record = REPRODUCERS[operation](record, out, model, source=source, style=style)
    quality = int((record.get("batch") or {}).get("quality") or 92)
    write_result(out, to_uint8(pixels), new_record, fmt, quality)
    with Image.open(image) as original, Image.open(out) as remade:
        before = np.asarray(original).astype(np.int16)
        after = np.asarray(remade).astype(np.int16)
    same_shape = before.shape == after.shape
    difference = int(np.abs(before - after).max()) if same_shape else 255
    return Reproduction(str(image), str(out), operation, same_shape and difference == 0, difference,
                        new_record.get("runtime", ""), new_record.get("device", ""))
