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

from genstudio.errors import UserError, debug_enabled
from genstudio.fileio import real_folder
from genstudio.latents import record_rule


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


def _open_recorded_sampler(record: dict[str, Any], model: str | None, lean: bool = True):
    """The generator that made a generate / interpolate-seeds record: its model folder (checked by the weights'
    sha256) or its backend id with the recorded settings, on the recorded runtime."""
    from genstudio.generate_folder import open_sampler

    params = record.get("parameters") or {}
    target = model or record.get("model") or (record.get("backend") if record.get("model_sha256") is None else None)
    if not target:
        raise UserError("the image does not say which model folder made it; pass --model")
    runtime = str(record.get("runtime", "torch"))
    config = record.get("config") if not Path(str(target)).is_dir() else None
    if config is not None and not isinstance(config, dict):
        raise UserError("the image's recorded settings are not a mapping; it cannot be reproduced")
    sampler = open_sampler(str(target), device=_torch_device_of(record) if runtime == "torch" else "cpu",
                           runtime=runtime, provider=_provider_of(record) if runtime == "onnx" else "auto",
                           truncation=float(params.get("truncation", 1.0)), config=config, lean=lean)
    if sampler.model_sha256 != record.get("model_sha256"):
        raise UserError(f"{target} is not the model that made this image (its weights' sha256 differs); pass the "
                        "right folder with --model")
    return sampler


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _reproduce_generate(record: dict[str, Any], out: Path, model: str | None,
                        **_files: str | None) -> tuple[Any, dict[str, Any]]:  # no input files to find
    params = record.get("parameters") or {}
    sampler = _open_recorded_sampler(record, model)
    seed, index = int(params["seed"]), int(params["index"])
    label = _int_or_none(params.get("label"))
    truncation = float(params.get("truncation", 1.0))
    cutoff = _int_or_none(params.get("truncation_cutoff"))
    mixing = None
    if params.get("mix_with") is not None or params.get("mix_from") is not None:  # style mixing
        from genstudio.sampling import Mixing

        mixing = Mixing(int(params["mix_with"]), int(params["mix_from"]))
    caption = params.get("caption")
    if caption is not None and not isinstance(caption, str):
        raise UserError("the image's recorded caption is not a text; it cannot be reproduced")
    if caption is not None or sampler.takes_captions:
        sampler.resolve_captions(caption)  # a model without captions refuses one, one with them asks for it
    rule = record_rule(params)  # how its latents were drawn (an older record: torch's generator)
    (sample,) = sampler.samples(seed, [index], label=label, truncation=truncation, truncation_cutoff=cutoff,
                                mixing=mixing, caption=caption, rule=rule)
    return sample.image, sampler.record(seed, index, label, truncation, truncation_cutoff=cutoff, mixing=mixing,
                                        caption=caption, rule=rule)


def _reproduce_interpolate_seeds(record: dict[str, Any], out: Path, model: str | None,
                                 **_files: str | None) -> tuple[Any, dict[str, Any]]:
    params = record.get("parameters") or {}
    sampler = _open_recorded_sampler(record, model)
    step = int(params["step"])
    (item,) = [item for item in sampler.interpolation(int(params["seed_a"]), int(params["seed_b"]),
                                                      int(params["steps"]), index=int(params.get("index", 0)),
                                                      label=_int_or_none(params.get("label")),
                                                      truncation=float(params.get("truncation", 1.0)),
                                                      rule=record_rule(params))
               if item[0] == step]
    return item[1], item[2]


def _reproduce_walk(record: dict[str, Any], out: Path, model: str | None,
                    **_files: str | None) -> tuple[Any, dict[str, Any]]:
    """A frame of a latent walk (genstudio.walk): the frame folder's PNGs carry the walk's record and "frame"."""
    from genstudio.walk import reproduce_frame

    return reproduce_frame(_open_recorded_sampler(record, model), record)


def _reproduce_draw_steps(record: dict[str, Any], out: Path, model: str | None,
                          **_files: str | None) -> tuple[Any, dict[str, Any]]:
    """A frame of a drawing-steps animation (genstudio draw-steps): a frame folder's PNGs carry its record and
    "frame"."""
    from genstudio.operations.draw_steps import reproduce_frame

    return reproduce_frame(_open_recorded_sampler(record, model, lean=False), record)  # its steps need the module


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


SCRATCH_PREFIX = ".genstudio-reproduce-"


def _scratch_folder(beside: Path) -> Any:
    """A temporary folder beside --out, named with this process's id, after removing those of processes that
    are gone (a reproduce killed outright leaves its scratch folder; the next one cleans it up)."""
    import shutil
    import tempfile

    for stale in beside.glob(f"{SCRATCH_PREFIX}*"):
        pid = stale.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)) and stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=beside)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, not ours to signal
    return True


_STYLIZE_PARAMETERS = ("strength", "preserve_color", "direction", "config")  # the rest are choice inputs


def _reproduce_stylize(record: dict[str, Any], out: Path, model: str | None, source: str | None = None,
                       style: str | None = None, progress: Any = None) -> tuple[Any, dict[str, Any]]:

    from genstudio.batch.stylize import stylize_folder
    from genstudio.provenance import read_provenance

    params = dict(_mapping(record, "parameters"))
    batch = _mapping(record, "batch")
    content = _located(record.get("input"), source, record.get("input_sha256"), "input image", "--input")
    style_path = (_located(record.get("style"), style, record.get("style_sha256"), "style image", "--style")
                  if record.get("style_sha256") else None)
    target = model or record.get("model")
    if not target:
        raise UserError("the image does not say which model or backend made it; pass --model")
    runtime = record.get("runtime", "torch")
    # the declared choice inputs' values (a multi-style network's style) are recorded among the parameters
    choices = {key: value for key, value in params.items() if key not in _STYLIZE_PARAMETERS}
    # The pipeline itself, on this one file, into a scratch folder beside --out (nothing is written elsewhere);
    # PNG there whatever the original's format: the pixels before any lossy encoding come back exactly.
    with _scratch_folder(out.parent) as scratch:
        summary = stylize_folder(
            str(target), [content], scratch, style=style_path, direction=params.get("direction"), choices=choices,
            strength=None if "strength" not in params else float(params["strength"]),
            preserve_color=None if "preserve_color" not in params else bool(params["preserve_color"]),
            config=None if Path(str(target)).is_dir() else params.get("config"),
            device=_torch_device_of(record) if runtime == "torch" else "cpu", runtime=runtime,
            provider=_provider_of(record) if runtime == "onnx" else "auto", max_size=batch.get("max_size"),
            tile=batch.get("tile"), overlap=batch.get("overlap") or 32, fmt="png", overwrite=True, workers=1,
            progress=progress)
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


def _reproduce_restore(record: dict[str, Any], out: Path, model: str | None, source: str | None = None,
                       style: str | None = None, progress: Any = None,
                       mask: str | None = None) -> tuple[Any, dict[str, Any]]:
    """A restored image: the restore pipeline on its input (and its mask, given again with --mask or found where
    the record says, checked by sha256), into a scratch folder beside --out, as `_reproduce_stylize` does."""
    from genstudio.batch.restore import restore_folder
    from genstudio.provenance import read_provenance

    params = dict(_mapping(record, "parameters"))
    batch = _mapping(record, "batch")
    content = _located(record.get("input"), source, record.get("input_sha256"), "input image", "--input")
    mask = (_located(record.get("mask"), mask, record.get("mask_sha256"), "mask", "--mask")
            if record.get("mask_sha256") else None)
    target = model or record.get("model")
    if not target:
        raise UserError("the image does not say which model or backend made it; pass --model")
    runtime = record.get("runtime", "torch")
    with _scratch_folder(out.parent) as scratch:
        summary = restore_folder(
            str(target), [content], scratch, task=params.get("task"), mask=mask,
            config=None if Path(str(target)).is_dir() else params.get("config"),
            device=_torch_device_of(record) if runtime == "torch" else "cpu", runtime=runtime,
            provider=_provider_of(record) if runtime == "onnx" else "auto", max_size=batch.get("max_size"),
            tile=batch.get("tile"), overlap=batch.get("overlap") or 16, fmt="png", overwrite=True, workers=1,
            progress=progress)
        if summary.failed or summary.written != 1:
            reason = summary.failed[0]["reason"] if summary.failed else "nothing was written"
            raise UserError(f"re-running the restorer failed: {reason}")
        (made,) = [p for p in Path(scratch).rglob("*.png")]
        new_record = read_provenance(made) or {}
        if record.get("model_sha256") != new_record.get("model_sha256"):
            raise UserError(f"{target} is not the model that made this image (its weights' sha256 differs); pass "
                            "the right folder with --model")
        _check_extra(record, new_record, str(target))
        with Image.open(made) as image:
            pixels = np.asarray(image.convert("RGB")).copy()
    new_record["batch"] = {**new_record.get("batch", {}), "format": batch.get("format", "png"),
                           "quality": batch.get("quality")}
    return pixels, new_record


def _check_extra(record: dict[str, Any], new_record: dict[str, Any], target: str) -> None:
    """A backend id's `extra` (what decides its pixels besides its settings: latent-inpaint's source model by its
    weights' sha256) must be what made the image."""
    before, after = _mapping(record, "extra"), _mapping(new_record, "extra")
    changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    if changed:
        raise UserError(f"{target} no longer runs with what made this image ({', '.join(changed)} differs from the "
                        "record: a model its settings name was retrained or replaced)")


def _autoencoder_of(record: dict[str, Any], model: str | None) -> Any:
    """The autoencoder model that made a reconstruct/interpolate image, with its recorded label, on its device."""
    from genstudio.models import read_card
    from genstudio.operations.autoencode import load_autoencoder

    folder = model or record.get("model")
    if not folder:
        raise UserError("the image does not say which model folder made it; pass --model")
    if read_card(folder).weights_sha256 != record.get("model_sha256"):  # before loading: no torch for a wrong one
        raise UserError(f"{folder} is not the model that made this image (its weights' sha256 differs); pass the "
                        "right folder with --model")
    label = (record.get("parameters") or {}).get("label")
    return load_autoencoder(folder, _torch_device_of(record), label_index=None if label is None else int(label))


def _reproduce_reconstruct(record: dict[str, Any], out: Path, model: str | None, source: str | None = None,
                           **_files: str | None) -> tuple[Any, dict[str, Any]]:
    from genstudio.fileio import sha256_file
    from genstudio.operations import autoencode

    path = _located(record.get("input"), source, record.get("input_sha256"), "input image", "--input")
    auto = _autoencoder_of(record, model)
    original = autoencode.read_image(path, auto)
    image = autoencode.reconstruct_image(auto, original)
    compare = bool((record.get("parameters") or {}).get("compare"))
    new_record = autoencode.reconstruction_record(auto, path, sha256_file(path), compare=compare)
    return (autoencode.side_by_side(original, image) if compare else image), new_record


def _reproduce_interpolate(record: dict[str, Any], out: Path, model: str | None, source: str | None = None,
                           **_files: str | None) -> tuple[Any, dict[str, Any]]:
    """A step (or the strip) of an interpolation. The two inputs are found where the record says; `source`
    (--input) stands in for whichever of them has its sha256."""
    import torch

    from genstudio.fileio import sha256_file
    from genstudio.operations import autoencode

    if source and not Path(source).is_file():
        raise UserError(f"--input {source} is not a file")
    source_sha = sha256_file(source) if source else None
    if source and source_sha not in (record.get("input_a_sha256"), record.get("input_b_sha256")):
        raise UserError(f"{source} is neither of the two images this interpolation started from (its sha256 "
                        "differs from both)")
    ends = []
    for key, what in (("input_a", "first input image"), ("input_b", "second input image")):
        sha = record.get(f"{key}_sha256")
        given = source if source_sha is not None and source_sha == sha else None
        ends.append(_located(record.get(key), given, sha, what, "--input"))
    params = record.get("parameters") or {}
    steps = int(params.get("steps") or 0)
    if steps < 2:
        raise UserError("the image records no interpolation steps; it cannot be made again")
    auto = _autoencoder_of(record, model)
    pair = torch.stack([autoencode.read_image(path, auto) for path in ends])
    ts, images = autoencode.interpolation_path(auto, pair, steps)
    inputs = autoencode.interpolation_inputs(*ends)
    step = params.get("step")
    if step is None:
        return autoencode.strip_of(images), autoencode.interpolation_record(auto, inputs, steps)
    step = int(step)
    if not 0 <= step < steps:
        raise UserError(f"the image records step {step} of a {steps}-step interpolation")
    return images[step], autoencode.interpolation_record(auto, inputs, steps, step, ts[step])


REPRODUCERS: dict[str, Callable[..., tuple[Any, dict[str, Any]]]] = {
    "generate": _reproduce_generate,
    "interpolate-seeds": _reproduce_interpolate_seeds,
    "latent-walk": _reproduce_walk,
    "draw-steps": _reproduce_draw_steps,
    "stylize": _reproduce_stylize,
    "translate": _reproduce_stylize,
    "restore": _reproduce_restore,
    "reconstruct": _reproduce_reconstruct,
    "interpolate": _reproduce_interpolate,
}

def _mapping(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key) or {}
    if not isinstance(value, dict):
        raise UserError(f"the image's recorded {key} are not a mapping; it cannot be reproduced")
    return value


def reproduce(image: str | os.PathLike[str], out: str | os.PathLike[str], *, model: str | None = None,
              source: str | None = None, style: str | None = None, mask: str | None = None,
              overwrite: bool = False, progress: Any = None) -> Reproduction:
    """Re-create `image` from its provenance into `out` (in the original's format) and compare the pixels.
    `model`, `source`, `style` and `mask` point at the model folder, input image, style image and (inpainting)
    mask when they moved.

    The record is untrusted input (anyone can write a PNG chunk): its settings go through the backend's schema
    like typed ones, long work (an optimisation-based stylizer) reports `progress`, and a value of the wrong type
    is one line, not a traceback."""
    from genstudio.batch.writer import FORMATS, provenance_of, write_result
    from genstudio.provenance import to_uint8

    image, out = Path(image), Path(out)
    record, fmt = provenance_of(image)
    if record is None:
        raise UserError(f"{image} carries no genstudio provenance (a PNG's own, or a JPEG/WebP's .json sidecar)")
    operation = record.get("operation", "generate" if "seed" in _mapping(record, "parameters") else "")
    if not isinstance(operation, str) or operation not in REPRODUCERS:
        raise UserError(f"{image}: reproducing {operation or 'this kind of'} images is not supported")
    if FORMATS.get(out.suffix.lower(), "png") != fmt:
        raise UserError(f"--out must have the original's format ({fmt}), so the pixels compare like for like")
    if out.exists() and not overwrite:
        raise UserError(f"{out} exists; pass --overwrite to replace it")
    if out.resolve() == image.resolve():
        raise UserError("--out must not be the original image")
    if mask is not None and not record.get("mask_sha256"):
        raise UserError(f"{image} was made without a mask; drop --mask")
    real_folder(out.parent)
    try:
        if operation in ("stylize", "translate", "restore"):
            files = {"mask": mask} if operation == "restore" else {}
            pixels, new_record = REPRODUCERS[operation](record, out, model, source=source, style=style,
                                                        progress=progress, **files)
        else:
            pixels, new_record = REPRODUCERS[operation](record, out, model, source=source, style=style)
        quality = int(_mapping(record, "batch").get("quality") or 92)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a forged or damaged record
        if debug_enabled():
            raise
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UserError(f"{image}: its provenance cannot be reproduced ({detail})") from None
    write_result(out, to_uint8(pixels), new_record, fmt, quality)
    with Image.open(image) as original, Image.open(out) as remade:
        before = np.asarray(original).astype(np.int16)
        after = np.asarray(remade).astype(np.int16)
    same_shape = before.shape == after.shape
    difference = int(np.abs(before - after).max()) if same_shape else 255
    return Reproduction(str(image), str(out), operation, same_shape and difference == 0, difference,
                        new_record.get("runtime", ""), new_record.get("device", ""))
