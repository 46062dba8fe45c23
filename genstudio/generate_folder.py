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
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> GenerateSummary:
    from genstudio import generation
    from genstudio.devices import describe_device, resolve_device
    from genstudio.models import load_model
    from genstudio.provenance import is_up_to_date, provenance, write_png

    if count < 1:
        raise UserError(f"--count must be at least 1, got {count}")
    torch_device = resolve_device(device)
    loaded = load_model(model_dir, device=torch_device)
    module = loaded.module
    if not callable(getattr(module, "generate", None)) or not hasattr(module, "latent_dim"):
        raise UserError(f"{model_dir} holds a {loaded.spec.kind.value} model ({loaded.spec.id}), which does not "
                        "generate images from noise")
    num_classes = int(getattr(module, "num_classes", 0))
    class_names = list(loaded.card.extra.get("class_names") or [])
    label_index = generation.resolve_label(label, num_classes, class_names)
    if truncation != 1.0 and not generation.supports_truncation(module):
        raise UserError(f"backend {loaded.spec.id!r} does not support truncation")
    device_text = describe_device(torch_device)
    label_name = None if label_index is None else (class_names[label_index] if label_index < len(class_names)
                                                  else str(label_index))
    out = Path(out_dir)
    summary = GenerateSummary(str(loaded.folder), str(out), count, seed, device=device_text)

    def record(index: int, sample_label: int | None) -> dict[str, Any]:
        parameters: dict[str, Any] = {"seed": seed, "index": index, "truncation": truncation}
        if sample_label is not None:
            parameters["label"] = sample_label
            parameters["label_name"] = class_names[sample_label] if sample_label < len(class_names) else None
        return provenance(backend=loaded.spec.id, plugin=loaded.spec.plugin, plugin_version=loaded.spec.plugin_version,
                          model_sha256=loaded.card.weights_sha256, parameters=parameters, runtime="torch",
                          device=device_text)

    indices = list(range(first_index, first_index + count))
    targets = {i: out / file_name(seed, i, label_name, truncation) for i in indices}
    records = {i: record(i, generation.label_for(i, label_index, num_classes)) for i in indices}
    todo = [i for i in indices if overwrite or grid or not is_up_to_date(targets[i], records[i])]
    summary.files = [str(targets[i]) for i in indices]
    out.mkdir(parents=True, exist_ok=True)
    reporter = Progress(progress, f"Generating with {loaded.spec.id}", total=count, abort=abort)
    reporter.update(count - len(todo))
    started = time.perf_counter()
    images = []
    for sample in generation.generate(module, seed, todo, label=label_index, truncation=truncation,
                                      batch_size=batch_size, device=torch_device):
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
        grid_record = record(first_index, None)
        grid_record["parameters"] = {"seed": seed, "indices": [indices[0], indices[-1]], "truncation": truncation,
                                     "label": label_index}
        grid_path = out / f"seed{seed}-grid{'' if label_name is None else '-' + _slug(label_name)}.png"
        write_png(grid_path, generation.grid(images), grid_record, overwrite=overwrite)
        summary.grid = str(grid_path)
    reporter.finish(f"{summary.written} written, {summary.unchanged} up to date")
    return summary

