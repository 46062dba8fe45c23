"""A captioned procedural sample set: one shape per image, its caption read off the render parameters.

`write_captioned_shapes(out, count, resolution, seed)` draws `count` images with the `shapes` generator (vivid
palette on white), each from parameters chosen first: a shape (circle, square, triangle), a named colour (its hue),
a size (small or large) and a place (left, right, top, bottom, middle). The generator's latent z is made to hit
those parameters by inverting its reading of z (genstudio_shapes.render: each number is Phi(z) of a standard
normal z, so z = Phi^-1(u)). Each image is written as `<shape>/NNNNN.png` (class folders: the set is also a labelled
one) with `NNNNN.txt` beside it holding two captions ("a small red triangle on the left" and "small red triangle,
left"), and `.shapes.jsonl` in OUT lists every image's parameters (what a judge is scored against).

The same (count, resolution, seed) always writes the same bytes.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from genstudio.errors import UserError

SHAPES = ("circle", "square", "triangle")  # the generator's classes, in its order
COLOURS = {"red": 0.0, "yellow": 1 / 6, "green": 1 / 3, "blue": 2 / 3, "purple": 0.78}  # name -> hue
SIZES = {"small": (0.0, 0.15), "large": (0.6, 0.8)}  # name -> range of the size number (large ones still move)
PLACES = {  # name -> (x range, y range) of the centre numbers, and the phrase
    "left": ((0.0, 0.1), (0.4, 0.6), "on the left"),
    "right": ((0.9, 1.0), (0.4, 0.6), "on the right"),
    "top": ((0.4, 0.6), (0.0, 0.1), "at the top"),
    "bottom": ((0.4, 0.6), (0.9, 1.0), "at the bottom"),
    "middle": ((0.45, 0.55), (0.45, 0.55), "in the middle"),
}
PARAMS_FILE = ".shapes.jsonl"  # hidden: dataset scans pass over it
MAX_COUNT = 100_000


@dataclass(frozen=True)
class ShapeParams:
    """What one image shows, by name."""

    file: str  # relative to the set's folder
    shape: str
    colour: str
    size: str
    place: str

    @property
    def captions(self) -> list[str]:
        where = PLACES[self.place][2]
        return [f"a {self.size} {self.colour} {self.shape} {where}",
                f"{self.size} {self.colour} {self.shape}, {self.place}"]


def choose_params(count: int, seed: int) -> list[ShapeParams]:
    """`count` images' parameters, every combination about equally often, from `seed`."""
    rng = random.Random(seed)
    chosen = []
    for index in range(count):
        shape = SHAPES[index % len(SHAPES)]
        chosen.append(ShapeParams(f"{shape}/{index:05d}.png", shape, rng.choice(list(COLOURS)),
                                  rng.choice(list(SIZES)), rng.choice(list(PLACES))))
    return chosen


def latent_for(params: ShapeParams, rng: random.Random):
    """The generator's z (LATENT_DIM floats) for one image: slot 0 holds the shape's numbers, the rest is noise."""
    import torch

    from genstudio_shapes.render import LATENT_DIM

    (x_low, x_high), (y_low, y_high), _ = PLACES[params.place]
    size_low, size_high = SIZES[params.size]
    hue = (COLOURS[params.colour] + rng.uniform(-0.025, 0.025)) % 1.0
    unit = [rng.uniform(x_low, x_high), rng.uniform(y_low, y_high), rng.uniform(size_low, size_high),
            rng.random(), hue, rng.uniform(0.3, 1.0), rng.uniform(0.5, 1.0)]
    z = torch.randn(LATENT_DIM, generator=torch.Generator().manual_seed(rng.randrange(2**31)))
    u = torch.tensor(unit, dtype=torch.float32).clamp(1e-4, 1 - 1e-4)
    z[: len(unit)] = math.sqrt(2) * torch.special.erfinv(2 * u - 1)  # Phi^-1(u)
    return z


@dataclass
class ShapesSetSummary:
    out: str
    count: int
    resolution: int
    seed: int
    written: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_captioned_shapes(out: str | Path, count: int, resolution: int = 32, seed: int = 0,
                           progress: Any = None, abort: Any = None) -> ShapesSetSummary:
    """Write the captioned shapes set into `out` (created; nothing is written outside it)."""
    import torch

    from genstudio.events import Progress
    from genstudio.fileio import atomic_write, real_folder
    from genstudio_shapes.render import ShapesGenerator

    if not 1 <= count <= MAX_COUNT:
        raise UserError(f"--count must be between 1 and {MAX_COUNT}, got {count}")
    if not 16 <= resolution <= 512:
        raise UserError(f"--resolution must be between 16 and 512, got {resolution}")
    folder = real_folder(Path(out))
    for shape in SHAPES:
        real_folder(folder / shape)
    generator = ShapesGenerator(resolution=resolution)
    params = choose_params(count, seed)
    rng = random.Random(seed + 1)
    reporter = Progress(progress, f"Drawing {count} captioned shapes", total=count, abort=abort)
    lines = []
    for start in range(0, count, 256):
        chunk = params[start:start + 256]
        z = torch.stack([latent_for(p, rng) for p in chunk])
        labels = torch.tensor([SHAPES.index(p.shape) for p in chunk])
        with torch.no_grad():
            images = generator.generate(z, labels).clamp(0, 1)
        for p, image in zip(chunk, images, strict=True):
            reporter.check_abort()
            pixels = (image.permute(1, 2, 0) * 255).round().byte().numpy()
            _write_png(folder / p.file, pixels, atomic_write)
            with atomic_write(folder / Path(p.file).with_suffix(".txt")) as handle:
                handle.write(("\n".join(p.captions) + "\n").encode("utf-8"))
            lines.append(json.dumps(asdict(p), sort_keys=True))
            reporter.update(advance=1)
    with atomic_write(folder / PARAMS_FILE) as handle:
        handle.write(("\n".join(lines) + "\n").encode("utf-8"))
    reporter.finish(f"{count} images with captions in {folder}")
    return ShapesSetSummary(str(folder), count, resolution, seed, count)


def _write_png(path: Path, pixels, atomic_write) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG")
    with atomic_write(path) as handle:
        handle.write(buffer.getvalue())


def read_params(folder: str | Path) -> list[ShapeParams]:
    """The parameters `write_captioned_shapes` recorded in `folder`/shapes.jsonl."""
    text = (Path(folder) / PARAMS_FILE).read_text(encoding="utf-8")
    return [ShapeParams(**json.loads(line)) for line in text.splitlines() if line.strip()]
