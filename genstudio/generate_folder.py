"""Generate images from a trained generator model into a folder: the work behind `genstudio generate` and the
job queue's generate jobs.

Image i of seed s is the same image whatever the batch size (see `genstudio.generation`). Each PNG carries its
provenance; a file already made from the same record is left alone (and not recomputed), so re-running a command
is cheap and leaves identical bytes, and an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import UserError
from genstudio.events import AbortCheck, EventSink, Progress


@dataclass
class GenerateSummary:
    """What a generate run did; `genstudio generate --json` prints it."""

    model: str
    out: str
    count: int
    seed: int
    written: int = 0  # files written by this run
    unchanged: int = 0  # files already up to date, left alone
    files: list[str] = field(default_factory=list)
    grid: str | None = None
    seconds: float = 0.0
    images_per_second: float = 0.0  # over the images this run computed
    runtime: str = "torch"
    device: str = ""
    notes: list[str] = field(default_factory=list)  # things the user should know (a provider fallback)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _slug(text: str) -> str:
    """A class name safe inside a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "label"


def file_name(seed: int, index: int, label_name: str | None, truncation: float) -> str:
    """`seed1-00003.png`; the requested label and truncation join the name so different requests never collide."""
    name = f"seed{seed}-{index:05d}"
    if label_name is not None:
        name += f"-{_slug(label_name)}"
    if truncation != 1.0:
        name += f"-psi{truncation:g}"
    return name + ".png"


@dataclass
class Sampler:
    """A loaded generator ready to sample on the chosen runtime, and what provenance says about it."""

    loaded: Any  # genstudio.models.LoadedModel
    module: Any  # the torch module, or its ONNX twin
    torch_device: Any  # torch.device for the torch runtime, None for ONNX
    runtime: str  # "torch" | "onnx"
    device_text: str  # what actually runs it, for provenance
    class_names: list[str]
    fell_back: bool = False  # onnxruntime was asked for a GPU and ran on the CPU

    @property
    def num_classes(self) -> int:
        return int(getattr(self.module, "num_classes", 0) or 0)

    def label_name(self, label: int | None) -> str | None:
        if label is None:
            return None
        return self.class_names[label] if label < len(self.class_names) else str(label)

    def record(self, seed: int, index: int, label: int | None, truncation: float) -> dict[str, Any]:
        """The provenance of image `index` of `seed`: everything `genstudio reproduce` needs."""
        from genstudio.provenance import provenance

        parameters: dict[str, Any] = {"seed": seed, "index": index, "truncation": truncation}
        if label is not None:
            parameters["label"] = label
            parameters["label_name"] = self.label_name(label)
        spec = self.loaded.spec
        return provenance(backend=spec.id, plugin=spec.plugin, plugin_version=spec.plugin_version,
                          model_sha256=self.loaded.card.weights_sha256, parameters=parameters, runtime=self.runtime,
                          device=self.device_text, operation="generate", model=str(Path(self.loaded.folder).resolve()))


def open_sampler(model_dir: str | Path, *, device: str = "auto", runtime: str = "auto", provider: str = "auto",
                 truncation: float = 1.0) -> Sampler:
    """Load a generator model (checked) and pick its runtime; UserError when it cannot generate."""
    from genstudio import generation
    from genstudio.devices import describe_device, resolve_device
    from genstudio.models import load_model
    from genstudio.onnx_runtime import choose_runtime, onnx_generator

    torch_device = resolve_device(device)
    loaded = load_model(model_dir, device=torch_device)
    module = loaded.module
    if not callable(getattr(module, "generate", None)) or not hasattr(module, "latent_dim"):
        raise UserError(f"{model_dir} holds a {loaded.spec.kind.value} model ({loaded.spec.id}), which does not "
                        "generate images from noise")
    if truncation != 1.0 and not generation.supports_truncation(module):
        raise UserError(f"backend {loaded.spec.id!r} does not support truncation")
    class_names = list(loaded.card.extra.get("class_names") or [])
    runtime_used, onnx_path = choose_runtime(runtime, loaded.folder, loaded.card)
    if runtime_used == "onnx":
        twin = onnx_generator(onnx_path, module, provider)
        return Sampler(loaded, twin, None, "onnx", twin.session.describe(), class_names, twin.session.fell_back)
    return Sampler(loaded, module, torch_device, "torch", describe_device(torch_device), class_names)


def generate_to_folder(
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    count: int,
    seed: int = 0,
    label: str | int | None = None,  # class name or index; None cycles through the classes
    truncation: float = 1.0,  # 1: none; toward the mean latent below 1
    grid: bool = False,  # also write seed<S>-grid.png tiling all the images
    batch_size: int = 64,
    device: str = "auto",
    first_index: int = 0,  # images first_index .. first_index + count - 1 of the seed
    overwrite: bool = False,  # rewrite files even when up to date
    runtime: str = "auto",  # auto | torch | onnx; auto: ONNX when a parity-checked export of these weights exists
    provider: str = "auto",  # onnxruntime provider: auto | cpu | cuda | tensorrt
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> GenerateSummary:
    from genstudio import generation
    from genstudio.provenance import is_up_to_date, write_png

    if count < 1:
        raise UserError(f"--count must be at least 1, got {count}")
    sampler = open_sampler(model_dir, device=device, runtime=runtime, provider=provider, truncation=truncation)
    label_index = generation.resolve_label(label, sampler.num_classes, sampler.class_names)
    label_name = sampler.label_name(label_index)
    out = Path(out_dir)
    summary = GenerateSummary(str(sampler.loaded.folder), str(out), count, seed, runtime=sampler.runtime,
                              device=sampler.device_text)
    if sampler.fell_back:
        summary.notes.append("onnxruntime could not use the GPU and ran on the CPU")

    indices = list(range(first_index, first_index + count))
    targets = {i: out / file_name(seed, i, label_name, truncation) for i in indices}
    records = {i: sampler.record(seed, i, generation.label_for(i, label_index, sampler.num_classes), truncation)
               for i in indices}
    todo = [i for i in indices if overwrite or grid or not is_up_to_date(targets[i], records[i])]
    summary.files = [str(targets[i]) for i in indices]
    out.mkdir(parents=True, exist_ok=True)
    reporter = Progress(progress, f"Generating with {sampler.loaded.spec.id}", total=count, abort=abort)
    reporter.update(count - len(todo))
    started = time.perf_counter()
    images = []
    for sample in generation.generate(sampler.module, seed, todo, label=label_index, truncation=truncation,
                                      batch_size=batch_size, device=sampler.torch_device or "cpu"):
        reporter.check_abort()
        if write_png(targets[sample.index], sample.image, records[sample.index], overwrite=overwrite):
            summary.written += 1
        if grid:
            images.append(sample.image)
        reporter.update(advance=1)
    summary.unchanged = count - summary.written
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.images_per_second = round(len(todo) / summary.seconds, 1) if todo and summary.seconds > 0 else 0.0
    if grid:
        grid_record = sampler.record(seed, first_index, None, truncation)
        grid_record["operation"] = "generate-grid"
        grid_record["parameters"] = {"seed": seed, "indices": [indices[0], indices[-1]], "truncation": truncation,
                                     "label": label_index}
        grid_path = out / f"seed{seed}-grid{'' if label_name is None else '-' + _slug(label_name)}.png"
        write_png(grid_path, generation.grid(images), grid_record, overwrite=overwrite)
        summary.grid = str(grid_path)
    reporter.finish(f"{summary.written} written, {summary.unchanged} up to date")
    return summary

