"""The growth schedule: which stage, fade-in alpha and batch size a global training step uses.

A pure function of the step (and the config and the run's batch size), so a resumed run recomputes exactly the
position an uninterrupted one had, also in the middle of a fade-in. Stage s trains at 4 * 2**s pixels. Each stage
shows `stage_images` real images (Karras et al. 2018, section 3 and appendix A.1: 800k images to fade a new
resolution in, then 800k to stabilise it); stage 0 has no fade-in, and the last stage lasts until the run ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from genstudio.errors import UserError


def stage_count(resolution: int) -> int:
    """Number of stages from 4 x 4 up to `resolution` (a power of two >= 8): 8 -> 2, 32 -> 4, 256 -> 7."""
    count = int(math.log2(resolution)) - 1
    if resolution < 8 or 2 ** (count + 1) != resolution:
        raise UserError(f"progan: resolution must be a power of two from 8 to 256, got {resolution}")
    return count


def parse_stage_batch(text: str) -> tuple[int, ...]:
    """"64,32,16" -> (64, 32, 16); "" -> (); UserError (one line) for anything else."""
    text = text.strip()
    if not text:
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"progan: stage_batch must be comma-separated whole numbers, got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise UserError(f"progan: every stage_batch size must be at least 1, got {text!r}")
    return sizes


@dataclass(frozen=True)
class Position:
    """Where one step is in the growth."""

    stage: int  # 0: 4 x 4, 1: 8 x 8, ...
    alpha: float  # weight of the newest stage's layers: < 1 while fading in, 1 once stabilised
    batch: int  # real images this step trains on (the first `batch` of the run's batch)
    stage_step: int  # steps since the stage began

    @property
    def resolution(self) -> int:
        return 4 * 2**self.stage


class Schedule:
    """Steps, fade-in steps and batch size of every stage, for one run's batch size."""

    def __init__(
        self,
        resolution: int,  # the final size
        stage_images: int,  # real images per stage (fade-in + stabilisation)
        fade_fraction: float,  # share of a stage (after the first) spent fading in
        stage_batch: tuple[int, ...],  # batch per stage, the last repeating; () = run_batch everywhere
        run_batch: int,  # the runtime's batch size: the most a step can use
    ):
        self.stages = stage_count(resolution)
        self.batches = tuple(min(stage_batch[min(s, len(stage_batch) - 1)] if stage_batch else run_batch, run_batch)
                             for s in range(self.stages))
        self.steps = tuple(max(1, math.ceil(stage_images / batch)) for batch in self.batches)
        self.fades = tuple(0 if s == 0 else min(steps, round(fade_fraction * steps))
                           for s, steps in enumerate(self.steps))
        self.starts = tuple(sum(self.steps[:s]) for s in range(self.stages))  # the first step of each stage

    def at(self, step: int) -> Position:
        """The position of global step `step` (from 0)."""
        stage = max(s for s in range(self.stages) if self.starts[s] <= step)
        inside = step - self.starts[stage]
        fade = self.fades[stage]
        alpha = 1.0 if inside >= fade else inside / fade  # linear from 0 (Karras et al. 2018, figure 2)
        return Position(stage, alpha, self.batches[stage], inside)
