"""Qt-free: the images the app makes in process (a handful, on a worker thread): Generate and the latent strip.

A `Source` is what makes images: a trained model folder, or a backend that needs no training (procedural
generators) built from the parameters form. Each result carries its provenance record, so the canvas can show
how it was made and save it as a PNG that says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genstudio.backends import BackendKind
from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, never_abort

GENERATING_KINDS = (BackendKind.GENERATOR, BackendKind.AUTOENCODER)  # both follow the generator contract


@dataclass(frozen=True)
class Source:
    """A model folder, or a backend id with its config (for backends that need no training)."""

    backend: str
    folder: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"  # "auto", "cpu", "cuda", ... (the app's device setting)

    @property
    def title(self) -> str:
        return self.folder.name if self.folder else self.backend


@dataclass
class Generated:
    """One image made in process: H x W x C uint8 pixels, a title and its provenance record."""

    pixels: np.ndarray
    title: str
    record: dict[str, Any]


@dataclass
class _Built:
    module: Any
    spec: Any
    sha256: str | None
    class_names: list[str]
    device: str = "cpu"  # as recorded in provenance: "cpu (2 threads)", "cuda:0 (NVIDIA H100)"


def _device(source: Source):
    from genstudio.devices import resolve_device

    return resolve_device(source.device)


_cache: dict[tuple, _Built] = {}  # the last source built, reused by the next request for it


def why_not_generate(spec: Any, has_model: bool) -> str:
    """'' when Generate can run for this backend (and model), else the one-line reason (a tooltip)."""
    if spec.kind not in GENERATING_KINDS:
        return f"{spec.name} is a {spec.kind.value}: it does not generate images from noise"
    if spec.capabilities.trainable and not has_model:
        return f"{spec.name} needs training first: use Train…, or pick one of its trained models in the library"
    return ""


def _build(source: Source) -> _Built:
    from genstudio.backends import check_model_kind
    from genstudio.devices import describe_device
    from genstudio.fileio import sha256_file
    from genstudio.models import WEIGHTS_FILE, load_model
    from genstudio.plugins import get_registry

    if source.folder is not None:
        key: tuple = ("folder", str(source.folder), sha256_file(source.folder / WEIGHTS_FILE)
                      if (source.folder / WEIGHTS_FILE).is_file() else "", source.device)
    else:
        key = ("backend", source.backend, tuple(sorted(source.config.items())), source.device)
    if key in _cache:
        return _cache[key]
    device = _device(source)
    if source.folder is not None:
        loaded = load_model(source.folder, device=device)
        built = _Built(loaded.module, loaded.spec, loaded.card.weights_sha256,
                       [str(n) for n in loaded.card.extra.get("class_names") or []])
    else:
        spec = get_registry().backend(source.backend)
        module = spec.load().build(spec.schema.resolve(source.config))
        check_model_kind(spec, module)
        module.to(device).eval()
        built = _Built(module, spec, None, [str(n) for n in getattr(module, "class_names", ()) or ()])
    built.device = describe_device(device)
    if not callable(getattr(built.module, "generate", None)) or not hasattr(built.module, "latent_dim"):
        raise UserError(f"{source.title} is a {built.spec.kind.value} model: it does not generate images from noise")
    _cache.clear()
    _cache[key] = built
    return built


def class_names(source: Source) -> list[str]:
    """Names (or numbers) of the classes a conditional source can draw; [] when unconditional."""
    built = _build(source)
    count = int(getattr(built.module, "num_classes", 0))
    return [built.class_names[i] if i < len(built.class_names) else str(i) for i in range(count)]


def _record(built: _Built, source: Source, parameters: dict[str, Any]) -> dict[str, Any]:
    from genstudio.provenance import provenance

    extra = {} if source.folder is not None else {"config": dict(source.config)}
    return provenance(backend=built.spec.id, plugin=built.spec.plugin, plugin_version=built.spec.plugin_version,
                      model_sha256=built.sha256, parameters=parameters, runtime="torch", device=built.device,
                      **extra)


def generate(
    source: Source,
    *,
    seed: int,
    count: int,
    label: str | int | None = None,  # class name or number; None cycles through the classes
    truncation: float = 1.0,
    abort: AbortCheck = never_abort,
) -> Iterator[Generated]:
    """Images 0..count-1 of `seed`, one at a time (so the canvas fills as they come); Cancelled on abort."""
    from genstudio import generation
    from genstudio.provenance import to_uint8

    if count < 1:
        raise UserError(f"count must be at least 1, got {count}")
    built = _build(source)
    num_classes = int(getattr(built.module, "num_classes", 0))
    label_index = generation.resolve_label(label, num_classes, built.class_names)
    for sample in generation.generate(built.module, seed, list(range(count)), label=label_index,
                                      truncation=truncation, batch_size=8):
        if abort():
            raise Cancelled("generate")
        parameters: dict[str, Any] = {"seed": seed, "index": sample.index, "truncation": truncation}
        title = f"seed {seed} #{sample.index}"
        if sample.label is not None:
            parameters["label"] = sample.label
            name = built.class_names[sample.label] if sample.label < len(built.class_names) else None
            parameters["label_name"] = name
            title += f" · {name if name is not None else sample.label}"
        yield Generated(to_uint8(sample.image), title, _record(built, source, parameters))


def interpolate(
    source: Source,
    *,
    seed_a: int,
    seed_b: int,
    steps: int,
    index: int = 0,
    label: str | int | None = None,
    abort: AbortCheck = never_abort,
) -> Iterator[Generated]:
    """The latent strip: image `index` of seed_a morphing into image `index` of seed_b in `steps` slerp steps."""
    import torch

    from genstudio import generation
    from genstudio.provenance import to_uint8

    built = _build(source)
    module = built.module
    num_classes = int(getattr(module, "num_classes", 0))
    label_index = generation.resolve_label(label, num_classes, built.class_names)
    if num_classes and label_index is None:
        label_index = generation.label_for(index, None, num_classes)
    z = generation.interpolate_seeds(seed_a, seed_b, steps, module.latent_dim, index=index)
    for step in range(steps):
        if abort():
            raise Cancelled("interpolate")
        first = next(module.parameters(), None)
        device = first.device if first is not None else torch.device("cpu")
        labels = torch.tensor([label_index], dtype=torch.long, device=device) if num_classes else None
        with torch.no_grad():
            image = module.generate(z[step:step + 1].to(device), labels).float().clamp(0, 1)[0].cpu()
        t = step / (steps - 1)
        parameters = {"seed_a": seed_a, "seed_b": seed_b, "index": index, "t": round(t, 4), "label": label_index}
        yield Generated(to_uint8(image), f"t = {t:.2f}", _record(built, source, parameters))


def run_all(items: Iterator[Generated], emit: Callable[[Generated], None]) -> int:
    """Drain an iterator of results into `emit`; returns how many there were."""
    count = 0
    for item in items:
        emit(item)
        count += 1
    return count


# ---------------------------------------------------------------------------------------------------------------
# Stylizers


def why_not_stylize(spec: Any, has_model: bool) -> str:
    """'' when Stylize can run for this backend (and model), else the one-line reason."""
    if spec.kind != BackendKind.STYLIZER:
        return ""  # not a stylizer: the Stylize controls are hidden anyway
    if spec.capabilities.trainable and not has_model:
        return f"{spec.name} needs a trained model: use Train…, or pick one of its trained models in the library"
    return ""


def _build_stylizer(source: Source) -> _Built:
    from genstudio.backends import check_model_kind
    from genstudio.devices import describe_device
    from genstudio.models import load_model
    from genstudio.plugins import get_registry

    key: tuple = ("stylizer", str(source.folder), source.backend, tuple(sorted(source.config.items())), source.device)
    if key in _cache:
        return _cache[key]
    device = _device(source)
    if source.folder is not None:
        loaded = load_model(source.folder, device=device)
        built = _Built(loaded.module, loaded.spec, loaded.card.weights_sha256, [])
    else:
        spec = get_registry().backend(source.backend)
        module = spec.load().build(spec.schema.resolve(source.config))
        check_model_kind(spec, module)
        built = _Built(module.to(device).eval(), spec, None, [])
    built.device = describe_device(device)
    if not callable(getattr(built.module, "stylize", None)):
        raise UserError(f"{source.title} is a {built.spec.kind.value} model: it does not stylize images")
    _cache.clear()
    _cache[key] = built
    return built


def _file_sha256(path: Path | None) -> str | None:
    from genstudio.fileio import sha256_file

    return sha256_file(path) if path is not None and Path(path).is_file() else None


def stylize(
    source: Source,
    content: np.ndarray | str | Path,  # H x W x C uint8 pixels or an image file
    style: str | Path | None = None,  # the style image, for backends that take one
    *,
    strength: float | None = None,  # None: the backend's default
    max_size: int | None = None,  # longer side of the output; None: the backend's default
    abort: AbortCheck = never_abort,
    progress: Callable[[Any], None] | None = None,  # receives genstudio events (Gatys reports its steps)
) -> Generated:
    """One stylized image, with a provenance record naming the content and style files (their sha256)."""
    import inspect

    from PIL import Image

    from genstudio.provenance import to_pil, to_uint8

    built = _build_stylizer(source)
    if built.spec.capabilities.needs_style_image and style is None:
        raise UserError(f"{built.spec.name} needs a style image: pick one under Stylize")
    content_path = Path(content) if isinstance(content, (str, Path)) else None
    if content_path is not None:
        with Image.open(content_path) as opened:
            content_image = opened.convert("RGB")
    else:
        content_image = to_pil(content).convert("RGB")
    style_image = None
    if style is not None:
        with Image.open(style) as opened:
            style_image = opened.convert("RGB")
    offered = {"strength": strength, "max_size": max_size, "abort": abort, "progress": progress}
    accepted = inspect.signature(built.module.stylize).parameters
    takes_any = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    options = {name: value for name, value in offered.items()
               if value is not None and (name in accepted or (takes_any and name in ("strength", "max_size")))}
    if abort():
        raise Cancelled("stylize")
    result = built.module.stylize(content_image, style_image, **options)  # optimising ones need autograd
    pixels = to_uint8(np.asarray(result.convert("RGB")) if hasattr(result, "convert") else result)
    parameters = {"strength": strength, "max_size": max_size,
                  "content": str(content_path) if content_path else None,
                  "style": str(style) if style is not None else None}
    record = _record(built, source, parameters)
    record["content_sha256"] = _file_sha256(content_path)
    record["style_sha256"] = _file_sha256(Path(style)) if style is not None else None
    name = content_path.stem if content_path else "image"
    return Generated(pixels, f"{name} · {built.spec.id}", record)
