"""The entry-point checks: the command line, the job runner and the app's action on the same request give the same
pixels and records; the pipeline writes the network's own output; reproduce remakes it; the ONNX export agrees."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.conformance.common import PARITY_LEVELS, Fail, Skip, scratch
from genstudio.conformance.network import hole_box, is_restorer, restorer_task

INCIDENTAL = ("time", "input", "style", "mask")  # what may differ between two runs of a request (genstudio.provenance)
CLI_TIMEOUT_S = 600


def path_checks(run: Callable[..., None], state: dict[str, Any], *, image_kind: bool) -> None:
    run("cli", lambda: _cli(state, image_kind), needs=("impl",))
    run("job", lambda: _job(state, image_kind), needs=("cli_files",))
    run("app", lambda: _app(state, image_kind), needs=("cli_files",))
    run("pipeline", lambda: _pipeline(state, image_kind), needs=("cli_files",))
    run("reproduce", lambda: _reproduce(state), needs=("cli_files",))
    run("onnx parity", lambda: _onnx_parity(state, image_kind), needs=("cli_files",))


# -- what the entry points are given -----------------------------------------------------------------------------


def _model(state: dict[str, Any]) -> str:
    """What the entry points name: the model folder (a trainable backend's untrained one, saved here), or the id."""
    if "model" in state:
        return state["model"]
    target = state["target"]
    if target.folder is not None:
        state["model"] = str(Path(target.folder).resolve())
    elif target.spec.capabilities.trainable:
        if "module" not in state:
            raise Skip("a trainable backend is checked on a model folder of its built module, and build failed")
        from genstudio.models import save_model

        folder = scratch(state, "untrained-model")
        save_model(folder, target.spec, target.settings, state["module"].state_dict())
        state["model"] = str(folder)
    else:
        state["model"] = target.spec.id
    return state["model"]


def _files(state: dict[str, Any]) -> dict[str, Path]:
    """The inputs of an image-to-image request: a content image, and a style image when the backend takes one."""
    if "files" in state:
        return state["files"]
    from PIL import Image

    from genstudio.inputs import InputKind

    folder = scratch(state, "inputs")
    rng = np.random.default_rng(1)
    files = {"input": folder / "content.png"}
    Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(files["input"])
    if state["target"].spec.input(InputKind.STYLE) is not None:
        files["style"] = folder / "style.png"
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(files["style"])
    if is_restorer(state) and restorer_task(state) == "inpaint":
        files["mask"] = folder / "mask.png"
        Image.fromarray(hole_box((24, 32))).save(files["mask"])
    state["files"] = files
    return files


def _direction(state: dict[str, Any]) -> str | None:
    from genstudio.inputs import InputKind

    entry = state["target"].spec.input(InputKind.DIRECTION)
    return entry.choices[-1] if entry is not None else None  # the last: a default would hide a dropped option


def _caption(state: dict[str, Any]) -> list[str]:
    """`--caption TEXT` for a backend that declares a caption input (one unknown word: the character fallback)."""
    from genstudio.inputs import InputKind

    return ["--caption", CAPTION] if state["target"].spec.input(InputKind.CAPTION) is not None else []


CAPTION = "a conformance check"


def _by_id(state: dict[str, Any]) -> bool:
    return state["target"].folder is None and not state["target"].spec.capabilities.trainable


def _images(folder: Path) -> dict[str, Path]:
    return {str(path.relative_to(folder)): path for path in sorted(folder.rglob("*.png"))}


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).astype(np.int16)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """H x W x C uint8 pixels (C = 1, 3 or 4) as `_pixels` reads a file: RGB, int16."""
    from genstudio.provenance import to_pil

    return np.asarray(to_pil(np.asarray(pixels).astype(np.uint8)).convert("RGB")).astype(np.int16)


def _record(path: Path, drop: tuple[str, ...] = INCIDENTAL) -> dict[str, Any]:
    from genstudio.provenance import read_provenance

    record = read_provenance(path)
    if record is None:
        raise Fail(f"{path.name} carries no provenance")
    return {key: value for key, value in record.items() if key not in drop}


# -- the checks --------------------------------------------------------------------------------------------------


def _genstudio(args: list[str]) -> tuple[int, str]:
    """`genstudio ARGS` as users run it: a fresh process of this interpreter; (exit code, its last error line)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "genstudio", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=CLI_TIMEOUT_S)
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return done.returncode, lines[-1] if lines else "(no output)"


def _cli(state: dict[str, Any], image_kind: bool) -> str:
    spec, model = state["target"].spec, _model(state)
    out = scratch(state, "cli")
    sets = [part for assignment in state["assignments"] for part in ("--set", assignment)] if _by_id(state) else []
    if image_kind:
        args = [*_image_command(state, model), "--out", str(out), "--device", "cpu"]
    else:
        args = ["generate", model, "--count", "2", "--seed", "0", "--out", str(out), "--device", "cpu",
                *_caption(state)]
    code, message = _genstudio([*args, *sets])
    if code != 0:
        raise Fail(f"`genstudio {' '.join(args[:2])} ...` exited {code}: {message}")
    files = _images(out)
    if len(files) != (1 if image_kind else 2):
        raise Fail(f"`genstudio {args[0]}` wrote {len(files)} images, expected {1 if image_kind else 2}")
    for path in files.values():
        record = _record(path)
        if record.get("backend") != spec.id:
            raise Fail(f"{path.name}'s provenance names backend {record.get('backend')!r}, not {spec.id!r}")
    state["cli_files"] = files
    return f"{len(files)} image(s), provenance naming {spec.id}"


def _image_command(state: dict[str, Any], model: str) -> list[str]:
    """`stylize|translate|restore MODEL INPUT` and the options of the image inputs the backend takes."""
    spec, files = state["target"].spec, _files(state)
    if is_restorer(state):
        task = restorer_task(state)
        args = ["restore", model, str(files["input"])] + (["--task", task] if task else [])
        return args + (["--mask", str(files["mask"])] if "mask" in files else [])
    args = ["translate" if spec.kind.value == "translator" else "stylize", model, str(files["input"])]
    args += ["--style", str(files["style"])] if "style" in files else []
    return args + (["--direction", _direction(state)] if _direction(state) else [])


def _same_as_cli(state: dict[str, Any], made: dict[str, tuple[np.ndarray, dict[str, Any]]], where: str) -> str:
    """`made` (name -> pixels, record) against the command line's files: identical pixels, records equal."""
    cli = state["cli_files"]
    if sorted(made) != sorted(cli):
        raise Fail(f"the {where} made {sorted(made)}, the command line {sorted(cli)}")
    for name, (pixels, record) in made.items():
        pixels = _rgb(pixels)  # compared as the files are read (`_pixels`): a grey H x W x 1 image as RGB
        expected = _pixels(cli[name])
        if pixels.shape != expected.shape or (pixels.astype(np.int16) != expected).any():
            worst = int(np.abs(pixels.astype(np.int16) - expected).max()) if pixels.shape == expected.shape else -1
            raise Fail(f"the {where}'s {name} differs from the command line's"
                       + (f" by up to {worst}/255" if worst >= 0 else f" in shape {pixels.shape}"))
        theirs = {key: value for key, value in record.items() if key not in INCIDENTAL}
        ours = _record(cli[name])
        if theirs != ours:
            keys = sorted(key for key in set(theirs) | set(ours) if theirs.get(key) != ours.get(key))
            raise Fail(f"the {where}'s record of {name} differs from the command line's in {', '.join(keys)}")
    return f"{len(made)} image(s) identical, records equal"


def _job(state: dict[str, Any], image_kind: bool) -> str:
    from genstudio.jobs.builtin import run_generate, run_restore_folder, run_stylize_folder

    out = scratch(state, "job")
    model, target = _model(state), state["target"]
    if is_restorer(state):
        files = _files(state)
        params = {"model": model, "inputs": [str(files["input"])], "out": str(out), "device": "cpu",
                  "task": restorer_task(state)}
        params.update({"mask": str(files["mask"])} if "mask" in files else {})
        params.update({"set": list(state["assignments"])} if _by_id(state) else {})
        run_restore_folder(params, lambda event: None, lambda: False)
    elif image_kind:
        files = _files(state)
        params: dict[str, Any] = {"model": model, "inputs": [str(files["input"])], "out": str(out), "device": "cpu"}
        params.update({"style": str(files["style"])} if "style" in files else {})
        params.update({"direction": _direction(state)} if _direction(state) else {})
        params.update({"set": list(state["assignments"])} if _by_id(state) else {})
        run_stylize_folder(params, lambda event: None, lambda: False)
    else:
        params = {"model": model, "out": str(out), "count": 2, "seed": 0, "device": "cpu"}
        params.update({"config": dict(target.settings)} if _by_id(state) else {})
        params.update({"caption": CAPTION} if _caption(state) else {})
        run_generate(params, lambda event: None, lambda: False)
    return _same_as_cli(state, {name: (_pixels(path), _record(path)) for name, path in _images(out).items()}, "job")


def _app(state: dict[str, Any], image_kind: bool) -> str:
    from genstudio.gui import sampling

    target, model = state["target"], _model(state)
    folder = Path(model) if not _by_id(state) else None
    source = sampling.Source(target.spec.id, folder, dict(target.settings) if folder is None else {}, "cpu")
    if is_restorer(state):  # the app's Restore… dialog runs restore_image on a worker thread
        from genstudio.batch.restore import restore_image

        files = _files(state)
        pixels, record = restore_image(model, files["input"], task=restorer_task(state), mask=files.get("mask"),
                                       config=dict(target.settings) if folder is None else None, device="cpu")
        name = next(iter(state["cli_files"]))
        return _same_as_cli(state, {name: (pixels.astype(np.int16), record)}, "app")
    if image_kind:
        files = _files(state)
        made = sampling.stylize(source, files["input"], files.get("style"), direction=_direction(state))
        name = next(iter(state["cli_files"]))
        return _same_as_cli(state, {name: (made.pixels.astype(np.int16), made.record)}, "app")
    images = {}
    for index, made in enumerate(sampling.generate(source, seed=0, count=2,
                                                   caption=CAPTION if _caption(state) else None)):
        images[next(name for name in state["cli_files"] if f"-{index:05d}" in name)] = (made.pixels, made.record)
    return _same_as_cli(state, images, "app")


def _pipeline(state: dict[str, Any], image_kind: bool) -> str:
    """The image the command line wrote against the module's own output for the same decoded image."""
    if not image_kind:
        raise Skip("generators: the batch check compares the network with itself")
    spec = state["target"].spec
    if spec.capabilities.runtime == "onnx":
        raise Skip("an ONNX-only backend's graph is what the pipeline runs")
    if "module" not in state:
        raise Skip("needs the built module")
    import torch

    from genstudio.batch.stylize import read_rgb
    from genstudio.provenance import to_uint8

    files, module = _files(state), state["module"]
    (name, written), = state["cli_files"].items()
    params = _record(written).get("parameters") or {}
    content = read_rgb(files["input"])[None].contiguous()  # as the pipeline hands it over
    with torch.no_grad():
        if is_restorer(state):
            from genstudio.batch.restore import enlarge, read_mask

            task = params.get("task")
            if task == "upscale":  # the core enlarges first (bicubic, by the settings' scale)
                scale = int(state["target"].settings.get("scale", 2))
                content = torch.from_numpy(enlarge(content.numpy(), scale))
            mask = None
            if "mask" in files:
                mask = torch.from_numpy(read_mask(files["mask"], tuple(content.shape[-2:])) / np.float32(255))
                mask = mask.permute(2, 0, 1)[None]  # 1 x 1 x H x W
            out = module.restore(content, mask, task)
        elif spec.kind.value == "translator":
            out = module.translate(content, params.get("direction"))
        else:
            style = read_rgb(files["style"]) if "style" in files else None
            out = module.stylize(content, style, strength=float(params.get("strength", 1.0)),
                                 preserve_color=bool(params.get("preserve_color", False)))
    out = torch.as_tensor(out).detach().float().reshape(-1, *out.shape[-3:])[0].clamp(0, 1)
    expected, got = to_uint8(out).astype(np.int16), _pixels(written)
    if expected.shape != got.shape or np.abs(expected - got).max() > 1:
        detail = f"by up to {int(np.abs(expected - got).max())}/255" if expected.shape == got.shape \
            else f"in shape: {got.shape} written, {expected.shape} from the module"
        raise Fail(f"the command line's {name} differs from the module's own output for that image {detail} "
                   "(does the module treat tensors and PIL images alike, and one image like a batch of one?)")
    return "within 1/255"


def _reproduce(state: dict[str, Any]) -> str:
    from genstudio.reproduce import reproduce

    name, path = next(iter(state["cli_files"].items()))
    result = reproduce(path, scratch(state, "reproduced") / Path(name).name)
    if not result.identical:
        raise Fail(f"reproducing {name} gave pixels up to {result.max_difference}/255 off")
    return f"{name}: identical pixels"


def _onnx_parity(state: dict[str, Any], image_kind: bool) -> str:
    spec = state["target"].spec
    if spec.capabilities.runtime == "onnx":
        raise Skip("an ONNX-only backend has no torch runtime to compare with")
    if not spec.capabilities.exportable:
        raise Skip("the backend does not declare exportable")
    if _by_id(state):
        raise Skip("exports are of model folders")
    from genstudio.export import export_model

    model = _model(state)
    record = export_model(model)  # its own parity check against PyTorch: a UserError when it fails
    out = scratch(state, "onnx")
    if image_kind:
        args = _image_command(state, model)
    else:
        args = ["generate", model, "--count", "2", "--seed", "0", *_caption(state)]
    code, message = _genstudio([*args, "--out", str(out), "--runtime", "onnx", "--provider", "cpu"])
    if code != 0:
        raise Fail(f"`genstudio {args[0]} --runtime onnx` exited {code}: {message}")
    worst = 0
    for name, path in _images(out).items():
        worst = max(worst, int(np.abs(_pixels(path) - _pixels(state["cli_files"][name])).max()))
    if worst > PARITY_LEVELS:
        raise Fail(f"the ONNX runtime's images differ from the torch runtime's by up to {worst}/255 "
                   f"(more than {PARITY_LEVELS})")
    errors = record.get("graphs", {}).get("model", {}).get("max_abs_error", {})
    return f"export max abs error {max(errors.values(), default=0):.2g}; images within {worst}/255"
