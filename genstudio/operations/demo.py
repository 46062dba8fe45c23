"""`genstudio demo`: the main journey on built-in resources, in a minute or two on a CPU, each step through the
operation a user would run for it.

1. a sample set: the procedural `shapes` backend writes a class-folder dataset (circle / square / triangle) with
   `genstudio generate shapes --per-class N --layout folders` (genstudio.generate_folder);
2. training: a small conditional DCGAN (`cgan`) on it, as `genstudio train` (genstudio.operations.train);
3. a grid of samples from the trained model, as `genstudio generate --grid`;
4. the ONNX export, checked against PyTorch (parity), as `genstudio export` (genstudio.export);
5. the grid stylized, as `genstudio stylize gatys` (genstudio.batch.stylize) with a style image drawn by `shapes`
   too and `features=random` (a seeded random VGG19: no downloaded weights, a lower-quality offline mode), so
   nothing is needed beyond genstudio itself.

Everything lands under one folder; running the demo again there reuses what is up to date (the dataset, a model
trained for the same number of steps, the stylized grid) and carries on an interrupted training from its last
checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genstudio.errors import Cancelled, UserError
from genstudio.events import AbortCheck, EventSink, Progress

DEFAULT_STEPS = 1500  # cgan steps (batch 32, 32 px, width 32): 4 minutes on one core of a busy two-core machine,
# about 1-2 on an idle one; at 600 the samples were still one blurry blob (mode collapse), at 1500 they vary
PER_CLASS = 64  # shapes per class in the sample set
RESOLUTION = 32
BACKEND = "cgan"
TRAIN_SETTINGS = ["ngf=32", "ndf=32"]  # narrow: trains in a minute on a CPU
BATCH_SIZE = 32
EMA_DECAY = 0.99  # fit's 0.999 would leave a fifth of the random start in the weights after 1500 steps
TRAIN_THREADS = 1  # a net this small gains little from more; on a busy machine two threads ran 4x slower than one
GRID_COUNT = 15  # five of each class
STYLE_STEPS = 30  # Adam steps of the stylizing pass (fewer when --steps is smaller)
STYLE_SIZE = 96  # the stylized grid's longer side, px
STYLE_SHAPES = {"resolution": 96, "shapes_per_image": 6, "background": "gradient", "palette": "vivid",
                "softness": 3.0}


@dataclass
class DemoResult:
    """Where each result is; `to_dict()` is what `genstudio demo --json` prints."""

    out: str
    data: str  # the sample set (class folders)
    model: str  # the trained model folder
    grid: str  # the grid of samples
    onnx: str  # the exported, parity-checked model.onnx
    style: str  # the style image
    stylized: str  # the stylized grid
    steps: int
    trained: bool = True  # False: a model an earlier demo trained for the same steps was reused
    onnx_max_abs_error: float | None = None  # the parity check's largest difference from PyTorch
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[tuple[str, str]]:
        """(what, where) for people."""
        return [("sample set", self.data), ("trained model", self.model), ("samples", self.grid),
                ("ONNX model", self.onnx), ("style image", self.style), ("stylized", self.stylized)]


def run_demo(
    *,
    out: str | Path = "genstudio-demo",  # every result goes in here
    steps: int = DEFAULT_STEPS,  # training steps (the stylizing pass takes min(steps, STYLE_STEPS))
    device: str = "auto",  # auto | cpu | cuda | cuda:N | mps
    seed: int = 0,
    progress: EventSink | None = None,
    abort: AbortCheck | None = None,
) -> DemoResult:
    from genstudio.batch.stylize import stylize_folder
    from genstudio.export import export_model
    from genstudio.fileio import real_folder
    from genstudio.generate_folder import generate_to_folder

    if steps < 1:
        raise UserError(f"--steps must be at least 1, got {steps}")
    root = real_folder(Path(out).expanduser().absolute())
    reporter = Progress(progress, "Demo", total=5, abort=abort)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def stage(name: str, done: int) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        reporter.update(done)

    reporter.log(f"1/5 a sample set of procedural shapes in {root / 'data'}")
    generate_to_folder("shapes", root / "data", per_class=PER_CLASS, layout="folders", seed=seed,
                       config={"resolution": RESOLUTION}, device=device, progress=progress, abort=abort)
    style = generate_to_folder("shapes", root / "style", count=1, seed=seed + 7, config=STYLE_SHAPES, device=device,
                               progress=progress, abort=abort).files[0]
    stage("sample_set", 1)

    model = root / "model"
    trained = _train(model, root / "data", steps, device, seed, reporter, progress, abort)
    stage("train", 2)

    reporter.log("3/5 a grid of samples from the trained model")
    grid = generate_to_folder(model, root / "samples", count=GRID_COUNT, seed=seed, grid=True, device=device,
                              runtime="torch", progress=progress, abort=abort).grid
    stage("generate", 3)

    record = _exported(model)
    if record is None:
        reporter.log("4/5 the ONNX export, checked against PyTorch")
        record = export_model(model, progress=progress)
    else:
        reporter.log("4/5 reusing the ONNX export of these weights (parity checked when it was made)")
    errors = [error for graph in record["graphs"].values() for error in graph["max_abs_error"].values()]
    stage("export", 4)

    reporter.log("5/5 the grid stylized (gatys with random VGG features: no downloaded weights)")
    style_steps = min(steps, STYLE_STEPS)
    summary = stylize_folder("gatys", [grid], root / "stylized", style=style, device=device, progress=progress,
                             abort=abort, assignments=["features=random", "optimizer=adam",
                                                       f"steps={style_steps}", f"max_size={STYLE_SIZE}"])
    if summary.cancelled:
        raise Cancelled("Demo")
    if summary.failed:
        raise UserError(f"stylizing the grid failed: {summary.failed[0]['reason']}")
    stage("stylize", 5)
    result = DemoResult(str(root), str(root / "data"), str(model), str(grid), str(model / "model.onnx"), str(style),
                        str(root / "stylized" / Path(grid).name), steps, trained,
                        max(errors) if errors else None, seconds)
    reporter.finish(f"done in {sum(seconds.values()):.0f}s")
    return result


def _exported(model: Path) -> dict[str, Any] | None:
    """The ONNX record of model.json when model.onnx was exported and parity-checked from these very weights."""
    from genstudio.models import read_card

    card = read_card(model)
    record = (card.extra or {}).get("onnx") or {}
    if not record.get("parity_passed") or record.get("weights_sha256") != card.weights_sha256:
        return None
    from genstudio.fileio import sha256_file

    for graph in (record.get("graphs") or {}).values():  # every file still the one that was checked
        path = model / str(graph.get("file", ""))
        if not path.is_file() or sha256_file(path) != graph.get("sha256"):
            return None
    return record if record.get("graphs") else None


def _train(model: Path, data: Path, steps: int, device: str, seed: int, reporter: Progress,
           progress: EventSink | None, abort: AbortCheck | None) -> bool:
    """Train the demo's cgan into `model`; False when an earlier demo's model for the same steps is reused."""
    from genstudio.models import read_card
    from genstudio.operations.train import train
    from genstudio.training.checkpoints import list_checkpoints

    if (model / "model.json").is_file():
        card = read_card(model)
        trained_steps = card.extra.get("steps")
        if card.backend == BACKEND and trained_steps == steps:
            reporter.log(f"2/5 reusing the model an earlier demo trained for {steps} steps in {model}")
            return False
        raise UserError(f"{model} holds a model trained for {trained_steps} steps, not {steps}: give another --out "
                        f"or --steps {trained_steps}")
    resume = bool(list_checkpoints(model))
    reporter.log(f"2/5 training {BACKEND} for {steps} steps in {model}" + (" (resuming)" if resume else ""))
    summary = train(backend=BACKEND, data=data, out=model, steps=steps, resolution=RESOLUTION,
                    batch_size=BATCH_SIZE, device=device, seed=seed, assignments=list(TRAIN_SETTINGS), resume=resume,
                    threads=TRAIN_THREADS, ema_decay=EMA_DECAY, progress=progress, abort=abort)
    if summary.cancelled:
        raise Cancelled("Demo")
    return True
