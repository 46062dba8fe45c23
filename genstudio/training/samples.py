"""Sample grids: a fixed set of latents drawn from the (EMA) network, so successive grids show progress, and the
schedule that says when to draw the next one (`SampleSchedule`: every N steps, every N seconds, or "auto")."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genstudio.fileio import atomic_write_bytes, real_folder

if TYPE_CHECKING:
    import torch

SAMPLES_FILE = "samples.png"
SAMPLES_DIR = "samples"

# "auto": the first grid after AUTO_FIRST seconds of training (a preview within the first minute, whatever the
# speed), then every AUTO_SHARE_OF_RUN of the time trained so far, kept between AUTO_MIN and AUTO_MAX seconds and
# far enough apart that drawing the grid costs at most AUTO_COST_SHARE of the run's time.
AUTO_FIRST = 10.0
AUTO_MIN = 30.0
AUTO_MAX = 300.0
AUTO_SHARE_OF_RUN = 0.25
AUTO_COST_SHARE = 0.05


def now() -> float:
    """The schedule's clock (monotonic seconds); tests replace it with a fake one."""
    return time.monotonic()


def parse_sample_every(value: int | str) -> tuple[str, float]:
    """(mode, amount) of a sample_every option: 500 or "500" -> ("steps", 500); "90s", "2m" -> ("seconds", 90 /
    120); "auto" -> ("auto", 0). ValueError for anything else (FitOptions turns it into a UserError)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if value < 1:
            raise ValueError(value)
        return "steps", float(value)
    text = str(value).strip().lower()
    if text == "auto":
        return "auto", 0.0
    units = {"s": 1.0, "m": 60.0, "min": 60.0}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].strip():
            seconds = float(text[: -len(suffix)]) * units[suffix]
            if not seconds > 0 or seconds != seconds or seconds == float("inf"):
                raise ValueError(value)
            return "seconds", seconds
    steps = int(text)
    if steps < 1:
        raise ValueError(value)
    return "steps", float(steps)


class SampleSchedule:
    """When the next sample grid is due: `due(step)` after each step, `drawn(step, cost)` after drawing one.

    Steps mode draws at multiples of N (as before: resumable runs draw at the same steps); seconds mode every N
    seconds of wall time; auto adapts to the speed of the run (see AUTO_*): a slow run still shows its first grid
    within the first minute, a fast one does not spend its time drawing grids."""

    def __init__(self, every: int | str, clock: Callable[[], float] | None = None):
        self.mode, self.amount = parse_sample_every(every)
        self.clock = clock or now
        self.started = self.clock()
        self.next_time = self.started + (AUTO_FIRST if self.mode == "auto" else self.amount)

    def due(self, step: int) -> bool:
        if self.mode == "steps":
            return step % int(self.amount) == 0
        return self.clock() >= self.next_time

    def drawn(self, step: int, cost: float = 0.0) -> None:
        """Note a grid drawn now, which took `cost` seconds; schedules the next one."""
        current = self.clock()
        if self.mode == "seconds":
            self.next_time = current + self.amount
        elif self.mode == "auto":
            gap = max((current - self.started) * AUTO_SHARE_OF_RUN, cost / AUTO_COST_SHARE)
            self.next_time = current + min(AUTO_MAX, max(AUTO_MIN, gap))


def draw_samples(task: Any, module: torch.nn.Module, count: int, seed: int, device: torch.device) -> torch.Tensor:
    """`count` images from `task.sample`, in eval mode, without touching the training RNG or the module's mode."""
    import torch

    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    was_training = module.training
    module.eval()
    try:
        with torch.random.fork_rng(devices=cuda_devices), torch.no_grad():
            generator = torch.Generator(device=device).manual_seed(seed)
            images = task.sample(module, count, generator)
    finally:
        module.train(was_training)
    return images.detach().float().clamp(0, 1).cpu()


def grid_png(images: torch.Tensor) -> bytes:
    """A near-square grid of N x C x H x W images in [0, 1] as PNG bytes."""
    import math

    import torch
    from PIL import Image
    from torchvision.utils import make_grid

    columns = max(1, math.ceil(math.sqrt(len(images))))
    grid = make_grid(images, nrow=columns, padding=2, pad_value=1.0)  # C x H' x W'
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # H' x W' x 3
    image = Image.fromarray(array[:, :, 0] if images.shape[1] == 1 else array)  # make_grid repeats grey to RGB
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_samples(out_dir: Path, step: int, images: torch.Tensor) -> Path:
    """Write the grid as OUT/samples.png and OUT/samples/step-NNNNNN.png (both atomically)."""
    data = grid_png(images)
    history = real_folder(out_dir, SAMPLES_DIR) / f"step-{step:06d}.png"
    atomic_write_bytes(history, data)
    atomic_write_bytes(Path(out_dir) / SAMPLES_FILE, data)
    return history
