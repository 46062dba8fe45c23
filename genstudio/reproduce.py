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


def _reproduce_generate(record: dict[str, Any], out: Path, model: str | None) -> tuple[Any, dict[str, Any]]:
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


REPRODUCERS: dict[str, Callable[[dict[str, Any], Path, str | None], tuple[Any, dict[str, Any]]]] = {
    "generate": _reproduce_generate,
}


def reproduce(image: str | os.PathLike[str], out: str | os.PathLike[str], *, model: str | None = None,
              overwrite: bool = False) -> Reproduction:
    from genstudio.provenance import read_provenance, to_uint8, write_png

    image, out = Path(image), Path(out)
    record = read_provenance(image)
    if record is None:
        raise UserError(f"{image} carries no genstudio provenance (or is not a readable PNG)")
    operation = record.get("operation", "generate" if "seed" in (record.get("parameters") or {}) else "")
    if operation not in REPRODUCERS:
        raise UserError(f"{image}: reproducing {operation or 'this kind of'} images is not supported")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    if out.resolve() == image.resolve():
        raise UserError("--out must not be the original image")
    pixels, new_record = REPRODUCERS[operation](record, out, model)
    write_png(out, pixels, new_record, overwrite=True)
    with Image.open(image) as original:
        before = np.asarray(original).astype(np.int16)
    after = to_uint8(pixels).astype(np.int16)
    after = after[:, :, 0] if before.ndim == 2 and after.ndim == 3 else after
    same_shape = before.shape == after.shape
    difference = int(np.abs(before - after).max()) if same_shape else 255
    return Reproduction(str(image), str(out), operation, same_shape and difference == 0, difference,
                        new_record.get("runtime", ""), new_record.get("device", ""))
